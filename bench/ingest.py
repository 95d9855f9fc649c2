"""Ingest benchmark: submissions per second through real HTTP under ``sangjog serve``'s server
(gunicorn, 2 workers serving with waitress).

    .venv/bin/python bench/ingest.py [--requests 2000] [--repeat 5] [--clients 8] [--backends sqlite,postgresql]
                                     [--threads 4] [--worker-class sync] [--form innovation_inspection]

For each backend (a SQLite file; a throwaway PostgreSQL cluster from ``tests/pg.py``) it serves
Sangjog with ``sangjog serve --workers 2``, sends a ~600-byte submission with 3 repeat rows (a new
instanceID each time) sequentially and from N concurrent clients, and reports rate and p50/p95
latency. The same runs against a bare Flask endpoint that reads the same multipart body and
answers 201 give the ceiling of the HTTP stack. Exit status 1 when a target is missed.

``--form innovation_inspection`` uploads the real inspection form instead (``bench/export.py``'s
generator: every field answered, Bengali text, 3 photo rows named, one in fifty of a project not
in the list, Dinajpur's two registry projects): what an upload costs with that form's indexes.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from sync_server.commands.serve import DEFAULT_THREADS  # noqa: E402
from tests.builders import encode_multipart  # noqa: E402
from tests.builders import site_visit as submission_xml  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

TARGET_SEQUENTIAL = 120.0
TARGET_CONCURRENT = 250.0
# Server CPU per upload, all the way into the warehouse, at most this many times the bare
# endpoint's under the same server settings.
TARGET_CPU_OF_BARE = 2.5


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
    count: int = 0  # submissions sent in the run
    caught_up_s: float = 0.0  # after the last 201, until every upload was in the warehouse


def one_submission() -> tuple[bytes, str]:
    xml = submission_xml(f"uuid:{uuid.uuid4()}", rows=3,
                         name="Rina Akter, Union Parishad member, Sreepur upazila")
    return encode_multipart(xml)


class Inspections:
    """Uploads of the real inspection form (``--form innovation_inspection``), each new."""

    def __init__(self, built) -> None:
        from export import DISTRICT

        from exports import geo
        from pipeline.schema import FormSchema

        self.schema = FormSchema.from_xform(built.xml)
        self.places = {"division": geo.place("bd_district", DISTRICT).parent, "district": DISTRICT,
                       "upazila": geo.children("bd_upazila", DISTRICT)[0].code}
        self.projects = [code for code, _ in registry()]
        self.lock = threading.Lock()
        self.n = 0

    def __call__(self) -> tuple[bytes, str]:
        import random

        from export import submission_xml as inspection_xml

        with self.lock:
            self.n += 1
            n = self.n
        _, xml = inspection_xml(self.schema, n, random.Random(n), 3, self.places, self.projects)
        return encode_multipart(xml)


def registry() -> list[tuple[str, str]]:
    """Dinajpur's two registry projects of the inspection uploads: (code, English title)."""
    return [("5527-2026-001", "Project 5527-1"), ("5527-2026-002", "Project 5527-2")]


def post(port: int, key: str, make: Callable[[], tuple[bytes, str]] = one_submission) -> float:
    body, content_type = make()
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
               cuts[18] * 1000, cpu_ms, count=len(latencies))


def prepare(database_url: str, built=None) -> str:
    """Migrate, publish the benchmark form (``built``: the inspection form and its media, with
    its registry projects) and create an app user; return its key."""
    from pipeline import accounts
    from pipeline.db import make_engine, session_factory, upgrade
    from tests import builders

    engine = make_engine(database_url)
    upgrade(engine)
    with session_factory(engine)() as session:
        if built is None:
            builders.publish(session, "site_visit", with_media=False)
        else:
            from export import DISTRICT

            from pipeline.domain.projects import import_projects
            from pipeline.forms import publish

            publish(session, *built[:1], None, built[1], "bench")
            import_projects(session, ("code,title_en,district\n" + "".join(
                f"{code},{title},{DISTRICT}\n" for code, title in registry())).encode())
        key = accounts.create_app_user(session, "bench", [], actor="bench").token
    engine.dispose()
    return key


def wait_loaded(database_url: str, timeout: float = 60) -> None:
    """Until the server's loader process has loaded every upload (so it is up and running)."""
    from sqlalchemy import func, select

    from pipeline.db import make_engine
    from pipeline.models import Submission

    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = conn.scalar(select(func.count()).select_from(Submission)
                                      .where(Submission.parse_status == "pending"))
            if not pending:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{pending} uploads still pending after {timeout} s")
    finally:
        engine.dispose()


@dataclass
class Pair:
    """One run of Sangjog and, right after it, one of the bare endpoint, same mode."""

    ours: Run
    bare: Run

    @property
    def cpu_ratio(self) -> float:
        """Server CPU per upload against the bare endpoint's: steadier than rates here."""
        return self.ours.cpu_ms / self.bare.cpu_ms


