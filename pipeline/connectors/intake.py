"""One remote submission into our store: skip what we already hold, fetch and ingest the rest,
and carry the remote review state over.

Shared by the KoBo and Central pulls. A submission whose instanceID is already stored (from
Collect, another source or an earlier pull) is not downloaded again, so each one is stored once
whichever way it arrives first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import ingest, problems, rawstore
from pipeline.db import end_read, write_transaction
from pipeline.models import AuditEvent, Source, Submission
from pipeline.problems import Problem
from pipeline.storage import BlobStore

from .runs import Run

# Remote review states we carry over; "received" (no review yet) never undoes a local review.
CARRIED_STATES = ("approved", "has_issues", "rejected")


@dataclass
class Remote:
    """A submission as the remote listing shows it, before its XML is fetched."""

    ref: str  # KoBo _id, Central __id
    instance_id: str | None  # the current version's instanceID, when the listing says
    review_state: str | None  # in our words (approved, has_issues, ...)
    received_at: datetime | None
    submitter: str | None


def stored(session: Session, instance_id: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.instance_id == instance_id))


def take(session: Session, blobs: BlobStore, run: Run, source: Source, remote: Remote,
         fetch: Callable[[], tuple[bytes, dict[str, bytes]]], *, count_known: bool = True,
         adapt: Callable[[bytes], bytes] | None = None) -> str:
    """Bring one remote submission in; returns created|edited|attachments_added|reviewed|known
    (or refused|damaged).

    ``count_known=False`` (for re-checks) leaves unchanged submissions out of the skipped count;
    ``adapt`` turns the fetched XML into an instance of our form (KoBo renames the root).
    A refusal by the raw store is counted on the run and the pull goes on; so is a file that
    arrived damaged (``damaged``: nothing stored, fetched again at the next pull); a transport
    failure (raised by ``fetch``) ends the pull, to be resumed from the cursor.
    """
    existing = stored(session, remote.instance_id) if remote.instance_id else None
    complete = existing is not None and _complete(existing)
    end_read(session)  # the ingest below writes in a transaction of its own
    if existing is not None and complete:
        return _reviewed_or_known(session, run, source, existing, remote.review_state, count_known)
    try:
        xml, files = fetch()
    except Problem as problem:
        if problem.code != "connector.attachment_damaged":
            raise  # a transport failure: the pull stops, to resume from its cursor
        run.damaged_file(remote.instance_id or remote.ref, remote.ref, problem.message)
        return "damaged"
    try:
        if existing is not None:
            # Held already, but without some of its files: the remote copy brings them, under
            # the names our stored XML gives (its bytes may differ from the remote's dialect).
            xml = existing.xml
        elif adapt:
            xml = adapt(xml)
        envelope = rawstore.read_envelope(xml)
        if envelope.form_id != source.form.xml_form_id:
            raise problems.remote_form_mismatch(envelope.form_id, source.form.xml_form_id)
        outcome = ingest.accept(session, blobs, ingest.Incoming(
            xml=xml, files=files, source=source.kind, source_ref=remote.ref,
            submitter=remote.submitter, received_at=remote.received_at,
            review_state=remote.review_state if remote.review_state in CARRIED_STATES else None,
        ), load=False)
    except Problem as problem:
        end_read(session)
        run.error(remote.instance_id or remote.ref, problem.message)
        return "refused"
    run.stored_ids.append(outcome.submission_id)  # loaded by ``load_stored``, a batch at a time
    if outcome.status == "duplicate":
        return _reviewed_or_known(session, run, source, outcome.submission, remote.review_state,
                                  count_known)
    if outcome.status == "created":
        run.new += 1
    else:
        run.updated += 1
    if outcome.is_new and remote.review_state in CARRIED_STATES:
        sub = outcome.submission
        with write_transaction(session):
            _record_remote_review(session, source, sub, None, remote.review_state)
    return outcome.status


FETCH_WORKERS = 4  # downloads under way at once during a pull (a page's XML and files)
Fetch = Callable[[], tuple[bytes, dict[str, bytes]]]


class Prefetch:
    """A pull's downloads ahead of storing: for each page, the submissions not held yet are
    fetched ``FETCH_WORKERS`` at a time (their files with them) while earlier ones are stored.
    The HTTP client's session is shared by the workers (its connection pool keeps them alive)."""

    def __init__(self, workers: int = FETCH_WORKERS) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull-fetch")
        self.futures: dict[str, Future[Any]] = {}

    def start(self, session: Session, items: list[tuple[str | None, str, Callable[[], Any]]]) -> None:
        """``items``: (instanceID if the listing says, ref, download) for one page."""
        for _iid, ref, download in self.not_held(session, items):
            self.submit(ref, download)

    @staticmethod
    def not_held(session: Session, items: list[tuple[str | None, str, Any]]) -> list[Any]:
        """The ``items`` (instanceID if the listing says, ref, anything) not stored yet: one
        query for a page."""
        ids = [iid for iid, _ref, _thing in items if iid]
        held = set(session.scalars(select(Submission.instance_id)
                                   .where(Submission.instance_id.in_(ids)))) if ids else set()
        end_read(session)
        return [item for item in items if not item[0] or item[0] not in held]

    def submit(self, ref: str, download: Callable[[], Any]) -> Future[Any]:
        self.futures[ref] = future = self.pool.submit(download)
        return future

    def get(self, ref: str, download: Callable[[], Any]) -> Callable[[], Any]:
        """The download of ``ref``: its result if it was started, else ``download`` itself."""
        future = self.futures.pop(ref, None)
        return future.result if future is not None else download

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        self.futures.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)


