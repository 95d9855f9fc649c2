"""Slow-client benchmark: how long a plain page takes while 16 connections dribble an upload one
byte every 2 s, under ``sangjog serve``'s server (gunicorn's master, waitress in each worker)
and under gunicorn's own sync workers (the server before), with 1 and 2 workers.

    .venv/bin/python bench/slow_clients.py [--probes 5] [--connections 16]

Each server is warmed up (a few pages per worker), then the connections start and a page
(``/login``) is asked for every 2 s; a probe that got no answer within 30 s counts as 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.db import make_engine, upgrade  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402
from tests.slow_clients import dribbling, probe  # noqa: E402

SERVERS = {"waitress in gunicorn (sangjog serve)": None, "gunicorn sync workers": "sync"}


def run(worker_class: str | None, workers: int, connections: int, probes: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="sangjog-slow-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'slow.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        server = LiveServer(url, folder, workers=workers, worker_class=worker_class,
                            threads=1 if worker_class == "sync" else 4)
        with server:
            for _ in range(4 * workers):
                probe(server.port)
            quiet = [probe(server.port) for _ in range(probes)]
            paced = threading.Event()
            took = []
            with dribbling(server.port, connections, 2.0):
                for _ in range(probes):
                    took.append(probe(server.port, timeout=30))
                    paced.wait(2.0)
            server.kill()  # sync workers may still be stuck on a dribbling connection
    return quiet + took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"| server | workers | page alone, median s | page while {args.connections} clients "
          "dribble, median s | worst s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    worst_ours = 0.0
    for label, worker_class in SERVERS.items():
        for workers in (1, 2):
            found = run(worker_class, workers, args.connections, args.probes)
            quiet, busy = found[:args.probes], found[args.probes:]
            print(f"| {label} | {workers} | {statistics.median(quiet):.3f} | "
                  f"{statistics.median(busy):.3f} | {max(busy):.3f} |", flush=True)
            if worker_class is None:
                worst_ours = max(worst_ours, max(busy))
    return 0 if worst_ours < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
