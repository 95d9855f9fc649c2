"""Every pull and import is a ``PullRun`` row, for the admins' sync health page.

Counts are kept in memory and written at checkpoints: an ingest that is refused rolls its own
transaction back, and must not take the run's counts with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.db import begin_write
from pipeline.models import PullRun, Source, utcnow

MAX_NOTES = 20  # error lines kept in a run's message; the count says how many there were


@dataclass
class Run:
    """A run in progress: its row, and the counts so far."""

    session: Session
    row: PullRun
    new: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)

    def error(self, ref: str, message: str) -> None:
        self.errors += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{ref}: {message}")

    def checkpoint(self, source: Source | None = None, cursor: dict | None = None) -> None:
        """Write the counts (and the source's cursor, if given) in one commit."""
        begin_write(self.session)
        self._write()
        if source is not None and cursor is not None:
            source.cursor = dict(cursor)  # a new dict, so the JSON column sees the change
        self.session.commit()

    def finish(self, status: str = "ok", message: str | None = None) -> PullRun:
        self.session.rollback()  # whatever failed mid-way is not ours to keep
        begin_write(self.session)
        self._write()
        self.row.status = status
        self.row.finished_at = utcnow()
        lines = ([message] if message else []) + self.notes
        if self.errors > len(self.notes):
            lines.append(f"... and {self.errors - len(self.notes)} more")
        self.row.message = "\n".join(lines) or None
        self.session.commit()
        return self.row

    def _write(self) -> None:
        row = self.row
        row.new, row.updated, row.skipped, row.errors = (
            self.new, self.updated, self.skipped, self.errors)


def start(session: Session, kind: str, source: Source | None = None) -> Run:
    """Open a run; an older run of the same source still marked running was cut off."""
    session.commit()
    begin_write(session)
    if source is not None:
        session.execute(
            update(PullRun)
            .where(PullRun.source_id == source.id, PullRun.status == "running")
            .values(status="failed", finished_at=utcnow(),
                    message="Interrupted before it finished; the next pull resumed from its cursor.")
        )
    row = PullRun(kind=kind, source_id=source.id if source is not None else None,
                  started_at=utcnow(), status="running")
    session.add(row)
    session.commit()
    return Run(session, row)


def recent(session: Session, limit: int = 50, source: Source | None = None) -> list[PullRun]:
    """The latest runs, newest first (the sync health page)."""
    query = select(PullRun).order_by(PullRun.id.desc()).limit(limit)
    if source is not None:
        query = query.where(PullRun.source_id == source.id)
    return list(session.scalars(query))
