"""A national programme's figures: N inspections (3 repeat rows each) over Bangladesh's 64
districts in PostgreSQL, and what the web pages, downloads and a rebuild cost at that size.

    .venv/bin/python bench/million.py                       # 1,000,000 inspections, every step
    .venv/bin/python bench/million.py --count 20000         # a quick run
    .venv/bin/python bench/million.py --steps workbook,csv_country   # some steps only

The data is generated once into ``--data`` (default ``/tmp/sangjog-million-<count>``: a
throwaway PostgreSQL cluster from ``tests/pg.py``) and reused by later runs with the same count;
``--fresh`` starts over. The generator is the export benchmark's (``bench/export.py``: the real
XLSForm, every field answered, the real parser), written in bulk: raw rows and warehouse rows
with PostgreSQL's COPY, 2,000 submissions a batch, no HTTP.

Each step runs in its own child process, so its peak resident memory (``ru_maxrss``) is its own:

- pages, through the whole app as a national admin (scope ``*``) logged in through the real
  login form, median of --repeat requests after one warm-up: ``first`` (the default list),
  ``deep`` (a keyset page from the middle of the list), ``filtered`` (one district and a review
  state), ``sorted`` (by progress, largest first), ``dashboard``, ``search`` (a place name in
  the search box, "Birampur": about one inspection in 830) and ``search_bn`` (the same in Bengali,
  "বিরামপুর");
- ``workbook``: ``exports.xlsx.build_workbook`` for one district, period 2026-Q3, Bengali;
- ``csv_district`` / ``csv_country``: ``exports.csvzip.write_zip`` of the form for one district
  and for the whole country;
- ``rebuild``: ``pipeline.rebuild.rebuild`` of the form (drop, parse every stored XML, write).

Targets (docs/benchmarks.md): pages under 300 ms; the district workbook under 30 s and 300 MB;
the country CSV zip under 300 MB. The script exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FORM = "innovation_inspection"
LIST = f"/forms/{FORM}/submissions"
USER, PASSWORD = "bench_admin", "a long bench password"
DISTRICT = "5527"  # Dinajpur: the district of the one-district steps
PAGES = ("first", "deep", "filtered", "sorted", "dashboard", "search", "search_bn")
EXPORTS = ("workbook", "csv_district", "csv_country")
STEPS = (*PAGES, *EXPORTS, "rebuild")
PAGE_MS, WORKBOOK_S, PEAK_MB = 300, 30, 300


def districts() -> list[str]:
    from exports import geo

    return sorted(geo._by_level("bd_district"))


def generate(url: str, count: int, work: Path) -> float:
    """Publish the form, register two projects per district and write ``count`` inspections."""
    from export import build_form, load  # bench/export.py: the generator
    from sqlalchemy import text

    from exports import geo
    from pipeline import accounts
    from pipeline.db import make_engine, session_factory, upgrade
    from pipeline.forms import publish
    from pipeline.models import InnovationProject
    from pipeline.schema import FormSchema

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    session = session_factory(engine)()
    built, media = build_form(work)
    publish(session, built, None, media, "bench")
    for d in districts():
        for k, upazila in enumerate(geo.children("bd_upazila", d)[:2], 1):
            session.add(InnovationProject(
                code=f"{d}-2026-{k:03d}", title_en=f"Project {d}-{k}", title_bn=f"প্রকল্প {d}-{k}",
                division=geo.place("bd_district", d).parent, district=d, upazila=upazila.code))
    session.commit()
    accounts.create_user(session, USER, PASSWORD, "admin", ["*"])
    session.commit()

    def progress(done: int) -> None:
        if done % 50_000 < 2000 or done == count:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} written ({rate:,.0f}/s, load {os.getloadavg()[0]:.1f})", flush=True)

    load(session, FormSchema.from_xform(built.xml), count, districts=districts(), on_batch=progress)
    session.execute(text("ANALYZE"))
    session.commit()
    session.close()
    engine.dispose()
    return time.perf_counter() - started


# ---- the steps, each in a child process ---------------------------------------------------

def _page(kind: str, url: str, work: Path, repeat: int) -> dict:
    from sync_server import create_app

    app = create_app({"DATABASE_URL": url, "SANGJOG_DATA_DIR": str(work / "app"),
                      "SECRET_KEY": "bench", "SERVER_URL": "http://127.0.0.1:5000"})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": USER, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    if kind == "deep":
        first = client.get(LIST).get_data(as_text=True)
        top = max(int(i) for i in re.findall(r'href="/submissions/(\d+)', first))
        path = f"{LIST}?before={top // 2}"
    else:
        path = {"first": LIST, "filtered": f"{LIST}?district={DISTRICT}&review_state=approved",
                "sorted": f"{LIST}?sort=-progress", "dashboard": "/dashboard",
                "search": f"{LIST}?q=Birampur", "search_bn": f"{LIST}?q=বিরামপুর"}[kind]
    times = []
    for _ in range(repeat + 1):  # the first request warms the caches and is not counted
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (kind, response.status_code)
    shown = set(re.findall(r'href="/submissions/(\d+)', response.get_data(as_text=True)))
    return {"path": path, "ms": round(statistics.median(times[1:]) * 1000, 1), "rows": len(shown)}


def _export(kind: str, url: str, work: Path) -> dict:
    from pipeline.db import make_engine, session_factory

    session = session_factory(make_engine(url))()
    out = work / f"{kind}.{'xlsx' if kind == 'workbook' else 'zip'}"
    started = time.perf_counter()
    if kind == "workbook":
        from exports.xlsx import build_workbook

        build_workbook(session, [f"bd_district:{DISTRICT}"], "2026-Q3", "bn", out,
                       "https://sangjog.example.org")
    elif kind == "rebuild":
        from pipeline.rebuild import rebuild

        [result] = rebuild(session, FORM)
        return {"s": round(time.perf_counter() - started, 1), "loaded": result.loaded}
    else:
        from exports.csvzip import write_zip

        scope = [f"bd_district:{DISTRICT}"] if kind == "csv_district" else ["*"]
        write_zip(session, FORM, out, scope, "2026-Q3")
    return {"s": round(time.perf_counter() - started, 1), "mb": round(out.stat().st_size / 1e6, 1)}


def step(kind: str, url: str, work: Path, repeat: int) -> dict:
    result = _page(kind, url, work, repeat) if kind in PAGES else _export(kind, url, work)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**result, "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024)}


def missed(kind: str, result: dict) -> bool:
    if kind in PAGES:
        return result["ms"] > PAGE_MS
    if kind == "workbook":
        return result["s"] > WORKBOOK_S or result["peak_mb"] > PEAK_MB
    return kind == "csv_country" and result["peak_mb"] > PEAK_MB


# ---- the driver -----------------------------------------------------------------------------

def settle(url: str) -> None:
    """Bring the database to the state a running server's autovacuum keeps it in: statistics
    for the planner and the visibility map index-only scans need. The throwaway cluster is
    stopped immediately, and the crash recovery at its next start forgets the activity counts
    autovacuum goes by, so after a rebuild or a migration it never would (the review-state
    count of the dashboard read every row's page: 2.5 s instead of 96 ms)."""
    from sqlalchemy import text

    from pipeline.db import make_engine

    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


def cluster_for(data: Path, fresh: bool):
    """The benchmark's PostgreSQL cluster in ``data`` (created the first time) and whether it
    already holds the generated data."""
    import shutil

    from tests.pg import Cluster

    if fresh and data.exists():
        shutil.rmtree(data)
    cluster = Cluster(data / "pg", synchronous_commit=True)  # stop() is immediate
    done = (data / "generated").exists()
    if (cluster.data / "PG_VERSION").exists():
        cluster.resume()
    else:
        cluster.start()
    return cluster, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inspections (default 1,000,000)")
    parser.add_argument("--data", type=Path, help="data folder (default /tmp/sangjog-million-COUNT)")
    parser.add_argument("--fresh", action="store_true", help="generate again")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated: " + ", ".join(STEPS))
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (median reported)")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = args.data or Path(f"/tmp/sangjog-million-{args.count}")
    if args.step:  # child process: one step
        print(json.dumps(step(args.step, args.url, data / "work", args.repeat)))
        return 0
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    cluster, generated = cluster_for(data, args.fresh)
    try:
        url = cluster.url
        (data / "work").mkdir(exist_ok=True)
        if not generated:
            seconds = generate(url, args.count, data / "work")
            (data / "generated").write_text(f"{args.count}\n")
            print(f"generated {args.count:,} inspections in {seconds:.0f} s", flush=True)
        if args.generate_only:
            return 0
        if set(steps) & set(PAGES):
            settle(url)
        results, slow = {}, []
        for kind in steps:
            load_before = os.getloadavg()[0]
            child = subprocess.run(
                [sys.executable, __file__, "--step", kind, "--url", url, "--data", str(data),
                 "--count", str(args.count), "--repeat", str(args.repeat)],
                capture_output=True, text=True)
            if child.returncode:
                raise SystemExit(f"step {kind} failed:\n{child.stderr}")
            results[kind] = {**json.loads(child.stdout.strip().splitlines()[-1]),
                             "load": round(load_before, 1)}
            print(kind, json.dumps(results[kind]), flush=True)
            if missed(kind, results[kind]):
                slow.append(kind)
        print(json.dumps({"count": args.count, **results}, indent=2))
        if slow:
            print(f"targets missed: {', '.join(slow)}", file=sys.stderr)
            return 1
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
