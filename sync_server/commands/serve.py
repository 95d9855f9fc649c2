"""``sangjog serve``: run the server for Collect and the web UI.

One production server for every mode: gunicorn's master with ``--workers`` processes (1 by
default) that serve with waitress (``sync_server/http_worker.py``: slow clients hold a
connection, never a worker), and the loader process beside them (``sync_server/gunicorn_conf``).
The request log never shows app-user keys: they sit in the URL path and are passwords.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_blobs
from ..health import MULTIPROCESS_ENV

# Threads per worker that run the app; reading and writing the network is the worker's event
# loop's job, so a thread is taken only by a whole request. More than one, so that a long
# download does not hold up the pages of a one-worker server (docs/benchmarks.md compares).
DEFAULT_THREADS = 4
APP = "sync_server:create_app()"


def gunicorn_args(bind: str, workers: int, threads: int, pid_file: str) -> list[str]:
    """gunicorn's options for ``sangjog serve`` (the benchmarks serve their baseline app with the
    same ones). Its files stay in the data folder: the pid file there, no control socket
    (nothing uses it; gunicorn's default is one in the home folder, shared by every gunicorn)."""
    return ["--worker-class", "sync_server.http_worker.WaitressWorker", "--workers", str(workers),
            "--threads", str(threads), "--timeout", "120", "--bind", bind,
            "--access-logfile", "-", "--pid", pid_file, "--no-control-socket"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets phones on the network reach it.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes (about two per CPU core for a busy server).")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True,
              type=click.IntRange(min=1),
              help="Threads per worker that run requests once they have fully arrived.")
@with_appcontext  # the command line's app: settings checked and the database migrated first
def command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve ODK Collect (OpenRosa) and the web pages."""
    removed = get_blobs().remove_leftovers()
    if removed:
        click.echo(f"Removed {removed} unfinished attachment file(s) left by a stopped server.")
    data = current_app.config["SANGJOG_DATA_DIR"]
    _forget_stale_pid_file(Path(data) / "server.pid")
    # Each worker counts into files here; /metrics sums them (sync_server/health.py).
    counted = Path(data) / "metrics"
    shutil.rmtree(counted, ignore_errors=True)  # the counts of a server that stopped
    counted.mkdir()
    os.environ[MULTIPROCESS_ENV] = str(counted)
    click.echo(f"Serving Sangjog on http://{host}:{port}/ (Collect app users: /key/<token>)")
    # Replace this process: gunicorn's master then owns signals and worker restarts.
    args = [sys.executable, "-m", "gunicorn",
            *gunicorn_args(f"{host}:{port}", workers, threads, f"{data}/server.pid"),
            "--config", "python:sync_server.gunicorn_conf", APP]
    sys.stdout.flush()
    os.execv(sys.executable, args)


def _forget_stale_pid_file(path: Path) -> None:
    """Remove a pid file that names no running gunicorn: after a crash and a reboot its number
    may belong to another process, and gunicorn would refuse to start ("Already running")."""
    try:
        pid = int(path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return
    if b"gunicorn" not in cmdline:
        path.unlink(missing_ok=True)
