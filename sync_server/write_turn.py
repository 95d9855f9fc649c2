"""SQLite has one writer at a time: uploads and warehouse loads queue for it here.

A thread lock (this process) and a file lock (other gunicorn workers, the loader process, the
CLI) wake the next writer at once; SQLite's own busy handler would sleep in steps of
milliseconds. On PostgreSQL writers run side by side and the turn does nothing.

Uploads keep their connection from one to the next (``writing``): on SQLite one per process,
since only one thread of a process writes at a time; on PostgreSQL one per thread.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection, Engine

from pipeline.problems import Problem

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
    """A connection to write an upload on, kept from one upload to the next (no pool checkout
    nor liveness ping per upload): on SQLite this process's writer connection, for the length
    of the turn; on PostgreSQL the process's first connection when it is free, else one of the
    thread's own, so that uploads one after another keep one database backend busy (its
    caches warm) and uploads at once still run side by side. A failure other than a refused
    upload closes it (it may be broken); the next upload opens a fresh one."""
    engine = app.extensions["engine"]
    writers: dict[tuple[int, int], Connection] = app.extensions.setdefault("writers", {})
    pid = os.getpid()
    if engine.dialect.name == "sqlite":
        key = (pid, 0)  # one per process: SQLite writes one transaction at a time
        with write_turn(app), _held(engine, writers, key) as conn:
            yield conn
        return
    locks: dict[int, threading.Lock] = app.extensions.setdefault("first_writer_free", {})
    first_free = locks.get(pid) or locks.setdefault(pid, threading.Lock())
    if not first_free.acquire(blocking=False):
        with _held(engine, writers, (pid, threading.get_ident())) as conn:
            yield conn
        return
    try:
        with _held(engine, writers, (pid, 0)) as conn:
            yield conn
    finally:
        first_free.release()


@contextmanager
def _held(engine: Engine, writers: dict[tuple[int, int], Connection],
          key: tuple[int, int]) -> Iterator[Connection]:
    conn = writers.get(key)
    if conn is None or conn.closed or conn.invalidated:
        conn = writers[key] = engine.connect()
    try:
        yield conn
    except Problem:
        raise  # a refused upload: the connection is fine
    except BaseException:
        writers.pop(key, None)
        conn.close()
        raise


def close_writers(app: Flask) -> None:
    """Close this process's held writer connections (app teardown, tests)."""
    writers: dict[tuple[int, int], Connection] = app.extensions.get("writers", {})
    for key in [k for k in writers if k[0] == os.getpid()]:
        writers.pop(key).close()
