"""gunicorn hooks for ``sangjog serve`` (one worker or ``--workers N``): one loader process next
to the web workers.

The workers answer Collect as soon as an upload is in the raw store; the loader process
(``sangjog pipeline follow``) loads uploads into the warehouse in batches. Being a process of its
own, it never holds a worker's interpreter lock while an upload waits. The master starts it once
it is ready, starts it again if it ever exits, and stops it when gunicorn stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

# Read by every worker (forked from this master): no loader thread of their own.
os.environ["SANGJOG_LOADER_PROCESS"] = "1"

_stopping = threading.Event()
_follower: list[subprocess.Popen[bytes]] = []
RESTART_SECONDS = 2.0


def child_exit(server: Any, worker: Any) -> None:
    """A worker's counters stay in the sums (``/metrics``); its live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server: Any) -> None:
    threading.Thread(target=_supervise, args=(server,), name="sangjog-follower", daemon=True).start()


def on_exit(server: Any) -> None:
    _stopping.set()
    for process in _follower:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _supervise(server: Any) -> None:
    command = [sys.executable, "-m", "sync_server.cli", "pipeline", "follow"]
    while not _stopping.is_set():
        process = subprocess.Popen(command)
        _follower[:] = [process]
        code = process.wait()
        if _stopping.is_set() or code == 0:  # 0: stopped on purpose (SIGTERM, Ctrl-C)
            return
        server.log.error("the loader process exited (%s); starting it again", code)
        _stopping.wait(RESTART_SECONDS)
