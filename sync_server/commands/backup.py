"""``sangjog backup`` and ``sangjog restore``: the whole server in one file, and back.

Neither starts the app: a backup taken before an upgrade must not migrate the database first,
and a restore needs the database and data folder as empty as it found them. Both read the same
settings as the server (``DATABASE_URL``, ``SANGJOG_DATA_DIR``). See docs/deploy.md#backups.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from pipeline import backup as backups
from pipeline import problems
from pipeline.problems import Problem

from .. import config


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the backup to this file (a tar archive).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write it into this folder as sangjog-YYYYMMDD-HHMMSS.tar (UTC).")
@click.option("--keep", type=click.IntRange(min=1),
              help="With --dir: then delete all but the newest N backups there.")
@click.option("--every", type=click.FloatRange(min=0, min_open=True), metavar="HOURS",
              help="With --dir: keep running, one backup every HOURS, until stopped.")
@click.option("--if-migrating", is_flag=True,
              help="Only when starting this version will migrate the database (an upgrade): "
                   "the systemd unit's ExecStartPre.")
@click.option("--with-attachments", is_flag=True,
              help="With BLOB_STORE=s3://…: copy the attachments into the backup too (by "
                   "default they stay in the bucket and the backup lists them by sha256).")
def command(output: Path | None, folder: Path | None, keep: int | None,
            every: float | None, if_migrating: bool, with_attachments: bool) -> None:
    """Back up the database, attachments and secret key while the server runs."""
    if (output is None) == (folder is None):
        raise click.UsageError("Give either -o FILE or --dir FOLDER.")
    if folder is None and (keep or every):
        raise click.UsageError("--keep and --every need --dir FOLDER.")
    if if_migrating and every:
        raise click.UsageError("--if-migrating makes one backup, not one --every HOURS.")
    with _stoppable() as busy:
        _backup(output, folder, keep, every, if_migrating, busy, with_attachments)


@contextmanager
def _stoppable() -> Iterator[list[bool]]:
    """SIGTERM (systemctl stop) and Ctrl-C end the command where it is, so that an unfinished
    backup's temporary files are removed on the way out; while ``busy[0]`` is false (waiting for
    the next round), they end it quietly."""
    busy = [True]

    def stop(*_: object) -> None:
        raise SystemExit("Stopped: the unfinished backup was removed." if busy[0] else 0)

    if threading.current_thread() is not threading.main_thread():
        yield busy
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield busy
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _backup(output: Path | None, folder: Path | None, keep: int | None, every: float | None,
            if_migrating: bool, busy: list[bool], with_attachments: bool = False) -> None:
    database_url, data_dir = config.locations()
    if if_migrating:
        try:
            pending = backups.migrations_pending(database_url)
        except Problem as problem:
            raise click.ClickException(problem.message) from None
        if not pending:
            click.echo("No migration to run: no backup needed before starting.")
            return
        click.echo("This version will migrate the database: backing it up first.")
    if output is not None:
        _once(database_url, data_dir, output, inside=with_attachments)
        return
    assert folder is not None
    if every is None:
        _once(database_url, data_dir, backups.timestamped(folder), folder, keep,
                  inside=with_attachments)
        return
    click.echo(f"Backing up every {every:g} hours into {folder} (Ctrl-C stops).")
    while True:
        started = time.monotonic()
        busy[0] = True
        try:
            _once(database_url, data_dir, backups.timestamped(folder), folder, keep,
                  inside=with_attachments)
        except click.ClickException as exc:  # reported; the next round tries again
            click.echo(f"Error: {exc.message}", err=True)
        busy[0] = False
        pause = max(0.0, every * 3600 - (time.monotonic() - started))
        following = datetime.now(UTC) + timedelta(seconds=pause)
        click.echo(f"Next backup at {following:%Y-%m-%d %H:%M} UTC.")
        time.sleep(pause)  # a signal ends it


def _once(database_url: str, data_dir: Path, output: Path, folder: Path | None = None,
          keep: int | None = None, *, inside: bool = False) -> None:
    try:
        made = backups.backup(database_url, data_dir, output, store=_store(data_dir),
                              with_attachments=inside)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    except OSError as exc:
        raise click.ClickException(f"The backup was not made: {exc}") from None
    click.echo(f"Backup written: {made.path} ({_mb(made.size)}, {made.seconds:.1f} s): "
               f"{made.submissions} submissions, {made.attachments} attachments "
               f"({made.blobs} files, {_mb(made.blob_bytes)}).")
    _warn(made)
    if folder is not None and keep:
        for old in backups.rotate(folder, keep):
            click.echo(f"Deleted old backup {old.name}.")


def _warn(made: backups.Summary) -> None:
    if made.missing:
        click.echo(f"Warning: {len(made.missing)} attachment file(s) the database refers to were "
                   f"not in the attachment folder, e.g. {made.missing[0]}.", err=True)
    if made.damaged:
        click.echo(f"Warning: {len(made.damaged)} attachment file(s) no longer match their sha256 "
                   f"(damaged on disk), e.g. {made.damaged[0]}.", err=True)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace the database and secret key even when they are not empty "
                   "(stop the server first).")
def restore(archive: Path, force: bool) -> None:
    """Restore a backup into an empty database and data folder, checking every sha256."""
    database_url, data_dir = config.locations()
    try:
        pid = _running_server(data_dir)
        if pid is not None:
            raise problems.restore_server_running(pid)
        store = _store(data_dir)
        done = backups.restore(archive, database_url, data_dir, force=force, store=store)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(f"Restored {archive} ({done.seconds:.1f} s): {done.submissions} submissions, "
               f"{done.attachments} attachments ({done.blobs} files, {_mb(done.blob_bytes)}), "
               "every sha256 checked.")
    if done.in_store:
        click.echo(f"{done.in_store} attachments the backup refers to are in {store}.")
    if done.missing:
        click.echo(f"Warning: {len(done.missing)} attachment file(s) were already missing when "
                   "the backup was made.", err=True)
    click.echo("Start the server: it brings the database to this version's migrations first.")
    sys.stdout.flush()


def _running_server(data_dir: Path) -> int | None:
    """The process of a ``sangjog serve`` running on this data folder (from the pid file it keeps
    there, ``sync_server/commands/serve.py``), if any; a file left by a killed server is ignored."""
    try:
        pid = int((data_dir / "server.pid").read_text().strip())
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    ours = b"gunicorn" in command_line or b"sangjog" in command_line
    return pid if ours and pid != os.getpid() else None


def _store(data_dir: Path):
    """The attachment store the settings name (``BLOB_STORE``), without starting the app."""
    from pipeline.storage import open_store

    return open_store(os.environ.get("BLOB_STORE"), data_dir,
                      endpoint_url=os.environ.get("BLOB_STORE_ENDPOINT_URL"))
