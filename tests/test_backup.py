"""``sangjog backup`` / ``sangjog restore``: a backup taken while phones upload restores every
acknowledged submission with its photos, and the restored server takes the same keys and logins.

The live test runs the real server (``sangjog serve --workers 2``) with 8 clients uploading over
HTTP while the backup is made, on SQLite and PostgreSQL; the others check the refusals (a damaged
or cut archive, a target that is not empty) and rotation, on a small SQLite server.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from pipeline import accounts
from pipeline import backup as backups
from pipeline.db import make_engine, session_factory, upgrade
from pipeline.models import Submission
from pipeline.storage import BlobStore
from sync_server.cli import cli
from tests import builders
from tests.live_server import ROOT, LiveServer

CLIENTS = 8
PASSWORD = "correct horse battery"


def _prepare(database_url: str) -> str:
    """The form, an app user and a web admin in the database; the app user's key."""
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        builders.publish(session, "site_visit")
        key = accounts.create_app_user(session, "backup-phone", [], actor="test").token
        accounts.create_user(session, "rahima", PASSWORD, "admin", ["*"], actor="test")
    engine.dispose()
    return key


def _photo(iid: str) -> bytes:
    return hashlib.sha256(iid.encode()).digest() * 1500  # 48 kB, its own bytes per submission


def _upload(to, key: str, iid: str):
    """A submission with its own photo, to a test client (the response) or a live server's port
    (the status, None when the connection failed)."""
    return builders.submit(to, builders.site_visit(iid, photo="p.jpg"), {"p.jpg": _photo(iid)},
                           via="http", key=key)


