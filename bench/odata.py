"""OData feed benchmark: a district's ``Submissions`` of N inspections, as Power BI reads it.

    .venv/bin/python bench/odata.py                 # 100,000 submissions, 3 photo rows each
    .venv/bin/python bench/odata.py --n 20000 --repeat 5
    .venv/bin/python bench/odata.py --database-url postgresql://...   # another backend

Loads N generated ``innovation_inspection`` submissions (the export benchmark's loader: the real
XLSForm, the real parser and warehouse writer) and a supervisor scoped to their district. Then,
each in a child process so that peak memory (ru_maxrss) belongs to one step, median of
--repeat runs, interleaved:

- ``floor``: the same rows read from the warehouse (``exports.query.column_chunks``, the
  exports' reader) and written as plain JSON objects, one per row: no HTTP, no OData shaping;
- ``feed``: ``GET /odata/innovation_inspection.svc/Submissions?$count=true`` through the whole
  app (HTTP Basic, scope, ``__system``, GeoJSON, navigation links), the streamed body read
  chunk by chunk as a client would, its rows counted;
- ``feed_repeat``: ``Submissions.photos`` (3 × N rows) the same way.

Targets (docs/benchmarks.md): the feed streams N = 100,000 rows with a peak below 300 MB and at
5,000 rows/s or more. The script exits 1 when one is missed.
"""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export import (  # noqa: E402  (bench/export.py: the loader)
    DISTRICT,
    PASSWORD,
    USER,
    arguments,
    cpu_seconds,
    loaded,
    peak_mb,
    setup_with_reader,
)

PEAK_MB, ROWS_PER_S = 300, 5_000


def step(kind: str, database_url: str, work: Path) -> dict:
    if kind == "floor":
        from exports import query
        from pipeline.db import make_engine, session_factory

        session = session_factory(make_engine(database_url))()
        cpu, started = cpu_seconds(), time.perf_counter()
        sel = query.select_form(session, "innovation_inspection", [f"bd_district:{DISTRICT}"])
        rows = size = 0
        for chunk in query.column_chunks(session, sel, chunk_rows=1000):
            names = list(chunk)
            for values in zip(*chunk.values(), strict=True):
                size += len(json.dumps(dict(zip(names, values, strict=True)), default=str))
                rows += 1
    else:
        from sync_server import create_app

        app = create_app({"DATABASE_URL": database_url, "SANGJOG_DATA_DIR": str(work / "data"),
                          "SECRET_KEY": "bench", "SERVER_URL": "http://127.0.0.1:5000"})
        client = app.test_client()
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        entity = "Submissions" if kind == "feed" else "Submissions.photos"
        cpu, started = cpu_seconds(), time.perf_counter()
        resp = client.get(f"/odata/innovation_inspection.svc/{entity}?$count=true",
                          headers={"Authorization": f"Basic {token}"}, buffered=False)
        assert resp.status_code == 200, resp.status_code
        rows = size = 0
        marker = b'"__id":'
        for piece in resp.response:
            size += len(piece)
            rows += piece.count(marker)
        resp.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_s": cpu_seconds() - cpu, "rows": rows, "mb": size / 1e6,
            "peak_mb": peak_mb()}


def main(argv: list[str] | None = None) -> int:
    args = arguments("Time the OData feed.", 100_000, 3).parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, args.database_url, Path(args.work))))
        return 0
    with loaded(args, setup_with_reader) as (url, work):
        results: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for kind in ("floor", "feed", "feed_repeat"):
                proc = subprocess.run([sys.executable, __file__, "--step", kind, "--database-url",
                                       url, "--work", str(work)],
                                      check=True, capture_output=True, text=True)
                results.setdefault(kind, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
        summary: dict[str, object] = {}
        for kind, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            summary[kind] = {"rows": runs[0]["rows"], "median_s": round(seconds, 2),
                             "rows_per_s": round(runs[0]["rows"] / seconds),
                             "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
                             "peak_mb": round(max(r["peak_mb"] for r in runs), 1),
                             "mb": round(runs[0]["mb"], 1)}
        feed = summary["feed"]
        summary["feed_vs_floor"] = round(feed["median_s"] / summary["floor"]["median_s"], 2)  # type: ignore[index]
        print(json.dumps({"n": args.n, **summary}, indent=2))
        ok = (feed["rows"] == args.n and feed["peak_mb"] < PEAK_MB  # type: ignore[index]
              and feed["rows_per_s"] >= ROWS_PER_S)  # type: ignore[index]
        if not ok:
            print(f"target missed: {args.n} rows, < {PEAK_MB} MB, ≥ {ROWS_PER_S} rows/s", file=sys.stderr)
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
