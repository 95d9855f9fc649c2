"""Engines, sessions and the one seam for writing (SQLite file by default, PostgreSQL at scale).

Every difference between the two databases' writes lives here. SQLite has one writer at a time:
``Writer.turn`` queues this process's threads on a thread lock, and the other processes (gunicorn
workers, the loader, the CLI) wait for SQLite's own lock, up to the busy timeout (then the upload
is answered 503 with Retry-After); its transactions take the write lock up front
(``BEGIN IMMEDIATE``), so one that would upgrade from reading never fails half-way. PostgreSQL
writes side by side, and its turn does nothing. ``Writer.run`` is how a submission is written:
on a connection kept per thread, with the one retry policy of the write path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .problems import Problem

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"


# How long a SQLite write waits for another process's write to end before it gives up (the
# request then answers 503 with Retry-After): the ``SQLITE_BUSY_SECONDS`` setting.
BUSY_SECONDS = 30.0


def make_engine(url: str, *, busy_seconds: float = BUSY_SECONDS, **kwargs: Any) -> Engine:
    if url.startswith("postgres://"):  # the spelling Heroku-style URLs use
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_seconds}, **kwargs)
        _configure_sqlite(engine, busy_seconds)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# PostgreSQL error classes that pass: connection exception, transaction rollback (serialization,
# deadlock), insufficient resources (disk full, out of memory), operator intervention (shutdown,
# cannot connect now); and one state: a read-only transaction (a standby, or the database set
# read-only while its disk is dealt with).
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
_TRANSIENT_SQLSTATES = frozenset({"25006"})
# SQLite's primary result codes that pass: busy, locked, read-only (the files or their folder
# cannot be written), I/O error, disk full.
_TRANSIENT_SQLITE_CODES = frozenset({5, 6, 8, 10, 13})
_TRANSIENT_SQLITE_TEXT = ("database is locked", "database is busy", "readonly database",
                          "disk i/o error", "database or disk is full")
# The attachment store's counterparts: no space, over quota, a read-only file system.
_TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def is_transient(exc: BaseException) -> bool:
    """Whether an error says "not now" rather than "never": the database is out of reach,
    restarting, busy past the timeout, read-only or out of disk (or the attachment store is).
    The same request may succeed later. Takes SQLAlchemy's wrapped errors and the drivers' own
    (``BEGIN IMMEDIATE`` runs straight on the driver, ``COPY`` too)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _TRANSIENT_SQLITE_CODES
        return any(text in str(exc).lower() for text in _TRANSIENT_SQLITE_TEXT)
    # A PostgreSQL engine imports the driver; until one has, no error can be the driver's, and
    # the command line on SQLite does not pay for importing it.
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        if exc.sqlstate:
            return exc.sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or exc.sqlstate in _TRANSIENT_SQLSTATES
        # No SQLSTATE: the connection itself failed (refused, closed, lost).
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        return exc.errno in _TRANSIENT_ERRNOS
    return False


_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Straight to the driver: this runs for every transaction, uploads included.
        conn.connection.dbapi_connection.execute(_BEGIN[mode])


# The write path's retry policy, the only one: a write is tried at most this many times when a
# concurrent writer committed the same instance first (IntegrityError: trying again reads it and
# answers as a resend) or the database dropped the kept connection (a restart: a fresh one is
# opened). Anything else is raised at once.
WRITE_ATTEMPTS = 3


