"""``sangjog pipeline``: rebuild the warehouse, load pending submissions, show load status."""

from __future__ import annotations

import os
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from pipeline import loader
from pipeline import rebuild as rebuilding

from ..db import get_session

FOLLOW_NICENESS = 10  # the loader process's CPU priority below the web workers (``nice``)


@click.group("pipeline", cls=AppGroup)  # AppGroup: each command runs in an app context
def command() -> None:
    """The warehouse: typed tables built from the raw submissions."""


@command.command("rebuild")
@click.option("--form", "form_id", help="Rebuild only this form (its form_id).")
@click.option("--batch-size", default=rebuilding.BATCH_SIZE, show_default=True,
              help="Submissions parsed and written per batch.")
def rebuild(form_id: str | None, batch_size: int) -> None:
    """Drop and recreate the warehouse tables from the raw store."""
    session = get_session()
    total = rebuilding.count_current(session, form_id)  # the rebuild ends this read
    with tqdm(total=total, unit="sub", disable=None) as bar:
        results = rebuilding.rebuild(session, form_id, batch_size, on_progress=bar.update)
    for result in results:
        failed = f", {result.failed} failed (see 'sangjog pipeline status')" if result.failed else ""
        click.echo(f"{result.form}: {result.loaded} loaded{failed}")


@command.command("process")
@click.option("--limit", type=int, help="Load at most this many.")
@click.option("--retry-failed", is_flag=True, help="Also retry submissions that failed before.")
def process(limit: int | None, retry_failed: bool) -> None:
    """Load submissions still pending (stored but not yet in the warehouse)."""
    result = loader.load_pending(get_session(), limit=limit, include_failed=retry_failed)
    click.echo(f"{result.ok} loaded, {result.failed} failed")


@command.command("follow")
@click.option("--interval", default=loader.GATHER_SECONDS, show_default=True,
              type=click.FloatRange(min=0.01), help="Seconds between looks for new uploads.")
@click.option("--stop-after", type=click.FloatRange(min=0),
              help="Stop after this many seconds (default: run until stopped).")
def follow(interval: float, stop_after: float | None) -> None:
    """Load uploads into the warehouse as they arrive, in batches (`sangjog serve` runs this
    next to its workers; stop it with Ctrl-C or SIGTERM)."""
    stopping = threading.Event()
    # Until it returns (then the caller's own handlers again: run in-process, as by a test,
    # Ctrl-C must not stay a request to stop a loader that is gone).
    previous = {signum: signal.signal(signum, lambda *_: stopping.set())
                for signum in (signal.SIGTERM, signal.SIGINT)}
    # Below the web workers: in a burst, uploads are answered first and loaded right after
    # (pages and downloads load what is pending themselves, at the readers' own priority).
    os.nice(FOLLOW_NICENESS)
    try:
        loaded = loader.follow(current_app.extensions["sessions"], stopping, interval, stop_after)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"{loaded} loaded")


@command.command("status")
def status() -> None:
    """Submissions per form by load status, and why failed ones failed."""
    forms = rebuilding.status(get_session())
    if not forms:
        click.echo("No forms.")
        return
    for entry in forms:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(entry.by_status.items()))
        click.echo(f"{entry.form}: {entry.current} current of {entry.submissions} stored"
                   + (f" ({counts})" if counts else ""))
        for submission_id, instance_id, code, message in entry.failures:
            click.echo(f"  failed #{submission_id} {instance_id}: [{code}] {message}")
