"""Every pull and import is a ``PullRun`` row, for the admins' sync health page.

Counts are kept in memory and written at checkpoints: an ingest that is refused rolls its own
transaction back, and must not take the run's counts with it.

One pull per source at a time: ``start`` claims the source (``pipeline.claims`` on
``sources.pull_run_id``/``pull_heartbeat``/``pull_owner``, atomic across processes and servers):
a second pull of the same source is refused (``source.pull_running``) before it records
anything. Every checkpoint refreshes the heartbeat; ``finish`` releases the claim. A claim whose
heartbeat is older than ``CLAIM_TIMEOUT`` belongs to a pull that died (process killed, machine
off) and is taken over; so is, at once, a claim whose owner is on this machine and no longer
runs, and any claim when the admin says ``force``. The pull it belonged to, if it was only slow,
finds out at its next checkpoint and stops (``source.pull_taken_over``) without moving the
cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline import claims, problems
from pipeline.claims import describe_owner
from pipeline.db import end_read, write_transaction
from pipeline.models import PullRun, Source, utcnow
from pipeline.problems import Problem

MAX_NOTES = 20  # error lines kept in a run's message; the count says how many there were
# A claim not refreshed for this long is taken over. Checkpoints come after every submission;
# the longest quiet stretch is one submission's downloads with their retries.
CLAIM_TIMEOUT = timedelta(minutes=15)
PULL_CLAIM = claims.Claimable(Source, Source.pull_run_id, Source.pull_heartbeat, Source.pull_owner)


def pull_running(name: str, since: datetime | None, claimed_by: str | None = None,
                 heartbeat: datetime | None = None) -> Problem:
    when = ""
    if since:
        minutes = int((utcnow() - _aware(since)).total_seconds() // 60)
        when = f" since {since:%H:%M} UTC ({minutes} min)"
    alive = ""
    if heartbeat:
        alive = f", last heard of {int((utcnow() - _aware(heartbeat)).total_seconds())} s ago"
    return problems.pull_running(name, when, describe_owner(claimed_by) + alive)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=utcnow().tzinfo)


def pull_taken_over(name: str) -> Problem:
    return problems.pull_taken_over(name, int(CLAIM_TIMEOUT.total_seconds() // 60))


@dataclass
class Run:
    """A run in progress: its row, and the counts so far."""

    session: Session
    row: PullRun
    source: Source | None = None
    new: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    loaded: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    stored_ids: list[int] = field(default_factory=list)  # stored, not yet loaded (a batch)
    damaged: list[str] = field(default_factory=list)  # refs to fetch again at the next pull

    def damaged_file(self, ref: str, remote_ref: str, message: str) -> None:
        """A remote submission not stored because a file of it arrived damaged: counted as
        not loaded, and fetched again at the next pull (``damaged``, kept in the cursor)."""
        self.failed += 1
        self._note(f"{ref}: {message}")
        if remote_ref not in self.damaged:
            self.damaged.append(remote_ref)

    def error(self, ref: str, message: str) -> None:
        """A remote submission refused: not stored."""
        self.errors += 1
        self._note(f"{ref}: {message}")

    def not_loaded(self, ref: str, message: str | None) -> None:
        """A submission stored but not loaded into the warehouse (retried by the next pull)."""
        self.failed += 1
        self._note(f"{ref}: stored, not loaded: {message or 'no reason given'}")

    def _note(self, line: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(line)

    @property
    def complete(self) -> bool:
        """Everything this run found is stored and loaded."""
        return not self.errors and not self.failed

    def checkpoint(self, source: Source | None = None, cursor: dict | None = None) -> None:
        """Write the counts (and the source's cursor, if given) in one commit; refresh the claim.

        Raises ``source.pull_taken_over`` (writing nothing) if another pull took the source.
        """
        with write_transaction(self.session):
            if self.source is not None and not self._refresh_claim():
                raise pull_taken_over(self.source.name)  # rolls the transaction back
            self._write()
            if source is not None and cursor is not None:
                source.cursor = dict(cursor)  # a new dict, so the JSON column sees the change
        _forget_claim(self.session, self.source)

    def finish(self, status: str = "ok", message: str | None = None) -> PullRun:
        """Record the outcome and release the source (if this run still holds it). A run that
        ends "ok" with submissions refused or not loaded is recorded as "incomplete"."""
        # Recovery: whatever the work left in the session when it failed (a half-flushed write,
        # a transaction the database gave up on) is not ours to keep; the record is written anew.
        self.session.rollback()
        with write_transaction(self.session):
            self._write()
            self.row.status = "incomplete" if status == "ok" and not self.complete else status
            self.row.finished_at = utcnow()
            lines = ([message] if message else []) + self.notes
            if self.errors + self.failed > len(self.notes):
                lines.append(f"... and {self.errors + self.failed - len(self.notes)} more")
            self.row.message = "\n".join(lines) or None
            if self.source is not None:
                claims.release(self.session, PULL_CLAIM, Source.id == self.source.id, self.row.id)
        _forget_claim(self.session, self.source)
        return self.row

    def _refresh_claim(self) -> bool:
        """Move the heartbeat on, if this run still holds its source."""
        assert self.source is not None
        return claims.refresh(self.session, PULL_CLAIM, Source.id == self.source.id, self.row.id)

    def _write(self) -> None:
        row = self.row
        row.new, row.updated, row.skipped, row.errors = (
            self.new, self.updated, self.skipped, self.errors)
        row.loaded, row.failed = self.loaded, self.failed


def start(session: Session, kind: str, source: Source | None = None, *,
          force: bool = False) -> Run:
    """Open a run; for a source, claim it first (``source.pull_running`` if another pull holds
    it; ``force`` takes it whatever holds it). An older run of the same source still marked
    running was cut off."""
    end_read(session)
    with write_transaction(session):
        if source is not None:
            _claim(session, source, force)
            session.execute(
                update(PullRun)
                .where(PullRun.source_id == source.id, PullRun.status == "running")
                .values(status="failed", finished_at=utcnow(),
                        message="Interrupted before it finished; the next pull resumed from "
                                "its cursor.")
            )
        row = PullRun(kind=kind, source_id=source.id if source is not None else None,
                      started_at=utcnow(), status="running")
        session.add(row)
        session.flush()
        if source is not None:
            session.execute(update(Source).where(Source.id == source.id)
                            .values(pull_run_id=row.id)
                            .execution_options(synchronize_session=False))
    _forget_claim(session, source)
    return Run(session, row, source)


def _forget_claim(session: Session, source: Source | None) -> None:
    """The claim is written by conditional UPDATEs: reload it when next read."""
    if source is not None and source in session:
        session.expire(source, ["pull_run_id", "pull_heartbeat", "pull_owner"])


def _claim(session: Session, source: Source, force: bool = False) -> None:
    """Take the source in this (write) transaction (its run id is set once the run's row is
    written, in the same transaction), or raise ``source.pull_running``."""
    holder = claims.take(session, PULL_CLAIM, Source.id == source.id, None,
                         timeout=CLAIM_TIMEOUT, force=force)
    if holder is None:
        return
    since = session.scalar(select(PullRun.started_at).where(PullRun.id == holder.pull_run_id))
    raise pull_running(source.name, since or holder.pull_heartbeat, holder.pull_owner,
                       holder.pull_heartbeat)


class _Client(Protocol):
    def redact(self, text: str) -> str: ...
    def close(self) -> None: ...


def carry_out(session: Session, kind: str, source: Source, client: _Client,
              work: Callable[[Run], None], *, close_client: bool, force: bool = False) -> PullRun:
    """One pull of ``source`` as a recorded run: claim it, do ``work``, record how it ended.

    A ``Problem`` ends the run as failed (the pull is resumed next time); a crash or Ctrl-C is
    recorded, then re-raised. A refused claim (``source.pull_running``) is raised before
    anything is recorded. ``close_client`` closes the HTTP client at the end, whatever happens.
    """
    try:
        run = start(session, kind, source, force=force)
        try:
            work(run)
        except Problem as problem:
            return run.finish("failed", client.redact(problem.message))
        except BaseException as exc:  # a crash or Ctrl-C is recorded, then re-raised
            run.finish("failed", "Stopped by Ctrl-C; the next pull resumes from here."
                       if isinstance(exc, KeyboardInterrupt)
                       else client.redact(f"Unexpected error: {type(exc).__name__}"))
            raise
        return run.finish("ok")
    finally:
        if close_client:
            client.close()


def recent(session: Session, limit: int = 50, source: Source | None = None) -> list[PullRun]:
    """The latest runs, newest first (the sync health page)."""
    query = select(PullRun).order_by(PullRun.id.desc()).limit(limit)
    if source is not None:
        query = query.where(PullRun.source_id == source.id)
    return list(session.scalars(query))
