"""Supervisors' review of submissions: approved, has issues or rejected, with a comment.

One call reviews one or many submissions in one transaction: the raw row's ``review_state``, the
warehouse row's ``_review_state`` and an append-only ``AuditEvent`` per submission (who, when,
from which state, to which, why) are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import problems
from .db import write_transaction
from .models import AuditEvent, Submission
from .scope import Scope

# States a reviewer may set; ``received`` and ``edited`` are set by the system.
REVIEW_CHOICES = ("approved", "has_issues", "rejected")
# A rejection or an issue must say why, so the enumerator knows what to fix.
NEEDS_COMMENT = ("has_issues", "rejected")
MAX_BATCH = 500


def set_review(session: Session, submission_ids: Iterable[int], state: str, comment: str | None,
               actor: str, *, scope: Scope | None = None) -> list[Submission]:
    """Set the review state of every submission in ``submission_ids``; all or nothing.

    With ``scope``, a submission outside it is refused as not found (its existence is not
    revealed). Raises ``Problem`` for an unknown state, a missing comment or an unknown id.
    """
    ids = sorted({int(i) for i in submission_ids})
    comment = (comment or "").strip() or None
    if state not in REVIEW_CHOICES:
        raise problems.bad_review_state(state)
    if not ids:
        raise problems.nothing_selected()
    if len(ids) > MAX_BATCH:
        raise problems.too_many_to_review(MAX_BATCH)
    if state in NEEDS_COMMENT and not comment:
        raise problems.comment_required()
    with write_transaction(session):
        submissions = _load(session, ids, scope)
        from . import warehouse

        conn = session.connection()
        for sub in submissions:
            previous = sub.review_state
            sub.review_state = state
            warehouse.set_review_state(conn, sub.id, state)
            session.add(AuditEvent(actor=actor, action="submission.review", submission_id=sub.id,
                                   form_id=sub.form_id, from_state=previous, to_state=state,
                                   comment=comment, details={"instance_id": sub.instance_id}))
    return submissions


def add_comment(session: Session, submission_id: int, comment: str, actor: str, *,
                scope: Scope | None = None) -> AuditEvent:
    """A comment on a submission without changing its state."""
    text = (comment or "").strip()
    if not text:
        raise problems.empty_comment()
    with write_transaction(session):
        (sub,) = _load(session, [submission_id], scope)
        event = AuditEvent(actor=actor, action="submission.comment", submission_id=sub.id,
                           form_id=sub.form_id, from_state=sub.review_state,
                           to_state=sub.review_state, comment=text,
                           details={"instance_id": sub.instance_id})
        session.add(event)
    return event


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str  # received | edited | submission.review | submission.comment
    from_state: str | None
    to_state: str | None
    comment: str | None
    instance_id: str | None


def history(session: Session, submission: Submission) -> list[HistoryEntry]:
    """Everything that happened to a submission and its earlier versions, oldest first."""
    versions = list(session.scalars(
        select(Submission).where(Submission.root_id == submission.root_id).order_by(Submission.id)
    ))
    ids = [v.id for v in versions] or [submission.id]
    entries = [
        HistoryEntry(v.received_at, v.submitter or "", "edited" if v.deprecated_id else "received",
                     None, None, None, v.instance_id)
        for v in versions
    ]
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.submission_id.in_(ids),
               or_(AuditEvent.action.like("submission.%"), AuditEvent.action.like("review.%")))
        .order_by(AuditEvent.id)
    )
    entries.extend(
        HistoryEntry(e.at, e.actor, e.action, e.from_state, e.to_state, e.comment,
                     (e.details or {}).get("instance_id"))
        for e in events
    )
    return sorted(entries, key=lambda e: _aware(e.at))


def comments(session: Session, submission_ids: Iterable[int]) -> dict[int, list[HistoryEntry]]:
    """The review comments of many submissions at once (of every version of each), oldest first,
    by the id asked for: two queries however many ids (the workbook asks per chunk of rows)."""
    ids = sorted({int(i) for i in submission_ids if i is not None})
    if not ids:
        return {}
    roots = dict(session.execute(
        select(Submission.id, Submission.root_id).where(Submission.id.in_(ids))).all())
    version = Submission.__table__.alias("version")
    events = session.execute(
        select(version.c.root_id, AuditEvent)
        .join(version, version.c.id == AuditEvent.submission_id)
        .where(version.c.root_id.in_(set(roots.values())), AuditEvent.comment.is_not(None),
               AuditEvent.action.in_(("submission.review", "submission.comment")))
        .order_by(AuditEvent.id))
    by_root: dict[str, list[HistoryEntry]] = {}
    for root, e in events:
        by_root.setdefault(root, []).append(HistoryEntry(
            e.at, e.actor, e.action, e.from_state, e.to_state, e.comment,
            (e.details or {}).get("instance_id")))
    return {i: by_root[roots[i]] for i in ids if roots.get(i) in by_root}


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; all stored times are UTC.
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _load(session: Session, ids: list[int], scope: Scope | None) -> list[Submission]:
    submissions = list(session.scalars(
        select(Submission).where(Submission.id.in_(ids)).order_by(Submission.id)
    ))
    found = {s.id for s in submissions}
    if scope is not None and not scope.everything:
        found &= visible_ids(session, submissions, scope)
    missing = [i for i in ids if i not in found]
    if missing:
        raise problems.not_found(f"Submission {missing[0]}")
    return submissions


def visible_ids(session: Session, submissions: list[Submission], scope: Scope) -> set[int]:
    """Which of these submissions have a warehouse row inside ``scope``."""
    from . import scope as scoping
    from . import warehouse
    from .schema import table_name

    by_form: dict[str, list[int]] = {}
    for sub in submissions:
        by_form.setdefault(sub.form.xml_form_id, []).append(sub.id)
    conn = session.connection()
    visible: set[int] = set()
    for form_id, ids in by_form.items():
        table = warehouse.form_tables(conn, form_id).get(table_name(form_id))
        if table is None:
            continue
        visible.update(conn.scalars(
            select(table.c._submission_id).where(table.c._submission_id.in_(ids),
                                                 scoping.where(table, scope))
        ))
    return visible
