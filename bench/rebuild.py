"""Rebuild benchmark: parse and write N stored inspection submissions (3 photo rows each).

    .venv/bin/python bench/rebuild.py                      # 100,000 submissions, SQLite and PostgreSQL
    .venv/bin/python bench/rebuild.py --n 10000 --db sqlite

It converts the real ``innovation_inspection`` XLSForm, publishes it into a fresh database,
generates N submissions with every field answered straight into the raw store (bulk inserts, no
parsing), then times ``pipeline.rebuild.rebuild`` in a child process (median of --repeat runs) and
reads that child's peak resident memory (``ru_maxrss``) and its CPU time (the rebuild's own
process: on SQLite all the work, on PostgreSQL without the server's share). On a shared machine
the wall-clock rate falls with the load average, which is printed too. Last, it times single
loads (``loader.load_pending`` up to one new submission, what ``ingest.accept(..., load=True)``
pays after the raw store commits: pulls and imports). PostgreSQL runs in
a throwaway cluster (``tests/pg.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM = "innovation_inspection"


def _answer(col, rng: random.Random, n: int) -> str:
    if col.choices:
        return rng.choice(list(col.choices))
    if col.choice_file:
        return f"P-{n % 50}"
    return {
        "int": lambda: str(rng.randint(0, 100)),
        "decimal": lambda: f"{rng.uniform(0, 500):.2f}",
        "date": lambda: (date(2026, 1, 1) + timedelta(days=rng.randrange(300))).isoformat(),
        "dateTime": lambda: f"2026-08-{rng.randint(1, 28):02d}T10:{rng.randint(0, 59):02d}:00.000+06:00",
        "geopoint": lambda: f"{25.6 + rng.random() / 10:.6f} {88.6 + rng.random() / 10:.6f} 40 5",
        "binary": lambda: f"{col.name}-{n}.jpg",
    }.get(col.type, lambda: f"{col.name} {n} পরিদর্শন")()


def _fields(columns, rng: random.Random, n: int) -> str:
    """Elements for ``columns`` (groups nested by their relpath), every field answered."""
    out, open_groups = [], []
    for col in columns:
        groups = list(col.relpath[:-1])
        while open_groups and open_groups != groups[: len(open_groups)]:
            out.append(f"</{open_groups.pop()}>")
        for g in groups[len(open_groups):]:
            out.append(f"<{g}>")
            open_groups.append(g)
        out.append(f"<{col.relpath[-1]}>{escape(_answer(col, rng, n))}</{col.relpath[-1]}>")
    out.extend(f"</{g}>" for g in reversed(open_groups))
    return "".join(out)


def submission_xml(schema, n: int, rng: random.Random, repeat_rows: int = 3) -> tuple[str, bytes]:
    instance_id = f"uuid:{rng.getrandbits(128):032x}"
    parts = [f'<data id="{schema.form_id}" version="{schema.version}">',
             _fields(schema.main.columns, rng, n)]
    for spec in schema.repeats:  # top-level repeats (the inspection form has no nested ones)
        name = spec.path.rsplit("/", 1)[-1]
        parts.extend(f"<{name}>{_fields(spec.columns, rng, n)}</{name}>" for _ in range(repeat_rows))
    parts.append(f"<meta><instanceID>{instance_id}</instanceID></meta></data>")
    return instance_id, "".join(parts).encode()


def setup(database_url: str, n: int, batch: int = 5000) -> None:
    from sqlalchemy import insert, select

    from pipeline.db import make_engine, session_factory, upgrade
    from pipeline.forms import convert, publish
    from pipeline.models import Form, Submission
    from pipeline.schema import FormSchema

    engine = make_engine(database_url)
    upgrade(engine)
    session = session_factory(engine)()
    built = convert(ROOT / "xlsforms" / f"{FORM}.xlsx")
    publish(session, built, None, {}, "bench")
    schema = FormSchema.from_xform(built.xml)
    form_pk = session.scalar(select(Form.id).where(Form.xml_form_id == FORM))
    rng = random.Random(7)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    for first in range(0, n, batch):
        rows = []
        for i in range(first, min(n, first + batch)):
            instance_id, xml = submission_xml(schema, i, rng)
            rows.append({"instance_id": instance_id, "root_id": instance_id, "current": True,
                         "form_id": form_pk, "form_version": schema.version, "xml": xml,
                         "xml_sha256": "0" * 64, "source": "collect", "submitter": f"inspector {i % 40}",
                         "received_at": start + timedelta(seconds=i), "review_state": "received",
                         "parse_status": "pending", "attachments_expected": 4})
        session.execute(insert(Submission), rows)
        session.commit()
    session.close()
    engine.dispose()


def timed_rebuild(database_url: str) -> dict[str, float]:
    """One rebuild in this process; run as a child so its peak memory is its own."""
    from pipeline.db import make_engine, session_factory
    from pipeline.rebuild import rebuild

    engine = make_engine(database_url)
    session = session_factory(engine)()
    started, cpu_started = time.perf_counter(), time.process_time()
    [result] = rebuild(session, FORM)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    session.close()
    engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu, "loaded": result.loaded,
            "failed": result.failed,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def timed_loads(database_url: str, count: int = 300) -> dict[str, float]:
    """What ``ingest.accept(..., load=True)`` pays per submission after storing it:
    ``loader.load_pending`` up to that submission, one at a time, into emptied tables (ms)."""
    from sqlalchemy import select, update

    from pipeline import loader, warehouse
    from pipeline.db import make_engine, session_factory, write_transaction
    from pipeline.models import Submission

    engine = make_engine(database_url)
    session = session_factory(engine)()
    ids = session.scalars(select(Submission.id).order_by(Submission.id).limit(count)).all()
    session.rollback()
    with write_transaction(session):  # as if they had just been stored
        warehouse.drop_form_tables(session.connection(), FORM)
        session.execute(update(Submission).where(Submission.id.in_(ids))
                        .values(parse_status="pending"))
    # The first creates the tables: not what a usual upload pays.
    assert loader.load_pending(session, up_to=ids[0]).ok == 1
    times = []
    for submission_id in ids[1:]:
        started = time.perf_counter()
        assert loader.load_pending(session, up_to=submission_id).ok == 1
        times.append((time.perf_counter() - started) * 1000)
    session.close()
    engine.dispose()
    times.sort()
    return {"load_ms_median": statistics.median(times), "load_ms_p95": times[int(len(times) * 0.95)]}


def run(backend: str, n: int, repeat: int, workdir: Path) -> dict[str, float]:
    cluster = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        from sqlalchemy import text

        from pipeline.db import make_engine
        from tests.pg import Cluster

        cluster = Cluster(workdir / "pg").start()
        admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        url = cluster.database_url("bench")
    try:
        setup(url, n)
        runs = []
        for _ in range(repeat):
            child = subprocess.run([sys.executable, __file__, "--child", url], check=True,
                                   capture_output=True, text=True)
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
            assert runs[-1]["loaded"] == n, runs[-1]
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        loads = timed_loads(url)
        return {"backend": backend, "n": n, "seconds": round(seconds, 2),
                "per_second": round(n / seconds), "cpu_seconds": round(cpu, 2),
                "per_cpu_second": round(n / cpu), "peak_mb": round(max(r["peak_mb"] for r in runs)),
                **{k: round(v, 2) for k, v in loads.items()},
                "load_average": round(os.getloadavg()[0], 1)}
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="submissions (default 100,000)")
    parser.add_argument("--db", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="timed rebuilds (median reported)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(timed_rebuild(args.child)))
        return
    backends = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="sangjog-bench-") as tmp:
            print(json.dumps(run(backend, args.n, args.repeat, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