def _login(base: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = web.post(f"{base}/login", data={"csrf_token": token, "username": "rahima",
                                             "password": PASSWORD},
                      allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return web


def _logged_in(web: requests.Session, base: str) -> bool:
    return web.get(f"{base}/dashboard", allow_redirects=False, timeout=10).status_code == 200


def _empty_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                  name: str = "restored") -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    request.addfinalizer(lambda: _drop(cluster.url, name))
    return cluster.database_url(name)


def _drop(url: str, name: str) -> None:
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _cli(args: list[str], database_url: str, data_dir: Path):
    return CliRunner().invoke(cli, args, env={"DATABASE_URL": database_url,
                                              "SANGJOG_DATA_DIR": str(data_dir)})


@pytest.mark.slow
def test_backup_while_uploading_restores_everything_acknowledged(
        database_url, backend, request, tmp_path):
    key = _prepare(database_url)
    data_dir = tmp_path / "data"
    server = LiveServer(database_url, data_dir, workers=2)
    server.env.pop("SECRET_KEY")  # the server makes one in the data folder: the backup keeps it
    data_dir.mkdir()
    acknowledged: list[str] = []
    failures: list[tuple[str, int | None]] = []
    changed = threading.Condition()
    stop = threading.Event()

    def client(c: int) -> None:
        n = 0
        while not stop.is_set():
            iid = f"uuid:backup-{c}-{n}"
            n += 1
            status = _upload(server.port, key, iid)
            with changed:
                if status == 201:
                    acknowledged.append(iid)
                else:
                    failures.append((iid, status))
                changed.notify_all()

    def wait_for(count: int) -> None:
        with changed:
            assert changed.wait_for(lambda: len(acknowledged) >= count or failures, timeout=60), \
                f"only {len(acknowledged)} uploads were acknowledged"
        assert not failures, failures[:3]

    archive = tmp_path / "backups" / "sangjog.tar"
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    server.start(timeout=120)  # a loaded machine starts gunicorn slowly
    try:
        base = f"http://127.0.0.1:{server.port}"
        old_login = _login(base)
        for t in threads:
            t.start()
        wait_for(40)
        with changed:
            before = set(acknowledged)

        def during_backup() -> None:
            # Uploads go on once the database is copied: 8 more are acknowledged meanwhile.
            wait_for(len(before) + CLIENTS)

        made = backups.backup(database_url, data_dir, archive, after_snapshot=during_backup)
        wait_for(len(acknowledged) + CLIENTS)  # and after it
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    assert not failures, failures[:3]
    assert made.submissions >= len(before) and not made.missing and not made.damaged
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    target_url = _empty_target(backend, request, tmp_path)
    target_dir = tmp_path / "restored-data"
    done = _cli(["restore", str(archive)], target_url, target_dir)
    assert done.exit_code == 0, done.output
    assert "every sha256 checked" in done.output

    engine = make_engine(target_url)
    blobs = BlobStore(target_dir / "blobs")
    with session_factory(engine)() as session:
        stored = {s.instance_id: s for s in session.scalars(select(Submission))}
        assert before <= set(stored), sorted(before - set(stored))[:5]
        assert len(stored) == made.submissions
        for iid, submission in stored.items():  # every restored submission has its photo
            assert submission.xml == builders.site_visit(iid, photo="p.jpg")
            [photo] = submission.attachments
            assert photo.sha256 == hashlib.sha256(_photo(iid)).hexdigest()
            assert hashlib.sha256(blobs.path(photo.sha256).read_bytes()).hexdigest() == photo.sha256
    engine.dispose()
    assert (target_dir / "secret_key").read_bytes() == (data_dir / "secret_key").read_bytes()

    restored = LiveServer(target_url, target_dir, workers=2)
    restored.env.pop("SECRET_KEY")
    restored.start(timeout=120)  # a loaded machine starts gunicorn slowly
    try:
        base = f"http://127.0.0.1:{restored.port}"
        form_list = requests.get(f"{base}/key/{key}/formList", timeout=10)
        assert form_list.status_code == 200 and "site_visit" in form_list.text
        assert _upload(restored.port, key, "uuid:after-restore") == 201
        assert _logged_in(_login(base), base)  # the same password
        assert _logged_in(old_login, base)  # and a browser logged in before the backup
    finally:
        restored.stop()

    again = _cli(["restore", str(archive)], target_url, target_dir)
    assert again.exit_code == 1
    assert "Restore needs an empty database and data folder" in again.output
    assert "--force" in again.output

    # --force replaces the database: the upload made after the restore is gone again.
    forced = _cli(["restore", "--force", str(archive)], target_url, target_dir)
    assert forced.exit_code == 0, forced.output
    engine = make_engine(target_url)
    with session_factory(engine)() as session:
        ids = set(session.scalars(select(Submission.instance_id)))
    engine.dispose()
    assert len(ids) == made.submissions and "uuid:after-restore" not in ids


@pytest.fixture
def small(tmp_path: Path):
    """A SQLite server with three uploads (their photos in the blob store) and its backup."""
    from sync_server import create_app

    url = f"sqlite:///{tmp_path / 'small.db'}"
    engine = make_engine(url)
    upgrade(engine)
    key = _prepare(url)
    engine.dispose()
    data_dir = tmp_path / "data"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SANGJOG_DATA_DIR": str(data_dir),
                      "SECRET_KEY": "test"})
    client = app.test_client()
    for n in range(3):
        iid = f"uuid:small-{n}"
        assert _upload(client, key, iid).status_code == 201
    archive = tmp_path / "small.tar"
    made = _cli(["backup", "-o", str(archive)], url, data_dir)
    assert made.exit_code == 0, made.output
    assert "3 submissions, 3 attachments (3 files" in made.output
    app.extensions["engine"].dispose()
    return archive, tmp_path


