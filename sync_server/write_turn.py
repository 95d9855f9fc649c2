"""SQLite has one writer at a time: uploads and warehouse loads queue for it here.

A thread lock (this process) and a file lock (other gunicorn workers, the loader process, the
CLI) wake the next writer at once; SQLite's own busy handler would sleep in steps of
milliseconds. On PostgreSQL writers run side by side and the turn does nothing.

Since only one thread of a process writes to SQLite at a time, uploads keep one connection per
process for it (``writing``): no pool checkout and return for each upload.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection

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


@contextmanager
def writing(app: Flask) -> Iterator[Connection]:
    """A connection to write an upload on: on SQLite this process's writer connection, for
    the length of the turn; on PostgreSQL one from the pool. A failure closes a held
    connection (it may be broken); the next upload opens a fresh one."""
    engine = app.extensions["engine"]
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn:
            yield conn
        return
    # process id -> that process's writer connection (forked workers never share one)
    writers: dict[int, Connection] = app.extensions.setdefault("sqlite_writers", {})
    with write_turn(app):
        conn = writers.get(os.getpid())
        if conn is None or conn.closed or conn.invalidated:
            conn = writers[os.getpid()] = engine.connect()
        try:
            yield conn
        except BaseException:
            writers.pop(os.getpid(), None)
            conn.close()
            raise


def close_writers(app: Flask) -> None:
    """Close this process's held writer connection (app teardown, tests)."""
    conn = app.extensions.get("sqlite_writers", {}).pop(os.getpid(), None)
    if conn is not None:
        conn.close()