class Writer:
    """The database's writes for one engine (``writer_for``): the turn and the kept connections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.single = engine.dialect.name == "sqlite"
        self._thread_turn = threading.Lock()
        self._free: list[Connection] = []  # kept connections not in use (``_on_kept``)
        self._pid = os.getpid()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the database's single writer turn (SQLite) for the block; PostgreSQL: nothing."""
        if not self.single:
            yield
            return
        with self._thread_turn:
            yield

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in the turn, on a kept connection (no pool checkout nor liveness ping
        per upload; transactions it begins take SQLite's write lock up front). ``work`` commits
        what it writes; it is tried again under ``WRITE_ATTEMPTS``."""
        return self._retried(work, in_turn=True)

    def read(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` on a kept connection, outside the turn: a read that runs on every
        upload (the app user's key). ``work`` leaves no transaction open
        (``DriverStatement.rows_committed``)."""
        return self._retried(work, in_turn=False)

    def _retried(self, work: Callable[[Connection], T], in_turn: bool) -> T:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                if not in_turn:
                    return self._on_kept(work)
                with self.turn():
                    return self._on_kept(work)
            except DBAPIError as exc:
                again = exc.connection_invalidated or (in_turn and isinstance(exc, IntegrityError))
                if not again or attempt == WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _on_kept(self, work: Callable[[Connection], T]) -> T:
        """Connections are kept in a free list: uploads one after another use the same one (a
        PostgreSQL backend stays warm), uploads at once take one each. A refused write
        (``Problem``) or a duplicate leaves its connection fine; any other failure closes it."""
        with _writers_lock:
            if self._pid != os.getpid():  # a forked process never uses its parent's
                self._free, self._pid = [], os.getpid()
            conn = self._free.pop() if self._free else None
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
        try:
            result = work(conn)
        except (Problem, IntegrityError):
            if conn.in_transaction():
                conn.rollback()
            self._give_back(conn)
            raise
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)
        return result

    def _give_back(self, conn: Connection) -> None:
        with _writers_lock:
            if self._pid == os.getpid():
                self._free.append(conn)

    def close(self) -> None:
        """Close the connections this process keeps (app teardown, tests)."""
        with _writers_lock:
            free, self._free = self._free, []
        for conn in free:
            conn.close()


_writers: weakref.WeakKeyDictionary[Engine, Writer] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> Writer:
    """The one ``Writer`` of ``engine`` in this process."""
    found = _writers.get(engine)
    if found is None:
        with _writers_lock:
            found = _writers.get(engine) or _writers.setdefault(engine, Writer(engine))
    return found


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """The block as one write transaction: begun as a writer (``begin_write``), committed when
    the block ends, rolled back if anything in it (or the commit) raises. The session may have read already
    (SQLAlchemy's own ``session.begin()`` refuses a session that has): to write on a fresh
    snapshot, ``end_read`` first. Raising in the block (a ``Problem`` refusing the change) is how
    a unit of work gives up: nothing of it is kept. A block inside another joins it (its begin
    finds the transaction begun), and its end commits the lot: only a last step nests."""
    try:
        begin_write(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def end_read(session: Session) -> None:
    """End the session's read, if one is open: the next statement sees what others committed
    since, no snapshot is held meanwhile, and a write begun next (``write_transaction``) takes
    SQLite's write lock up front instead of upgrading a snapshot another writer has moved past.
    Ended with COMMIT, which writes nothing after a read and keeps what the session loaded
    (``expire_on_commit`` is off; a rollback would expire it all). Call it only where nothing
    is pending: whatever is, is committed with it."""
    if session.in_transaction():
        session.commit()


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite)."""
    if session.in_transaction():
        # Already begun (on any backend): nothing to change; callers start writes at the top of
        # a unit of work. PostgreSQL would only warn that the options came too late.
        return
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


# Any fixed number: the key of PostgreSQL's advisory lock that loads take turns on.
_LOADS_LOCK = 0x5A6E_4C6F


def serialize_loads(session: Session) -> None:
    """Wait for this transaction's turn to write warehouse rows (released at commit/rollback).
    SQLite needs nothing: ``begin_write`` already made this the only writer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOADS_LOCK})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Any fixed number: the key of PostgreSQL's advisory lock that migrations take turns on.
_MIGRATIONS_LOCK = 0x5A6E_4D69


def head_revision() -> str:
    """The newest migration: its revision is its file's number (``0008_….py`` is ``"0008"``)."""
    return max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head(engine: Engine) -> bool:
    """Whether the database is already at the newest migration: then every process start (each
    CLI command among them) skips importing and running Alembic, a third of a command's start."""
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    except DBAPIError:  # a new database: no alembic_version table yet
        return False


def upgrade(engine: Engine) -> None:
    """Bring the application tables to the newest migration. Processes starting together (the
    workers of a fresh gunicorn) take turns: the first migrates, the others find it done."""
    if _at_head(engine):
        return
    from alembic import command

    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATIONS_LOCK})
            try:
                command.upgrade(alembic_config(engine), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATIONS_LOCK})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        command.upgrade(alembic_config(engine), "head")
        return
    lock = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(alembic_config(engine), "head")
    finally:
        os.close(lock)  # releases the lock