def bench_pairs(label: str, ours: LiveServer, key: str, bare: LiveServer, database_url: str,
                total: int, clients: int, repeat: int,
                make: Callable[[], tuple[bytes, str]] = one_submission) -> list[Pair]:
    """Sequential, then concurrent: ``repeat`` runs of each server, alternating, so both see
    the same machine (the host is shared and its speed drifts by tens of percent). Returns the
    pair with the median CPU ratio to the bare endpoint, per mode. First waits until Sangjog's loader
    process is up and has caught up with a warm-up."""
    with ours, bare:
        ours_send = lambda: post(ours.port, key, make)  # noqa: E731
        bare_send = lambda: post(bare.port, "bench", make)  # noqa: E731
        for _ in range(50):
            ours_send()
        wait_loaded(database_url)
        result = []
        for mode, n in (("sequential", 1), (f"{clients} clients", clients)):
            pairs = []
            for _ in range(repeat):
                mine = _with_loading(measure(f"{label}, {mode}", ours_send, total, n,
                                             _group(ours)), ours, database_url)
                theirs = measure(f"bare Flask endpoint, {mode}", bare_send, total, n, _group(bare))
                pairs.append(Pair(mine, theirs))
            result.append(sorted(pairs, key=lambda p: p.cpu_ratio)[len(pairs) // 2])
        return result


def _with_loading(run: Run, server: LiveServer, database_url: str) -> Run:
    """The run, its CPU including the loading still to do after the last 201 (the loader runs
    below the web workers' priority, so part of it comes after a burst), and how long that took."""
    started, cpu = time.perf_counter(), server_cpu_seconds(_group(server))
    wait_loaded(database_url)
    caught_up = time.perf_counter() - started
    extra_ms = (server_cpu_seconds(_group(server)) - cpu) * 1000
    return dataclasses.replace(run, cpu_ms=run.cpu_ms + extra_ms / run.count,
                               caught_up_s=caught_up)


def _group(server: LiveServer) -> int:
    return server.process.pid if server.process else 0


def postgres_url(workdir: Path) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import text

    from pipeline.db import make_engine
    from tests.pg import Cluster

    cluster = Cluster(workdir / "pg", synchronous_commit=True).start()
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    return cluster.database_url("bench"), cluster.stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="submissions per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median shown)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="threads per worker, for both servers")
    parser.add_argument("--worker-class", default=None,
                        help="another gunicorn worker class for both (sync: gunicorn's own)")
    parser.add_argument("--form", choices=("site_visit", "innovation_inspection"),
                        default="site_visit", help="the form uploaded (see above)")
    args = parser.parse_args()
    pairs: list[Pair] = []
    with tempfile.TemporaryDirectory(prefix="sangjog-bench-") as tmp:
        workdir = Path(tmp)
        built, make = None, one_submission
        if args.form == "innovation_inspection":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from export import build_form

            built = build_form(workdir)
            make = Inspections(built[0])
        for backend in args.backends.split(","):
            data_dir, bare_dir = workdir / backend, workdir / f"bare-{backend}"
            data_dir.mkdir()
            bare_dir.mkdir()
            stop: Callable[[], None] = lambda: None  # noqa: E731
            if backend == "postgresql":
                url, stop = postgres_url(workdir)
            else:
                url = f"sqlite:///{data_dir / 'bench.db'}"
            try:
                key = prepare(url, built)
                same = {"workers": 2, "threads": args.threads, "worker_class": args.worker_class}
                ours = LiveServer(url, data_dir, **same)
                bare = LiveServer("sqlite://", bare_dir, app_spec="bench.ingest:bare_app()",
                                  **same)
                pairs += bench_pairs(f"Sangjog on {backend}", ours, key, bare, url,
                                     args.requests, args.clients, args.repeat, make)
            finally:
                stop()
    print(f"| run ({args.requests} submissions; the pair with the median CPU ratio of "
          f"{args.repeat}) | submissions/s | p50 ms | p95 ms | server CPU ms per submission "
          "| all in the warehouse, s after the last 201 | CPU × bare |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for pair in pairs:
        for run, ratio in ((pair.ours, f"{pair.cpu_ratio:.2f}"), (pair.bare, "")):
            caught_up = f"{run.caught_up_s:.2f}" if ratio else ""
            print(f"| {run.label} | {run.rate:.0f} | {run.p50_ms:.1f} | {run.p95_ms:.1f} "
                  f"| {run.cpu_ms:.2f} | {caught_up} | {ratio} |")
    return 0 if _targets_met(pairs) else 1


def _targets_met(pairs: list[Pair]) -> bool:
    ok = True
    for pair in pairs:
        run = pair.ours
        target = TARGET_SEQUENTIAL if run.label.endswith("sequential") else TARGET_CONCURRENT
        if run.rate < target or pair.cpu_ratio > TARGET_CPU_OF_BARE:
            print(f"MISSED: {run.label}: {run.rate:.0f}/s (target {target:.0f}/s) and "
                  f"{pair.cpu_ratio:.2f} times the bare endpoint's CPU per upload "
                  f"(target at most {TARGET_CPU_OF_BARE})")
            ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main())