def _tables(url: str) -> list[str]:
    """The tables of the database at ``url`` (none when its SQLite file is not there at all)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _nothing_restored(url: str, data_dir: Path) -> None:
    assert _tables(url) == []
    assert not any(p.is_file() for p in (data_dir / "blobs").rglob("*"))
    assert not list(data_dir.glob(".restore-*")), "the staging folder was left behind"


def test_a_damaged_backup_is_refused_and_nothing_is_restored(small):
    archive, tmp_path = small
    with tarfile.open(archive) as tar:
        photo = next(m for m in tar.getmembers() if m.name.startswith("blobs/"))
    damaged = tmp_path / "damaged.tar"
    data = bytearray(archive.read_bytes())
    data[photo.offset_data + 100] ^= 0x01  # one bit of one photo
    damaged.write_bytes(bytes(data))
    url, data_dir = f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target"

    refused = _cli(["restore", str(damaged)], url, data_dir)
    assert refused.exit_code == 1
    assert f"{damaged} is damaged or not a Sangjog backup (the sha256 of '{photo.name}' does " \
           "not match the manifest). Nothing was restored" in refused.output
    _nothing_restored(url, data_dir)

    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: photo.offset_data + 1000])
    refused = _cli(["restore", str(cut)], url, data_dir)
    assert refused.exit_code == 1 and "is damaged or not a Sangjog backup" in refused.output
    _nothing_restored(url, data_dir)

    not_tar = tmp_path / "notes.tar"
    not_tar.write_bytes(b"this is not an archive\n" * 100)
    refused = _cli(["restore", str(not_tar)], url, data_dir)
    assert refused.exit_code == 1 and "is damaged or not a Sangjog backup" in refused.output
    _nothing_restored(url, data_dir)

    assert _cli(["restore", str(archive)], url, data_dir).exit_code == 0


def test_restore_refuses_a_folder_with_attachments_unless_forced(small):
    archive, tmp_path = small
    url, data_dir = f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target"
    BlobStore(data_dir / "blobs").put(b"a photo already here")
    refused = _cli(["restore", str(archive)], url, data_dir)
    assert refused.exit_code == 1
    assert f"the data folder ({data_dir}) holds attachments" in refused.output
    assert not Path(url.removeprefix("sqlite:///")).exists()
    # Not even --force while a server runs on the folder (its pid file there names a live one).
    stand_in = subprocess.Popen([sys.executable, "-c", "import sys; print(); sys.stdin.read()",
                                 "sangjog-serve-stand-in"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
    try:
        stand_in.stdout.readline()  # it runs
        (data_dir / "server.pid").write_text(f"{stand_in.pid}\n")
        running = _cli(["restore", "--force", str(archive)], url, data_dir)
        assert running.exit_code == 1
        assert f"The server is running on this data folder (process {stand_in.pid})" in running.output
    finally:
        stand_in.communicate(timeout=30)  # closes its stdin: it ends
    assert not Path(url.removeprefix("sqlite:///")).exists()
    forced = _cli(["restore", "--force", str(archive)], url, data_dir)
    assert forced.exit_code == 0, forced.output
    engine = make_engine(url)
    with session_factory(engine)() as session:
        assert len(session.scalars(select(Submission.id)).all()) == 3
    engine.dispose()


def test_rotation_keeps_the_newest_and_only_touches_its_own_files(tmp_path):
    names = ["sangjog-20261201-020000.tar", "sangjog-20261202-020000.tar",
             "sangjog-20261203-020000.tar", "notes.txt", "sangjog-copy.tar"]
    for name in names:
        (tmp_path / name).write_text("x")
    deleted = backups.rotate(tmp_path, keep=2)
    assert [p.name for p in deleted] == ["sangjog-20261201-020000.tar"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


def test_backup_every_hours_runs_until_stopped(small):
    archive, tmp_path = small
    folder = tmp_path / "rotated"
    old = folder / "sangjog-20200101-000000.tar"
    folder.mkdir()
    old.write_text("an old backup")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'small.db'}",
           "SANGJOG_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from sync_server.cli import cli; cli(prog_name='sangjog')",
         "backup", "--dir", str(folder), "--keep", "1", "--every", "24"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(60, process.kill)  # reading its output below ends by then
    watchdog.start()
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Next backup at"):  # printed once it waits
                break
        assert not old.exists()
        [made] = folder.iterdir()
        assert re.fullmatch(r"sangjog-\d{8}-\d{6}\.tar", made.name)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Backup written" in "".join(lines)


def test_if_migrating_backs_up_only_before_an_upgrade(small, tmp_path):
    from alembic import command as alembic

    from pipeline.db import alembic_config

    archive, _ = small
    current = _cli(["backup", "--if-migrating", "-o", str(tmp_path / "a.tar")],
                   f"sqlite:///{tmp_path / 'small.db'}", tmp_path / "data")
    assert current.exit_code == 0 and "no backup needed" in current.output
    assert not (tmp_path / "a.tar").exists()
    fresh = _cli(["backup", "--if-migrating", "-o", str(tmp_path / "b.tar")],
                 f"sqlite:///{tmp_path / 'none-yet.db'}", tmp_path / "empty")
    assert fresh.exit_code == 0 and not (tmp_path / "b.tar").exists()
    assert not (tmp_path / "none-yet.db").exists()

    older = make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    alembic.upgrade(alembic_config(older), "0007")
    older.dispose()
    upgrading = _cli(["backup", "--if-migrating", "-o", str(tmp_path / "c.tar")],
                     f"sqlite:///{tmp_path / 'older.db'}", tmp_path / "older-data")
    assert upgrading.exit_code == 0, upgrading.output
    assert "backing it up first" in upgrading.output
    with tarfile.open(tmp_path / "c.tar") as tar:
        assert '"revision": "0007"' in tar.extractfile("manifest.json").read().decode()


def _cli_env(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(cli, args, env=env)


def _server_with_s3(database_url: str, data_dir: Path, store: dict[str, str]):
    from sync_server import create_app

    return create_app({"TESTING": True, "DATABASE_URL": database_url,
                       "SANGJOG_DATA_DIR": str(data_dir), "SECRET_KEY": "test", **store})


def test_a_backup_with_attachments_in_s3_restores_them_checked_or_names_the_missing(
        database_url, backend, request, tmp_path, s3_server):
    """Objects in the bucket are referenced by sha256 (or copied in, --with-attachments); a
    restore into a fresh database finds every one in the target store, or names what is not."""
    bucket = f"s3://{s3_server.new_bucket()}/attachments"
    store = {"BLOB_STORE": bucket, "BLOB_STORE_ENDPOINT_URL": s3_server.url}
    key = _prepare(database_url)
    app = _server_with_s3(database_url, tmp_path / "data", store)
    client = app.test_client()
    photos = {}
    for n in range(3):
        iid = f"uuid:s3-{n}"
        assert _upload(client, key, iid).status_code == 201
        photos[iid] = hashlib.sha256(_photo(iid)).hexdigest()
    app.extensions["engine"].dispose()
    source = {"DATABASE_URL": database_url, "SANGJOG_DATA_DIR": str(tmp_path / "data"), **store}
    referenced, copied = tmp_path / "referenced.tar", tmp_path / "copied.tar"
    assert _cli_env(["backup", "-o", str(referenced)], source).exit_code == 0
    made = _cli_env(["backup", "--with-attachments", "-o", str(copied)], source)
    assert made.exit_code == 0, made.output
    with tarfile.open(referenced) as tar:
        assert not any(n.startswith("blobs/") for n in tar.getnames())
    with tarfile.open(copied) as tar:
        assert {Path(n).name for n in tar.getnames() if n.startswith("blobs/")} == set(photos.values())

    # A fresh database and a fresh, empty bucket: the referenced backup names what is missing.
    target_url = _empty_target(backend, request, tmp_path)
    empty_bucket = f"s3://{s3_server.new_bucket()}/restored"
    elsewhere = {"DATABASE_URL": target_url, "SANGJOG_DATA_DIR": str(tmp_path / "t1"),
                 "BLOB_STORE": empty_bucket, "BLOB_STORE_ENDPOINT_URL": s3_server.url}
    refused = _cli_env(["restore", str(referenced)], elsewhere)
    assert refused.exit_code == 1
    assert f"3 of its 3 attachments are not in {empty_bucket}" in refused.output
    for digest in photos.values():
        assert f"restored/{digest[:2]}/{digest[2:4]}/{digest}" in refused.output
    assert "Nothing was restored" in refused.output
    assert _tables(target_url) == []

    # The same bucket: every object is found, and the restored server hands out each photo.
    here = {"DATABASE_URL": target_url, "SANGJOG_DATA_DIR": str(tmp_path / "t2"), **store}
    done = _cli_env(["restore", str(referenced)], here)
    assert done.exit_code == 0, done.output
    assert f"3 attachments the backup refers to are in {bucket}" in done.output
    _check_restored(target_url, tmp_path / "t2", store, photos)

    # The copied backup fills the empty bucket (every sum checked) into another fresh database.
    again = _empty_target(backend, request, tmp_path, "restored2")
    into_empty = {**elsewhere, "DATABASE_URL": again, "SANGJOG_DATA_DIR": str(tmp_path / "t3")}
    done = _cli_env(["restore", str(copied)], into_empty)
    assert done.exit_code == 0, done.output
    _check_restored(again, tmp_path / "t3", {"BLOB_STORE": empty_bucket,
                                             "BLOB_STORE_ENDPOINT_URL": s3_server.url}, photos)


def _check_restored(url: str, data_dir: Path, store: dict[str, str],
                    photos: dict[str, str]) -> None:
    app = _server_with_s3(url, data_dir, store)
    client = app.test_client()
    builders.login(client, "rahima", PASSWORD)
    with session_factory(app.extensions["engine"])() as session:
        stored = {s.instance_id: s for s in session.scalars(select(Submission))}
        assert set(stored) == set(photos)
        for iid, submission in stored.items():
            [photo] = submission.attachments
            assert photo.sha256 == photos[iid]
            got = client.get(f"/attachments/{submission.id}/p.jpg")
            assert got.status_code == 200
            assert hashlib.sha256(got.get_data()).hexdigest() == photos[iid]
    assert not (data_dir / "blobs").exists() or not any((data_dir / "blobs").rglob("*"))
    app.extensions["engine"].dispose()
