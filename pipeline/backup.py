"""A whole server in one file, taken while phones upload, and restored with every sum checked.

A backup is a tar archive (``docs/deploy.md#backups``):

    database.sqlite | database.pgdump   SQLite's online backup API / pg_dump's custom format
    blobs/ab/cd/<sha256>                every attachment (and scheduled workbook) the database
                                        refers to (BlobStore layout)
    secret_key                          the data folder's generated SECRET_KEY, when there is one
    manifest.json                       last: what is inside, each file's sha256 and size

Consistent while phones upload: an upload writes its attachments (fsynced) before it commits the
submission that refers to them, and blobs are never changed nor deleted. So the database is
copied first, as one snapshot (SQLite: the backup API copies every page in one step, in one read
transaction; PostgreSQL: pg_dump runs in a snapshot exported by a transaction of ours, which
also reads the attachment list), then the blobs that snapshot names are copied: every one of them
exists. Uploads go on meanwhile; what they commit after the snapshot is in the next backup.

The manifest's ``attachments`` says where attachments live. Files travel inside
(``"inside": true``). Attachments in object storage (``BLOB_STORE=s3://…``) are listed under
``objects`` by sha256 with their key and size, and by default stay in the bucket
(``"inside": false``): objects are named by their sum and never overwritten nor deleted, so the
bucket still holds every one a backup names, and copying a national bucket into every nightly
archive would make each one as big as all photos ever taken. ``with_attachments`` copies them
into the archive too (``blobs/…``), to move a server to another store or keep one archive
off-site. A restore puts what the archive holds into the target store and checks that every
other object it names is there, before changing anything.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from . import problems
from .blob_tools import referenced_sql
from .db import MIGRATIONS, make_engine
from .storage import AnyStore, BlobStore

FORMAT = "sangjog-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SECRET_KEY_FILE = "secret_key"  # as sync_server/config.py keeps it in the data folder
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
_BLOB_MEMBER = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
# Names ``--dir`` gives backups (UTC time), and the only files rotation ever deletes.
_ROTATED = re.compile(r"sangjog-\d{8}-\d{6}\.tar")
_CHUNK = 1024 * 1024


@dataclass
class Summary:
    """What a backup holds (or a restore brought back), for the command's report."""

    path: Path
    size: int = 0
    submissions: int = 0
    attachments: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    seconds: float = 0.0
    revision: str | None = None
    missing: list[str] = field(default_factory=list)  # referenced, not found in the store
    in_store: int = 0  # restore: objects the backup refers to, found in the target store
    damaged: list[str] = field(default_factory=list)  # found, but not matching its name


@dataclass
class _Snapshot:
    file: Path
    revision: str | None
    blobs: list[str]
    submissions: int
    attachments: int


# ---- backup ----------------------------------------------------------------------------------