def save(session: Session, run: Run, source: Source | None = None,
         cursor: dict | None = None) -> None:
    """End of a page: load what was stored, then write the counts and the cursor (one commit;
    the claim's heartbeat with them)."""
    load_stored(session, run)
    if cursor is not None and (run.damaged or "damaged" in cursor):
        cursor["damaged"] = list(run.damaged)  # fetched again at the next pull
    run.checkpoint(source, cursor)


@contextmanager
def saved_on_failure(session: Session, run: Run, source: Source,
                     cursor: dict) -> Iterator[None]:
    """A pull that stops on a ``Problem`` (server down, a bad page) first loads what it stored
    and keeps its cursor where the last stored submission left it, so the next pull resumes
    there."""
    try:
        yield
    except Problem as problem:
        if problem.code != "source.pull_taken_over":
            save(session, run, source, cursor)
        raise


def load_stored(session: Session, run: Run) -> None:
    """Load what this run stored since the last call into the warehouse, as one batch, and
    count each as loaded or not loaded (the loader's reason in the run's message)."""
    ids, run.stored_ids = run.stored_ids, []
    _load_and_count(session, run, ids, retrying=False)


def retry_unloaded(session: Session, run: Run, source: Source) -> None:
    """Load again what earlier pulls of this source stored but could not load (a form version
    published since, a fix) or did not get to load (cut off): counted on this run as loaded or,
    still, not loaded. Submissions an admin dismissed (``parse_status = 'dismissed'``) are left
    alone."""
    mine = (Submission.form_id == source.form_id) & (Submission.source == source.kind)
    waiting = list(session.scalars(select(Submission.id).where(
        mine, Submission.parse_status.in_(("failed", "pending")))))
    end_read(session)
    if waiting:
        _load_and_count(session, run, waiting, retrying=True)
        run.checkpoint()


def _load_and_count(session: Session, run: Run, ids: list[int], *, retrying: bool) -> None:
    """Load ``ids`` (new ones, or with ``retrying`` through ``loader.retry``, the one retry the
    Sync health page uses too) and count the outcome on the run."""
    from pipeline import loader

    if not ids:
        return
    end_read(session)
    if retrying:
        loader.retry(session, ids)
    else:
        loader.load_pending(session, only=Submission.id.in_(ids))
    rows = session.execute(select(Submission.instance_id, Submission.parse_status,
                                  Submission.parse_error).where(Submission.id.in_(ids))).all()
    end_read(session)
    for instance_id, status, error in rows:
        if status == "ok":
            run.loaded += 1
        elif status == "failed":
            run.not_loaded(instance_id, error)


def _complete(sub: Submission) -> bool:
    return len(sub.attachments) >= sub.attachments_expected


def _reviewed_or_known(session: Session, run: Run, source: Source, sub: Submission,
                       state: str | None, count_known: bool) -> str:
    if carry_review(session, source, sub, state):
        run.updated += 1
        return "reviewed"
    run.skipped += count_known
    return "known"


def carry_review(session: Session, source: Source, sub: Submission, state: str | None) -> bool:
    """Apply a remote review state when it changed on the remote side since we last saw it.

    A local supervisor's later review stands until the remote state changes again.
    """
    if state not in CARRIED_STATES or state == sub.review_state:
        return False
    if state == _last_remote_state(session, source, sub):
        return False
    from pipeline import warehouse

    with write_transaction(session):
        previous = sub.review_state
        sub.review_state = state
        warehouse.set_review_state(session.connection(), sub.id, state)
        _record_remote_review(session, source, sub, previous, state)
    return True


def _actor(source: Source) -> str:
    return f"source:{source.name}"


def _last_remote_state(session: Session, source: Source, sub: Submission) -> str | None:
    details = session.scalar(
        select(AuditEvent.details)
        .where(AuditEvent.submission_id == sub.id, AuditEvent.actor == _actor(source),
               AuditEvent.action == "submission.review")
        .order_by(AuditEvent.id.desc()).limit(1)
    )
    return (details or {}).get("remote_state")


def _record_remote_review(session: Session, source: Source, sub: Submission,
                          previous: str | None, state: str) -> None:
    """In the caller's write transaction."""
    session.add(AuditEvent(
        actor=_actor(source), action="submission.review", submission_id=sub.id,
        form_id=sub.form_id, from_state=previous, to_state=state,
        comment=f"Review state carried over from {source.kind} source '{source.name}'.",
        details={"instance_id": sub.instance_id, "remote_state": state},
    ))
