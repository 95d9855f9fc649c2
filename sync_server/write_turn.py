"""SQLite has one writer at a time: uploads and warehouse loads queue for it here.

A thread lock (this process) and a file lock (other gunicorn workers, the CLI) wake the next
writer at once; SQLite's own busy handler would sleep in steps of milliseconds. On PostgreSQL
writers run side by side and this does nothing.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

_thread_turn = threading.Lock()
# (process id, path) -> open lock file: forked workers never share one open file.
_turn_files: dict[tuple[int, str], int] = {}


@contextmanager
def write_turn(app: Flask) -> Iterator[None]:
    """Hold the database's single writer turn (SQLite only) for the block."""
    if app.extensions["engine"].dialect.name != "sqlite":
        yield
        return
    with _thread_turn:
        path = os.path.join(app.config["SANGJOG_DATA_DIR"], "sqlite-writer.lock")
        fd = _turn_files.get((os.getpid(), path))
        if fd is None:
            fd = _turn_files[(os.getpid(), path)] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
