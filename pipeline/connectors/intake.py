"""One remote submission into our store: skip what we already hold, fetch and ingest the rest,
and carry the remote review state over.

Shared by the KoBo and Central pulls. A submission whose instanceID is already stored (from
Collect, another source or an earlier pull) is not downloaded again, so each one is stored once
whichever way it arrives first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import ingest, problems, rawstore
from pipeline.db import begin_write, write_transaction
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
    """Bring one remote submission in; returns created|edited|attachments_added|reviewed|known.

    ``count_known=False`` (for re-checks) leaves unchanged submissions out of the skipped count;
    ``adapt`` turns the fetched XML into an instance of our form (KoBo renames the root).
    A refusal by the raw store is counted on the run and the pull goes on; a transport failure
    (raised by ``fetch``) ends the pull, to be resumed from the cursor.
    """
    existing = stored(session, remote.instance_id) if remote.instance_id else None
    complete = existing is not None and _complete(existing)
    session.commit()  # end the read, so the ingest below starts its own write transaction
    if existing is not None and complete:
        return _reviewed_or_known(session, run, source, existing, remote.review_state, count_known)
    xml, files = fetch()
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
        ))
    except Problem as problem:
        session.rollback()
        run.error(remote.instance_id or remote.ref, problem.message)
        return "refused"
    if outcome.status == "duplicate":
        return _reviewed_or_known(session, run, source, outcome.submission, remote.review_state,
                                  count_known)
    if outcome.status == "created":
        run.new += 1
    else:
        run.updated += 1
    if outcome.is_new and remote.review_state in CARRIED_STATES:
        _record_remote_review(session, source, outcome.submission, None, remote.review_state)
    return outcome.status


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
        _record_remote_review(session, source, sub, previous, state, commit=False)
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
                          previous: str | None, state: str, *, commit: bool = True) -> None:
    if commit:
        begin_write(session)
    session.add(AuditEvent(
        actor=_actor(source), action="submission.review", submission_id=sub.id,
        form_id=sub.form_id, from_state=previous, to_state=state,
        comment=f"Review state carried over from {source.kind} source '{source.name}'.",
        details={"instance_id": sub.instance_id, "remote_state": state},
    ))
    if commit:
        session.commit()
