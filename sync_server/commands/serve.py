"""``sangjog serve``: run the server for Collect and the web UI.

One worker runs Werkzeug's threaded server (fine for a workshop laptop); more workers run
gunicorn, which is what production uses (see docs/collect.md). Either way the request log never
shows app-user keys: they sit in the URL path and are passwords.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from gunicorn.glogging import Logger as GunicornLogger
from werkzeug.serving import run_simple

from ..db import get_blobs

KEY_IN_PATH = re.compile(r"/key/[^/?\s\"]+")
# One thread per worker: uploads release the interpreter lock around every database call, and
# threads of one worker then wait on each other (bench/ingest.py: 1.2-1.3x the uploads per
# second of 4 threads, see docs/benchmarks.md).
DEFAULT_THREADS = 1


def redact(text: str) -> str:
    return KEY_IN_PATH.sub("/key/…", text)


class RedactingLogger(GunicornLogger):
    """gunicorn's access log with app-user keys masked."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms


class _RedactKeys(logging.Filter):
    """The same for Werkzeug's request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets phones on the network reach it.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="More than 1 runs gunicorn with this many worker processes.")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True,
              type=click.IntRange(min=1),
              help="Threads per gunicorn worker. 1: gunicorn's sync workers, one request at a "
                   "time each (fastest for uploads; put a buffering proxy such as nginx in "
                   "front for slow phones). More: a worker overlaps slow requests.")
@with_appcontext  # the command line's app: settings checked and the database migrated first
def command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve ODK Collect (OpenRosa) and the web pages."""
    removed = get_blobs().remove_leftovers()
    if removed:
        click.echo(f"Removed {removed} unfinished attachment file(s) left by a stopped server.")
    if workers > 1:
        data = current_app.config["SANGJOG_DATA_DIR"]
        # Replace this process: gunicorn's master then owns signals and worker restarts. Its
        # files stay in the data folder: the pid file there, no control socket (nothing uses
        # it; gunicorn's default is one in the home folder, shared by every gunicorn).
        args = [sys.executable, "-m", "gunicorn", "--pid", f"{data}/server.pid",
                "--no-control-socket", "--workers", str(workers),
                "--threads", str(threads), "--timeout", "120", "--bind", f"{host}:{port}",
                "--access-logfile", "-", "--logger-class", f"{__name__}.RedactingLogger",
                "--config", "python:sync_server.gunicorn_conf", "sync_server:create_app()"]
        os.execv(sys.executable, args)
    logging.getLogger("werkzeug").addFilter(_RedactKeys())
    click.echo(f"Serving Sangjog on http://{host}:{port}/ (Collect app users: /key/<token>)")
    from .. import create_app

    run_simple(host, port, create_app(), threaded=True)