def backup(database_url: str, data_dir: Path, output: Path, *,
           after_snapshot: Callable[[], None] | None = None,
           store: AnyStore | None = None, with_attachments: bool = False) -> Summary:
    """Write a backup of the database and the attachments of ``data_dir`` to ``output``
    (written beside it under a temporary name, fsynced, then renamed: never half a file).
    ``after_snapshot`` runs once the database is copied, before the attachments are.
    ``store``: the attachment store (default: the data folder's); attachments in object
    storage stay there and are listed in the manifest by sum, key and size, each checked to be
    there; ``with_attachments`` copies them into the archive as well."""
    started = time.monotonic()
    dialect = _dialect(database_url)
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    blobs = store if store is not None else BlobStore(Path(data_dir) / "blobs")
    work = Path(tempfile.mkdtemp(prefix=".sangjog-backup-", dir=output.parent))
    partial = work / output.name
    try:
        dump = work / DATABASE_FILES[dialect]
        snap = (_sqlite_snapshot(database_url, dump) if dialect == "sqlite"
                else _postgresql_snapshot(database_url, dump))
        if after_snapshot is not None:
            after_snapshot()
        summary = Summary(output, submissions=snap.submissions, attachments=snap.attachments,
                          revision=snap.revision)
        files: dict[str, dict[str, Any]] = {}
        with open(partial, "wb") as raw, tarfile.open(fileobj=raw, mode="w",
                                                     format=tarfile.PAX_FORMAT) as tar:
            files[dump.name] = _add(tar, dump.name, dump)
            dump.unlink()
            keys: dict[str, dict[str, Any]] = {}
            for digest in snap.blobs if blobs.kind != "files" else ():
                size = blobs.size(digest)
                if size is None:
                    summary.missing.append(digest)
                    continue
                keys[digest] = {"key": blobs.key(digest), "sha256": digest, "size": size}
                summary.blobs += 1
                summary.blob_bytes += size
                if with_attachments:
                    name = _member(digest)
                    entry = _add_stream(tar, name, blobs.open(digest), size)
                    files[name] = entry
                    if entry["sha256"] != digest:
                        summary.damaged.append(digest)
            for digest in snap.blobs if blobs.kind == "files" else ():
                path = blobs.path(digest)
                name = path.relative_to(blobs.root.parent).as_posix()
                try:
                    entry = _add(tar, name, path)
                except FileNotFoundError:
                    summary.missing.append(digest)
                    continue
                files[name] = entry
                summary.blobs += 1
                summary.blob_bytes += entry["size"]
                if entry["sha256"] != digest:
                    summary.damaged.append(digest)
            secret = Path(data_dir) / SECRET_KEY_FILE
            if secret.is_file():
                files[SECRET_KEY_FILE] = _add(tar, SECRET_KEY_FILE, secret)
            manifest = {
                "format": FORMAT, "version": FORMAT_VERSION,
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "database": {"dialect": dialect, "file": dump.name, "revision": snap.revision,
                             "submissions": snap.submissions, "attachments": snap.attachments},
                "attachments": {"store": "files", "inside": True, "count": summary.blobs,
                                "bytes": summary.blob_bytes, "missing": summary.missing,
                                "damaged": summary.damaged} if blobs.kind == "files" else {
                    "store": str(blobs), "inside": with_attachments, "count": summary.blobs,
                    "bytes": summary.blob_bytes, "missing": summary.missing,
                    "damaged": summary.damaged, "objects": keys},
                "files": files,
            }
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)  # it holds password hashes, phone keys and the secret key
        os.replace(partial, output)
        _fsync_dir(output.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.size = output.stat().st_size
    summary.seconds = time.monotonic() - started
    return summary


def migrations_pending(database_url: str) -> bool:
    """Whether starting this version of Sangjog would migrate the database: it holds Sangjog's
    tables at an older migration than this version's newest. No database yet: False."""
    if _dialect(database_url) == "sqlite" and not _sqlite_path(database_url).is_file():
        return False
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        raise problems.backup_failed(f"the database could not be read: {exc}") from None
    finally:
        engine.dispose()
    return revision is not None and revision != ScriptDirectory(str(MIGRATIONS)).get_current_head()


def timestamped(folder: Path, now: datetime | None = None) -> Path:
    """The file ``--dir`` writes: ``sangjog-YYYYMMDD-HHMMSS.tar`` in UTC."""
    return Path(folder) / f"sangjog-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.tar"


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups that ``--dir`` wrote in ``folder`` (only files
    named as ``timestamped`` names them); returns the deleted ones."""
    ours = sorted(p for p in Path(folder).iterdir() if _ROTATED.fullmatch(p.name) and p.is_file())
    old = ours[:-keep] if keep > 0 else ours
    for path in old:
        path.unlink()
    return old


def _dialect(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name in ("postgres", "postgresql"):
        return "postgresql"
    if name == "sqlite":
        return "sqlite"
    raise problems.backup_failed(f"databases of kind '{name}' are not supported")


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if database in (None, "", ":memory:"):
        raise problems.backup_failed("DATABASE_URL names no SQLite file")
    return Path(database).resolve()


def _sqlite_snapshot(database_url: str, dump: Path) -> _Snapshot:
    source = _sqlite_path(database_url)
    if not source.is_file():
        raise problems.backup_failed(f"there is no database at {source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(dump)
    try:
        # pages=-1: every page in one step, inside one read transaction: a consistent copy,
        # while writers go on (WAL).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        tables = [row[0] for row in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        blobs = [row[0] for row in dst.execute(referenced_sql(tables))]
        submissions = dst.execute("SELECT count(*) FROM submissions").fetchone()[0]
        attachments = dst.execute("SELECT count(*) FROM attachments").fetchone()[0]
        revision = dst.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise problems.backup_failed(f"the database at {source} could not be read: {exc}") from None
    finally:
        dst.close()
        src.close()
    return _Snapshot(dump, revision[0] if revision else None, sorted(blobs), submissions,
                     attachments)


def _postgresql_snapshot(database_url: str, dump: Path) -> _Snapshot:
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _run_pg("pg_dump", database_url, ["--format=custom", f"--snapshot={snapshot}",
                                              f"--file={dump}"], problems.backup_failed)
            tables = inspect(conn).get_table_names()
            blobs = list(conn.execute(text(referenced_sql(tables))).scalars())
            submissions = conn.execute(text("SELECT count(*) FROM submissions")).scalar_one()
            attachments = conn.execute(text("SELECT count(*) FROM attachments")).scalar_one()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except problems.Problem:
        raise
    except Exception as exc:  # the driver's words: the database is out of reach, or not ours
        raise problems.backup_failed(f"the database could not be read: {exc}") from None
    finally:
        engine.dispose()
    return _Snapshot(dump, revision, sorted(blobs), submissions, attachments)


def pg_program(name: str) -> str:
    """Debian's newest ``pg_dump``/``pg_restore`` (a dump needs one at least as new as the
    server), else the one on the PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(re.sub(r"\D", "", Path(p).parts[-3]) or 0))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise problems.backup_failed(f"{name} was not found: install PostgreSQL's client programs "
                                 "(Debian: apt-get install postgresql-client)")


