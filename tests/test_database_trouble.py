"""The database's trouble, caused for real, answers 503 with ``Retry-After`` on every door.

Another process holding SQLite's write lock, the database file made immutable (``chattr +i``:
the tests run as root, so ``chmod`` would not stop them), a full disk (a small tmpfs), a stopped
PostgreSQL and a read-only PostgreSQL database: an upload, a page (whose catch-up load meets the
trouble), an attachment download and a form's media each answer 503 with ``Retry-After``,
logged once with the driver's message and no app-user key. Once the trouble ends every door
answers again, every acknowledged upload is in the warehouse and none was flagged failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from pipeline import accounts
from pipeline.db import make_engine, upgrade, writer_for
from pipeline.models import Submission
from tests import builders
from tests.builders import PASSWORD, login
from tests.pg import Cluster

SECRET_KEY_IN_PATH = "app-user-key-never-logged"


def _make_app(database_url: str, data: Path):
    from sync_server import background_loader, create_app

    app = create_app({"TESTING": True, "SANGJOG_DATA_DIR": str(data),
                      "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                      "SQLITE_BUSY_SECONDS": 0.3})
    # No loader thread: the first upload stays pending, so pages meet the trouble in their
    # catch-up load (what the loader would do is the same ``load_pending``).
    background_loader.stop(app)
    return app


def _close(app) -> None:
    writer_for(app.extensions["engine"]).close()
    app.extensions["engine"].dispose()


class Doors:
    """One of each door, on an app with a published form, an app user, a logged-in admin and
    one upload (with a photo) still pending."""

    def __init__(self, app) -> None:
        self.app = app
        with app.extensions["sessions"]() as session:
            builders.publish(session, "site_visit")
            self.key = accounts.create_app_user(session, "phone", [], actor="test").token
            accounts.create_user(session, "boss", PASSWORD, "admin", ["*"])
        self.phone = app.test_client()
        self.web = login(app.test_client(), "boss")
        self.sent = 0
        assert self.upload().status_code == 201
        with app.extensions["sessions"]() as session:
            self.first = session.scalar(select(Submission.id))

    def upload(self):
        xml = builders.site_visit(f"uuid:trouble-{self.sent}", photo="photo.jpg")
        response = builders.submit(self.phone, xml, {"photo.jpg": builders.JPEG}, via="http",
                                   key=self.key)
        if response.status_code == 201:
            self.sent += 1
        return response

    def each(self) -> dict[str, Callable[[], object]]:
        return {
            "upload": self.upload,
            "page": lambda: self.web.get("/dashboard"),
            "download": lambda: self.web.get(f"/attachments/{self.first}/photo.jpg"),
            "form media": lambda: self.phone.get(f"/key/{self.key}/formMedia/site_visit/places.csv"),
        }


def _every_door_waits(doors: Doors, caplog, says: str) -> None:
    for door, call in doors.each().items():
        caplog.clear()
        response = call()
        assert response.status_code == 503, (door, response.status_code, response.data[:300])
        assert response.headers["Retry-After"] == "30", door
        told = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(told) == 1, (door, [r.getMessage() for r in told])
        assert "database unavailable" in told[0].getMessage(), door
        assert says in told[0].getMessage().lower(), (door, told[0].getMessage())
        assert doors.key not in caplog.text


def _every_door_answers_again(doors: Doors) -> None:
    for door, call in doors.each().items():
        response = call()
        assert response.status_code in (200, 201), (door, response.status_code, response.data[:300])
    with doors.app.extensions["sessions"]() as session:
        states = session.execute(select(Submission.instance_id, Submission.parse_status)).all()
    # Every acknowledged upload is there and loaded (the page above caught up): none failed.
    assert sorted(states) == sorted((f"uuid:trouble-{i}", "ok") for i in range(doors.sent))


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path) -> Iterator[tuple]:
    path = tmp_path / "warehouse.db"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path / "data")
    yield app, path
    _close(app)


@contextlib.contextmanager
def _lock_held_by_another_process(path: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()  # the holder reads to the end, then exits and lets go
        holder.wait(timeout=30)


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@contextlib.contextmanager
def _immutable(app, path: Path) -> Iterator[None]:
    # Files already open for writing stay writable: close the app's connections first, as a
    # restart would; every connection after opens the file read-only.
    _close(app)
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    try:
        _chattr("+i", *files)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the kernel refuses chattr +i here ({exc}); the read-only case needs it")
    try:
        yield
    finally:
        _chattr("-i", *files)
    _close(app)


@contextlib.contextmanager
def _full_disk(folder: Path) -> Iterator[None]:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):  # until no space is left
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    try:
        yield
    finally:
        filler.unlink()


@pytest.mark.parametrize("cause", ["locked by another process", "read-only files"])
def test_sqlite_trouble_is_a_503_on_every_door(cause, sqlite_app, caplog, fast_hashing):
    app, path = sqlite_app
    doors = Doors(app)
    if cause == "locked by another process":
        trouble, says = _lock_held_by_another_process(path), "database is locked"
    else:
        trouble, says = _immutable(app, path), "readonly database"
    with trouble:
        _every_door_waits(doors, caplog, says)
    _every_door_answers_again(doors)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sangjog-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        os.rmdir(folder)
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}): the full-disk "
                    "case needs one")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)
    os.rmdir(folder)


def test_a_full_disk_under_sqlite_is_a_503_on_every_door(sqlite_template, small_disk, tmp_path,
                                                         caplog, fast_hashing):
    path = small_disk / "warehouse.db"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path / "data")
    try:
        doors = Doors(app)
        with _full_disk(small_disk):
            _every_door_waits(doors, caplog, "database or disk is full")
        _every_door_answers_again(doors)
    finally:
        _close(app)


def test_a_stopped_postgresql_is_a_503_on_every_door(tmp_path, caplog, fast_hashing):
    base = Path(tempfile.mkdtemp(prefix="sangjog-pg-stop-"))
    # Commits written before the answer, as in production: the stop below is immediate.
    cluster = Cluster(base, synchronous_commit=True).start()
    try:
        upgrade(engine := make_engine(cluster.url))
        engine.dispose()
        app = _make_app(cluster.url, tmp_path / "data")
        try:
            doors = Doors(app)
            cluster.stop()
            _every_door_waits(doors, caplog, "connection")
            cluster.resume()
            _every_door_answers_again(doors)
        finally:
            _close(app)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_read_only_postgresql_is_a_503_on_every_door(pg_cluster, tmp_path, caplog,
                                                       fast_hashing):
    name = "trouble_read_only"
    admin = make_engine(pg_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE sangjog_template"))
    app = _make_app(pg_cluster.database_url(name), tmp_path / "data")
    try:
        doors = Doors(app)

        def read_only(on: bool) -> None:
            with admin.connect() as conn:
                conn.execute(text(f"ALTER DATABASE {name} SET default_transaction_read_only = "
                                  f"{'on' if on else 'off'}"))
                # Sessions take it when they start: end the ones open now (the app's are
                # found dropped and opened afresh, read-only).
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"),
                             {"name": name})

        read_only(True)
        _every_door_waits(doors, caplog, "read-only transaction")
        read_only(False)
        _every_door_answers_again(doors)
    finally:
        _close(app)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_the_loader_says_once_that_the_database_is_away_and_once_that_it_is_back(caplog):
    import sqlite3
    import threading

    from pipeline import loader

    stopping = threading.Event()
    calls = []

    class Session:
        def __enter__(self):
            calls.append(1)
            if len(calls) <= 3:
                raise sqlite3.OperationalError("database is locked")
            if len(calls) >= 5:
                stopping.set()
            return self

        def __exit__(self, *_exc):
            return False

        def scalar(self, _query):
            return None  # nothing pending

    loader.follow(Session, stopping, interval=0.001)
    told = [r.getMessage() for r in caplog.records if r.name == "pipeline.loader"]
    assert len(told) == 2, told
    assert "unavailable (database is locked)" in told[0] and "back" in told[1]
