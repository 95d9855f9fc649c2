"""Ingest benchmark: submissions per second through real HTTP under gunicorn (2 workers).

    .venv/bin/python bench/ingest.py [--requests 400] [--repeat 3] [--clients 8] [--backends sqlite,postgresql]

For each backend (a SQLite file; a throwaway PostgreSQL cluster from ``tests/pg.py``) it serves
Sangjog with ``sangjog serve --workers 2``, sends a ~600-byte submission with 3 repeat rows (a new
instanceID each time) sequentially and from N concurrent clients, and reports rate and p50/p95
latency. The same runs against a bare Flask endpoint that reads the same multipart body and
answers 201 give the ceiling of the HTTP stack. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, request  # noqa: E402

from tests.collect import encode_multipart, submission_xml  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

TARGET_SEQUENTIAL = 120.0
TARGET_CONCURRENT = 250.0
TARGET_SHARE_OF_BARE = 0.5


def bare_app() -> Flask:
    """The ceiling: parse the same multipart upload, store nothing, answer 201."""
    app = Flask("bare")

    @app.post("/key/<token>/submission")
    def submission(token: str) -> tuple[bytes, int]:
        request.files["xml_submission_file"].read()
        return b"<OpenRosaResponse/>", 201

    return app


@dataclass
class Run:
    label: str
    rate: float
    p50_ms: float
    p95_ms: float
    cpu_ms: float  # server processes' CPU time per submission: steadier than rates on a busy host


def one_submission() -> tuple[bytes, str]:
    xml = submission_xml(f"uuid:{uuid.uuid4()}", rows=3,
                         name="Rina Akter, Union Parishad member, Sreepur upazila")
    return encode_multipart(xml)


def post(port: int, key: str) -> float:
    body, content_type = one_submission()
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", f"/key/{key}/submission?deviceID=collect:bench", body=body,
                 headers={"Content-Type": content_type, "X-OpenRosa-Version": "1.0"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 201:
        raise RuntimeError(f"expected 201, got {resp.status}")
    return time.perf_counter() - started


def server_cpu_seconds(process_group: int) -> float:
    """User + system CPU time of every process in the group (gunicorn master and workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == process_group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(label: str, send: Callable[[], float], total: int, clients: int,
            process_group: int) -> Run:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def worker() -> None:
        mine = [send() for _ in range(per_client)]
        with lock:
            latencies.extend(mine)

    for _ in range(20):  # warm up connections, caches and the query planner
        send()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu_before = server_cpu_seconds(process_group)
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu_ms = (server_cpu_seconds(process_group) - cpu_before) * 1000 / len(latencies)
    cuts = statistics.quantiles(latencies, n=20)
    return Run(label, len(latencies) / elapsed, statistics.median(latencies) * 1000,
               cuts[18] * 1000, cpu_ms)


def prepare(database_url: str) -> str:
    """Migrate, publish the benchmark form and create an app user; return its key."""
    from pipeline import accounts
    from pipeline.db import make_engine, session_factory, upgrade
    from tests.collect import publish_site_visit

    engine = make_engine(database_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        publish_site_visit(session, with_media=False)
        key = accounts.create_app_user(session, "bench", [], actor="bench").token
    engine.dispose()
    return key


def bench_server(label: str, server: LiveServer, key: str, total: int, clients: int,
                 repeat: int) -> list[Run]:
    """Sequential, then concurrent; each the median (by rate) of ``repeat`` runs."""
    with server:
        send = lambda: post(server.port, key)  # noqa: E731
        group = server.process.pid if server.process else 0
        return [_median([measure(f"{label}, {mode}", send, total, n, group) for _ in range(repeat)])
                for mode, n in (("sequential", 1), (f"{clients} clients", clients))]


def _median(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def postgres_url(workdir: Path) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import text

    from pipeline.db import make_engine
    from tests.pg import Cluster

    cluster = Cluster(workdir / "pg").start()
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    return cluster.database_url("bench"), cluster.stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="submissions per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="sangjog-bench-") as tmp:
        workdir = Path(tmp)
        bare_dir = workdir / "bare"
        bare_dir.mkdir()
        bare = LiveServer("sqlite://", bare_dir, app_spec="bench.ingest:bare_app()")
        bare_runs = bench_server("bare Flask endpoint", bare, "bench", args.requests, args.clients,
                                 args.repeat)
        for backend in args.backends.split(","):
            data_dir = workdir / backend
            data_dir.mkdir()
            stop: Callable[[], None] = lambda: None  # noqa: E731
            if backend == "postgresql":
                url, stop = postgres_url(workdir)
            else:
                url = f"sqlite:///{data_dir / 'bench.db'}"
            try:
                key = prepare(url)
                server = LiveServer(url, data_dir, workers=2)
                runs += bench_server(f"Sangjog on {backend}", server, key, args.requests,
                                     args.clients, args.repeat)
            finally:
                stop()
    runs += bare_runs
    print(f"| run ({args.requests} submissions, median of {args.repeat}) | submissions/s "
          "| p50 ms | p95 ms | server CPU ms per submission |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for run in runs:
        print(f"| {run.label} | {run.rate:.0f} | {run.p50_ms:.1f} | {run.p95_ms:.1f} "
              f"| {run.cpu_ms:.2f} |")
    return 0 if _targets_met(runs, bare_runs) else 1


def _targets_met(runs: list[Run], bare_runs: list[Run]) -> bool:
    bare_sequential, bare_concurrent = (r.rate for r in bare_runs)
    ok = True
    for run in runs[:-2]:
        sequential = run.label.endswith("sequential")
        target = TARGET_SEQUENTIAL if sequential else TARGET_CONCURRENT
        ceiling = bare_sequential if sequential else bare_concurrent
        if run.rate < target or run.rate < TARGET_SHARE_OF_BARE * ceiling:
            print(f"MISSED: {run.label}: {run.rate:.0f}/s (target {target:.0f}/s and "
                  f"{TARGET_SHARE_OF_BARE:.0%} of bare {ceiling:.0f}/s)")
            ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main())