def _run_pg(program: str, database_url: str, args: list[str],
            failed: Callable[[str], problems.Problem]) -> None:
    """Run pg_dump or pg_restore on the database; the password travels in the environment, never
    on a command line that ``ps`` shows."""
    url = make_url(database_url)
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([pg_program(program), "--no-password", *args, f"--dbname={target}"],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        words = (done.stderr or done.stdout).strip().splitlines()
        raise failed(f"{program} failed: {' '.join(words[-3:])}")


class _Reader:
    """A file read through once, hashed on the way (a blob is read once per backup)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.sha, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
        reader = _Reader(fh)
        tar.addfile(info, reader)
    return {"sha256": reader.sha.hexdigest(), "size": reader.size}


def _member(sha256: str) -> str:
    """An attachment's name in the archive (the data folder's layout, whatever the store)."""
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _add_stream(tar: tarfile.TarFile, name: str, body: Any, size: int) -> dict[str, Any]:
    """Add an object read from the store as a stream of ``size`` bytes (never whole in memory)."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    reader = _Reader(body)
    try:
        tar.addfile(info, reader)
    finally:
        body.close()
    return {"sha256": reader.sha.hexdigest(), "size": reader.size}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- restore ---------------------------------------------------------------------------------

def restore(archive: Path, database_url: str, data_dir: Path, *, force: bool = False,
            store: AnyStore | None = None) -> Summary:
    """Restore ``archive`` into the database and data folder. Both must be empty unless
    ``force`` (the database is then replaced; attachments already there stay, by their sums).
    ``store``: where attachments go (default: the data folder's); the attachments the archive
    holds are put there, and every object the backup names but does not hold must be there
    already (``restore.mismatch`` naming the missing ones otherwise). Every file is checked
    against the manifest, and every object's presence, before anything is changed."""
    started = time.monotonic()
    archive = Path(archive)
    if not archive.is_file():
        raise problems.restore_mismatch(f"there is no file {archive}")
    dialect = _dialect(database_url)
    data_dir = Path(data_dir).resolve()
    target = store if store is not None else BlobStore(data_dir / "blobs")
    if not force:
        _refuse_if_not_empty(dialect, database_url, data_dir, target)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        manifest = _unpack(archive, staging)
        db = manifest["database"]
        if db.get("dialect") != dialect:
            raise problems.restore_mismatch(
                f"it holds a {db.get('dialect')} database and DATABASE_URL names {dialect}")
        _check_revision(db.get("revision"))
        summary = Summary(archive, size=archive.stat().st_size, submissions=db["submissions"],
                          attachments=db["attachments"], revision=db.get("revision"),
                          missing=list(manifest["attachments"].get("missing", [])))
        inside = {found.group(3): (name, entry) for name, entry in manifest["files"].items()
                  if (found := _BLOB_MEMBER.fullmatch(name))}
        summary.in_store = _check_objects(manifest["attachments"], inside, target)
        # Attachments and the secret key first, on disk for good (one sync for them all), the
        # database last: it is what makes the restore happen, and it then finds all its files.
        for digest, (name, entry) in inside.items():
            if isinstance(target, BlobStore):
                final = target.path(digest)
                final.parent.mkdir(parents=True, exist_ok=True)
                if not final.exists():
                    os.replace(staging / name, final)
            elif target.size(digest) != entry["size"]:
                with open(staging / name, "rb") as fh:
                    target.put(fh)
            summary.blobs += 1
            summary.blob_bytes += entry["size"]
        if SECRET_KEY_FILE in manifest["files"]:
            os.replace(staging / SECRET_KEY_FILE, data_dir / SECRET_KEY_FILE)
            os.chmod(data_dir / SECRET_KEY_FILE, 0o600)
        os.sync()
        if dialect == "sqlite":
            _restore_sqlite(staging / db["file"], database_url, force)
        else:
            _restore_postgresql(staging / db["file"], database_url, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _check_objects(attachments: dict[str, Any], inside: dict[str, Any],
                   target: AnyStore) -> int:
    """Every object the manifest names that the archive does not hold must be in ``target``
    whole (its size; its name is its sum, and stores never change an object): how many are.
    Raises ``restore.mismatch`` naming the missing ones."""
    missing: list[str] = []
    present = 0
    for digest, entry in sorted(attachments.get("objects", {}).items()):
        if digest in inside:
            continue
        if target.size(digest) == entry["size"]:
            present += 1
        else:
            missing.append(digest)
    if missing:
        shown = ", ".join(_key_in(target, d) for d in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise problems.restore_mismatch(
            f"{len(missing)} of its {len(attachments['objects'])} attachments are not in "
            f"{target} (it refers to them in {attachments.get('store')} and does not hold "
            f"them): {shown}{more}. Point BLOB_STORE at a store holding them, copy them there "
            "first, or restore a backup made with --with-attachments")
    return present


def _key_in(store: AnyStore, digest: str) -> str:
    return store.key(digest) if hasattr(store, "key") else str(store.path(digest))


def _refuse_if_not_empty(dialect: str, database_url: str, data_dir: Path,
                         target: AnyStore) -> None:
    tables = (_sqlite_tables(database_url) if dialect == "sqlite"
              else _postgresql_tables(database_url))
    if tables:
        raise problems.restore_not_empty(f"the database ({_shown(database_url)}) has {tables} "
                                         f"table{'s' if tables != 1 else ''}")
    # A bucket may well hold the backup's objects already: that is how they are restored.
    blobs = target.root if isinstance(target, BlobStore) else None
    if blobs is not None and blobs.is_dir() and any(p.is_file() for p in blobs.rglob("*")):
        raise problems.restore_not_empty(f"the data folder ({data_dir}) holds attachments")


def _shown(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def _sqlite_tables(database_url: str) -> int:
    path = _sqlite_path(database_url)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return 1  # a file that is not a database is not empty either


_USER_RELATIONS = text(
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")


def _postgresql_tables(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(_USER_RELATIONS).scalar_one()
    except Exception as exc:
        raise problems.restore_mismatch(f"the database could not be reached: {exc}") from None
    finally:
        engine.dispose()


def _unpack(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack every member into ``staging`` (only the names a backup has, only plain files),
    hashing as it goes, and check them against the manifest; the manifest, once all agree."""
    found: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    shown = str(archive)
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                name = member.name
                if not member.isfile():
                    raise problems.backup_damaged(shown, f"'{name}' is not a plain file")
                if name != MANIFEST and not (_BLOB_MEMBER.fullmatch(name) or name == SECRET_KEY_FILE
                                             or name in DATABASE_FILES.values()):
                    raise problems.backup_damaged(shown, f"it holds an unexpected file '{name}'")
                if name in found or (name == MANIFEST and manifest_bytes is not None):
                    raise problems.backup_damaged(shown, f"it holds '{name}' twice")
                source = tar.extractfile(member)
                assert source is not None  # a plain file
                if name == MANIFEST:
                    manifest_bytes = source.read()
                    continue
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                reader = _Reader(source)
                with open(target, "wb") as out:
                    while chunk := reader.read(_CHUNK):
                        out.write(chunk)
                if reader.size != member.size:
                    raise problems.backup_damaged(shown, f"'{name}' is cut short")
                found[name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
    except (tarfile.TarError, EOFError) as exc:
        raise problems.backup_damaged(shown, f"the archive cannot be read: {exc}") from None
    if manifest_bytes is None:
        raise problems.backup_damaged(shown, f"it has no {MANIFEST}: the file is incomplete")
    try:
        manifest = json.loads(manifest_bytes)
        listed = manifest["files"]
        database = manifest["database"]
        manifest["attachments"]  # noqa: B018 (present in every version-1 manifest)
    except (ValueError, KeyError, TypeError):
        raise problems.backup_damaged(shown, f"its {MANIFEST} cannot be read") from None
    if manifest.get("format") != FORMAT:
        raise problems.backup_damaged(shown, "it is not a Sangjog backup")
    if manifest.get("version") != FORMAT_VERSION:
        raise problems.restore_mismatch(f"it is in backup format {manifest.get('version')}, "
                                        f"which this version of Sangjog does not read")
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise problems.backup_damaged(shown, f"'{name}' is missing")
        if name not in listed:
            raise problems.backup_damaged(shown, f"'{name}' is not in the manifest")
        if found[name] != listed[name]:
            raise problems.backup_damaged(shown, f"the sha256 of '{name}' does not match the "
                                                 "manifest")
    if database.get("file") not in found:
        raise problems.backup_damaged(shown, "it holds no database")
    return manifest


def _check_revision(revision: str | None) -> None:
    if revision is None:
        return
    try:
        ScriptDirectory(str(MIGRATIONS)).get_revision(revision)
    except Exception:
        raise problems.restore_mismatch(
            f"its database is at migration {revision}, which this version of Sangjog does not "
            "know: restore it with the version that made it, or a newer one") from None


def _restore_sqlite(dump: Path, database_url: str, force: bool) -> None:
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if force or _sqlite_tables(database_url) == 0:
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
    # A rename on the same disk; a copy (then a rename) to another.
    temp = target.with_name(f".{target.name}.restoring")
    shutil.move(dump, temp)
    with open(temp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(temp, target)
    _fsync_dir(target.parent)


def _restore_postgresql(dump: Path, database_url: str, force: bool) -> None:
    if force:
        engine = make_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
    # One transaction: a failure leaves the database as it was.
    _run_pg("pg_restore", database_url, ["--no-owner", "--no-privileges", "--single-transaction",
                                         "--exit-on-error", str(dump)], problems.restore_failed)

