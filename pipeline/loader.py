"""Parse one stored submission into the warehouse, in its own transaction.

A submission that cannot be parsed or written is flagged (``parse_status = 'failed'`` with a
Problem code and message) and committed as such: it stays in the raw store, nothing is raised to
the caller, and the next submission loads as usual.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import warehouse
from .db import begin_write
from .models import Attachment, Form, Submission
from .parse import parse
from .problems import Problem
from .schema import schema_for, table_name

log = logging.getLogger(__name__)

WRITE_FAILED = "warehouse.write_failed"
LOAD_FAILED = "warehouse.load_failed"
_ATTEMPTS = 2


def load(session: Session, submission: Submission) -> bool:
    """Parse ``submission`` and write its rows (only the current version of an edited one reaches
    the warehouse; older versions are parsed to check them). Returns True when it loaded."""
    return load_id(session, submission.id)


def load_id(session: Session, submission_id: int) -> bool:
    """``load`` by ``submissions.id``; the row is read inside the write transaction."""
    for attempt in range(_ATTEMPTS):
        try:
            return _load(session, submission_id)
        except Problem as problem:
            session.rollback()
            _flag(session, submission_id, problem.code, problem.message)
        except SQLAlchemyError as exc:
            session.rollback()
            # Another process may have created the same table or column a moment ago, or the
            # tables were changed by hand: look at them afresh and try again once.
            warehouse.forget(session.get_bind())
            if attempt + 1 < _ATTEMPTS:
                continue
            log.exception("writing submission %s to the warehouse failed", submission_id)
            _flag(session, submission_id, WRITE_FAILED, f"The warehouse refused the rows: {exc}")
        except Exception as exc:  # a defect must not turn a stored submission into a 500
            session.rollback()
            log.exception("loading submission %s failed", submission_id)
            _flag(session, submission_id, LOAD_FAILED, f"Loading failed: {type(exc).__name__}: {exc}")
        return False
    return False


def _load(session: Session, submission_id: int) -> bool:
    begin_write(session)
    found = session.execute(
        select(Submission, Form.xml_form_id).join(Form, Form.id == Submission.form_id)
        .where(Submission.id == submission_id)
        .execution_options(populate_existing=True)).first()
    if found is None:
        session.rollback()
        return False
    sub, form_xml_id = found
    schema = schema_for(session, form_xml_id, sub.form_version)
    parsed = parse(schema, sub.xml, key=sub.root_id)
    if sub.current:
        warehouse.write(session.connection(), submission_meta(session, sub), parsed)
    else:
        _show_chain(session, sub, form_xml_id)
    sub.parse_status, sub.parse_error_code, sub.parse_error = "ok", None, None
    session.commit()
    return True


def _show_chain(session: Session, older: Submission, form_xml_id: str) -> None:
    """An older version was loaded, possibly one that arrived after its edit and joined the
    edit's chain (``rawstore``): the chain's root and version count may have changed. Drop the
    rows its versions left under another key and write the current version again under the
    root's key; while the current one has not loaded, the latest version with rows stands in."""
    conn = session.connection()
    chain = session.execute(select(Submission.id, Submission.current, Submission.parse_status)
                            .where(Submission.root_id == older.root_id)).all()
    tables = warehouse.form_tables(conn, form_xml_id)
    main = tables.get(table_name(form_xml_id))
    if main is None:
        return
    shown = conn.execute(select(main.c._submission_id, main.c._key)
                         .where(main.c._submission_id.in_([c.id for c in chain]))).all()
    stale = [row._submission_id for row in shown if row._key != older.root_id]
    current = next((c.id for c in chain if c.current and c.parse_status == "ok"), None)
    if current is None and not stale:
        return  # nothing shown under an old key; the current version writes itself when it loads
    for name, table in tables.items():
        if name != main.name and stale:
            conn.execute(table.delete().where(table.c._submission_id.in_(stale)))
    if stale:
        conn.execute(main.delete().where(main.c._submission_id.in_(stale),
                                         main.c._key != older.root_id))
    winner_id = current if current is not None else max(row._submission_id for row in shown)
    winner = session.execute(select(Submission).where(Submission.id == winner_id)
                             .execution_options(populate_existing=True)).scalar_one()
    schema = schema_for(session, form_xml_id, winner.form_version)
    warehouse.write(conn, submission_meta(session, winner),
                    parse(schema, winner.xml, key=older.root_id))


def submission_meta(session: Session, sub: Submission) -> warehouse.SubmissionMeta:
    """The metadata columns of ``sub``'s main row, counted from the raw store."""
    versions, present = session.execute(select(
        select(func.count()).select_from(Submission)
        .where(Submission.root_id == sub.root_id).scalar_subquery(),
        select(func.count()).select_from(Attachment)
        .where(Attachment.submission_id == sub.id).scalar_subquery(),
    )).one()
    return warehouse.SubmissionMeta.of(sub, edits=max((versions or 1) - 1, 0),
                                       attachments_present=present or 0)


def _flag(session: Session, submission_id: int, code: str, message: str) -> None:
    """Record why a submission did not load; a failure here is logged, never raised."""
    try:
        begin_write(session)
        session.execute(
            update(Submission).where(Submission.id == submission_id)
            .values(parse_status="failed", parse_error_code=code, parse_error=message[:4000]))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.exception("could not flag submission %s as failed", submission_id)


@dataclass
class Processed:
    ok: int = 0
    failed: int = 0


def process_pending(session: Session, limit: int | None = None,
                    include_failed: bool = False) -> Processed:
    """Load submissions left ``pending`` (a crash between storing and loading), oldest first;
    ``include_failed`` retries failed ones too (after a form or code fix)."""
    states = ("pending", "failed") if include_failed else ("pending",)
    query = (select(Submission.id).where(Submission.parse_status.in_(states))
             .order_by(Submission.id))
    if limit is not None:
        query = query.limit(limit)
    ids = list(session.scalars(query))
    session.rollback()  # end the read so each load starts its own write transaction
    result = Processed()
    for submission_id in ids:
        if load_id(session, submission_id):
            result.ok += 1
        else:
            result.failed += 1
    return result
