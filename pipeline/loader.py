"""Parse stored submissions into the warehouse: ``load_pending`` is the one way, run by the
loader's loop (``follow``: a thread of the server's process, or ``sangjog pipeline follow``, a
process of its own beside gunicorn's workers), by readers that must see every acknowledged upload
(pages, downloads, generated media, CLI exports: they load what is pending first) and by
``ingest.accept`` for pulls and imports.

Batches are read and parsed outside the database's write turn and written inside it, one insert
per table. A submission that cannot be parsed or written is flagged (``parse_status =
'failed'`` with a Problem code and message) and committed as such: it stays in the raw store,
nothing is raised to the caller, and the next submission loads as usual. The database's own
trouble (locked, read-only, out of reach) is raised instead and the submission stays pending.
Loads take turns (``db.serialize_loads``), so two processes never write the same submission's
rows at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import problems, search, warehouse
from .db import Writer, end_read, is_transient, serialize_loads, write_transaction, writer_for
from .models import IS_PENDING, Attachment, AuditEvent, Form, Submission
from .parse import ParsedSubmission, parse
from .problems import Problem
from .schema import FormSchema, schema_for, table_name

log = logging.getLogger(__name__)

WRITE_FAILED = "warehouse.write_failed"
LOAD_FAILED = "warehouse.load_failed"
_ATTEMPTS = 2


def _load_one(session: Session, submission_id: int) -> bool:
    """Parse one submission and write its rows (only the current version of an edited one
    reaches the warehouse; older versions are parsed to check them), in the caller's write
    turn; the row is read inside the write transaction. Returns True when it loaded. When the
    database says "not now" (locked, read-only, out of reach: ``db.is_transient``) the error is
    raised and the submission stays pending: a reader answers 503, the loader's loop tries
    again; it is never flagged failed for the database's trouble."""
    for attempt in range(_ATTEMPTS):
        try:
            return _load(session, submission_id)
        except Problem as problem:
            _flag(session, submission_id, problem.code, problem.message)
        except SQLAlchemyError as exc:
            # Another process may have created the same table or column a moment ago, the
            # tables were changed by hand, or one made here went with the rollback: look at
            # them afresh and try again once.
            warehouse.forget(session.get_bind())
            if is_transient(exc):
                raise
            if attempt + 1 < _ATTEMPTS:
                continue
            log.exception("writing submission %s to the warehouse failed", submission_id)
            _flag(session, submission_id, WRITE_FAILED, f"The warehouse refused the rows: {exc}")
        except Exception as exc:  # a defect must not turn a stored submission into a 500
            if is_transient(exc):  # the driver's own error (BEGIN IMMEDIATE, COPY)
                warehouse.forget(session.get_bind())
                raise
            log.exception("loading submission %s failed", submission_id)
            _flag(session, submission_id, LOAD_FAILED, f"Loading failed: {type(exc).__name__}: {exc}")
        return False
    return False


def _load(session: Session, submission_id: int) -> bool:
    """One submission in a write transaction of its own; whatever raises rolls it back."""
    with write_transaction(session):
        serialize_loads(session)
        found = session.execute(
            select(Submission, Form.xml_form_id).join(Form, Form.id == Submission.form_id)
            .where(Submission.id == submission_id)
            .execution_options(populate_existing=True)).first()
        if found is None:
            return False
        sub, form_xml_id = found
        schema = schema_for(session, form_xml_id, sub.form_version)
        parsed = parse(schema, sub.xml, key=sub.root_id)
        if sub.current:
            warehouse.write(session.connection(), submission_meta(session, sub), parsed)
        else:
            _show_chain(session, sub, form_xml_id)
        sub.parse_status, sub.parse_error_code, sub.parse_error = "ok", None, None
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
        search.forget(conn, stale)
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
        with write_transaction(session):
            session.execute(
                update(Submission).where(Submission.id == submission_id)
                .values(parse_status="failed", parse_error_code=code, parse_error=message[:4000]))
    except SQLAlchemyError:
        log.exception("could not flag submission %s as failed", submission_id)


@dataclass
class Processed:
    ok: int = 0
    failed: int = 0
    seen: int = 0  # pending submissions a batch found (0: nothing was pending)


def _load_each(session: Session, ids: Sequence[int], result: Processed) -> Processed:
    """``_load_one`` for each, counted into ``result``."""
    for submission_id in ids:
        if _load_one(session, submission_id):
            result.ok += 1
        else:
            result.failed += 1
    return result


# One transaction loads this many: big enough that per-transaction costs vanish, small enough
# that a SQLite writer waits only tens of milliseconds for its turn.
BATCH_SIZE = 500

# What ``write_rows`` reads of each stored submission, for the loader's batches and a rebuild
# alike: plain rows rather than ORM objects, as a batch is read, parsed, written and forgotten.
ROW_COLUMNS = (Submission.id, Submission.root_id, Submission.form_version, Submission.xml,
               Submission.received_at, Submission.submitter, Submission.device_id,
               Submission.review_state, Submission.attachments_expected, Submission.source)
_PENDING_COLUMNS = (*ROW_COLUMNS, Submission.current, Form.xml_form_id)


@dataclass
class Parsed:
    """Pending submissions read and parsed ahead of their write turn (``_prepare``):
    parsing is most of a load's work, and a reader needs no turn. Submission id → the key it
    was parsed under and its rows, or the Problem that refused them."""

    by_id: dict[int, tuple[str, ParsedSubmission | Problem]] = field(default_factory=dict)
    last_id: int | None = None  # the newest submission read

    def get(self, row: Any) -> ParsedSubmission | Problem | None:
        found = self.by_id.get(row.id)
        # A late original can move a stored version to another root (``rawstore``), and the
        # key is part of the rows: parsed under another one, parse again.
        return found[1] if found is not None and found[0] == row.root_id else None


def _waiting(include_failed: bool) -> Any:
    return (IS_PENDING | (Submission.parse_status == "failed")) if include_failed else IS_PENDING


def _pending_query(limit: int, after: int, up_to: int, include_failed: bool,
                   only: Any = None) -> Any:
    query = (select(*_PENDING_COLUMNS).join(Form, Form.id == Submission.form_id)
             .where(_waiting(include_failed), Submission.id > after, Submission.id <= up_to))
    if only is not None:
        query = query.where(only)
    return (query
            .order_by(Submission.id).limit(limit))


def _prepare(session: Session, query: Any) -> Parsed:
    """Read and parse the submissions the next batch will load, in a read transaction of their
    own: SQLite's writer and other loads go on meanwhile. What changes before the write (a
    submission loaded by another reader, an edit arriving) is read again there."""
    rows = session.execute(query).all()
    schemas: dict[tuple[str, str], FormSchema] = {}
    prepared = Parsed(last_id=rows[-1].id if rows else None)
    for row in rows:
        if not row.current:
            continue  # older versions load one by one (``_load_one``)
        try:
            schema = schemas.get((row.xml_form_id, row.form_version))
            if schema is None:
                schema = schemas[(row.xml_form_id, row.form_version)] = schema_for(
                    session, row.xml_form_id, row.form_version)
            result: ParsedSubmission | Problem = parse(schema, row.xml, key=row.root_id)
        except Problem as problem:
            result = problem
        except Exception:  # a defect: the write turn parses it again and flags it
            continue
        prepared.by_id[row.id] = (row.root_id, result)
    end_read(session)
    return prepared


def load_pending(session: Session, *, up_to: int | None = None, limit: int | None = None,
                 include_failed: bool = False, only: Any = None,
                 writer: Writer | None = None) -> Processed:
    """Load the submissions pending now (ids ``<= up_to`` when given; at most ``limit``; with
    ``include_failed``, failed ones again, after a form or code fix), oldest first, in batches
    of ``BATCH_SIZE``. Current versions are parsed outside the write turn and written with one
    insert per table; older versions of edited submissions, and every submission of a batch
    the database refused, load one by one, which flags what cannot load. ``only``: a condition
    on ``Submission`` narrowing what is loaded (a pull retries the failed ones of its source).
    ``writer``: whose write turn each batch waits for (default: the engine's one ``Writer``);
    whatever other processes do while a batch waits there is read again inside the turn."""
    total = Processed()
    newest_query = select(func.max(Submission.id)).where(_waiting(include_failed))
    newest = session.scalar(newest_query if only is None else newest_query.where(only))
    end_read(session)  # each batch writes in a transaction of its own
    if newest is None:
        return total
    up_to = newest if up_to is None else min(up_to, newest)
    writer = writer or writer_for(session.get_bind())
    after = 0
    while limit is None or total.seen < limit:
        size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - total.seen)
        query = _pending_query(size, after, up_to, include_failed, only)
        prepared = _prepare(session, query)
        if prepared.last_id is None:
            break
        with writer.turn():
            done = _write_batch(session, query.where(Submission.id <= prepared.last_id), prepared)
        total.ok, total.failed = total.ok + done.ok, total.failed + done.failed
        total.seen += done.seen
        after = prepared.last_id
    return total


def retry(session: Session, ids: Sequence[int], *, actor: str | None = None) -> Processed:
    """Load these stored submissions again, those that failed (a form version published since,
    a fix) and those still pending: the one retry, used by the Sync health page's "Retry" and
    by every pull for what earlier pulls could not load. A person's retry (``actor``) is
    recorded in the audit log; a dismissed submission is left alone."""
    ids = sorted(set(ids))
    if not ids:
        return Processed()
    if actor is not None:
        with write_transaction(session):
            for sub_id, form_id, instance_id, status in session.execute(
                    select(Submission.id, Submission.form_id, Submission.instance_id,
                           Submission.parse_status).where(Submission.id.in_(ids))).all():
                session.add(AuditEvent(actor=actor, action="submission.retry",
                                       submission_id=sub_id, form_id=form_id, from_state=None,
                                       to_state=None,
                                       details={"instance_id": instance_id, "was": status}))
    return load_pending(session, include_failed=True, only=Submission.id.in_(ids))


def dismiss(session: Session, instance_id: str, actor: str = "system") -> None:
    """An admin gives up on a stored submission that cannot load: pulls stop retrying it and
    the Sync health page stops listing it (it stays in the raw store, ``parse_status =
    'dismissed'``, and can still be opened and retried)."""
    with write_transaction(session):
        sub = session.scalar(select(Submission).where(Submission.instance_id == instance_id))
        if sub is None or sub.parse_status != "failed":
            raise problems.not_dismissable(instance_id)
        sub.parse_status = "dismissed"
        session.add(AuditEvent(actor=actor, action="submission.dismiss", submission_id=sub.id,
                               form_id=sub.form_id, comment=sub.parse_error,
                               details={"instance_id": instance_id}))


def _write_batch(session: Session, query: Any, prepared: Parsed) -> Processed:
    """The batch in one write transaction; when the database refuses it, each of its
    submissions again, one by one (``_load_one``, which flags what cannot load)."""
    rows: Sequence[Any] | None = None
    result = Processed()
    try:
        with write_transaction(session):
            serialize_loads(session)  # then read: what is pending is only known once it is our turn
            rows = session.execute(query).all()
            current = [r for r in rows if r.current]
            result = _load_batch(session, current, prepared)
        older = [r.id for r in rows if not r.current]
    except Exception as exc:  # SQLAlchemy's errors, and the driver's own from COPY on PostgreSQL
        if rows is None:
            raise  # the turn or the read failed: no submission of the batch was tried
        warehouse.forget(session.get_bind())  # a table it made may be gone with the rollback
        if is_transient(exc):
            raise  # not the rows' fault: they stay pending (``_load_one``)
        log.warning("a batch of %d submissions failed; loading them one by one", len(current))
        older = [r.id for r in rows]  # every one of them, in order
    result.seen = len(rows)
    return _load_each(session, older, result)


def _load_batch(session: Session, rows: list, prepared: Parsed) -> Processed:
    if not rows:
        return Processed()
    versions = dict(session.execute(
        select(Submission.root_id, func.count())
        .where(Submission.root_id.in_({r.root_id for r in rows}))
        .group_by(Submission.root_id)).all())
    schemas: dict[tuple[str, str], FormSchema] = {}

    def schema_of(row: Any) -> FormSchema:
        schema = schemas.get((row.xml_form_id, row.form_version))
        if schema is None:
            schema = schemas[(row.xml_form_id, row.form_version)] = schema_for(
                session, row.xml_form_id, row.form_version)
        return schema

    # Rows of its key may exist already when it has other versions, or files that arrived in
    # parts (a stored submission whose missing files came later is loaded again); the only
    # version of a plain upload skips looking for rows to replace.
    return write_rows(session, rows, schema_of, lambda row: versions.get(row.root_id, 1) - 1,
                      replace=lambda row: (versions.get(row.root_id, 1) > 1
                                           or row.attachments_expected > 0), parsed=prepared)


def write_rows(session: Session, rows: Sequence[Any], schema_of: Callable[[Any], FormSchema],
               edits_of: Callable[[Any], int], replace: Callable[[Any], bool],
               parsed: Parsed | None = None) -> Processed:
    """Parse stored submissions (rows of ``ROW_COLUMNS``) and write them, in the caller's
    transaction, with one insert per table: what the loader's batches and a rebuild share. A
    row that cannot be parsed is flagged failed and the others go on; ``replace(row)`` says
    whether rows of its key may exist already; ``parsed`` holds rows parsed beforehand.
    Raises ``SQLAlchemyError`` when the database refuses the lot (the caller rolls back)."""
    result = Processed()
    present = dict(session.execute(
        select(Attachment.submission_id, func.count())
        .where(Attachment.submission_id.in_([r.id for r in rows]))
        .group_by(Attachment.submission_id)).all())
    fresh, replacing, ok_ids = [], [], []
    for row in rows:
        try:
            rows_of = parsed.get(row) if parsed is not None else None
            if isinstance(rows_of, Problem):
                raise rows_of
            if rows_of is None:
                rows_of = parse(schema_of(row), row.xml, key=row.root_id)
        except Problem as problem:
            _flag_in_batch(session, row.id, problem.code, problem.message)
            result.failed += 1
            continue
        except Exception as exc:  # a defect must not hold back the rest of the batch
            log.exception("loading submission %s failed", row.id)
            _flag_in_batch(session, row.id, LOAD_FAILED, f"Loading failed: {type(exc).__name__}: {exc}")
            result.failed += 1
            continue
        meta = warehouse.SubmissionMeta.of(row, edits=max(edits_of(row), 0),
                                           attachments_present=present.get(row.id, 0))
        (replacing if replace(row) else fresh).append((meta, rows_of))
        if getattr(row, "parse_status", "pending") != "ok":  # a rebuild rewrites loaded ones
            ok_ids.append(row.id)
    warehouse.write_many(session.connection(), fresh, replace=False)
    warehouse.write_many(session.connection(), replacing, replace=True)
    if ok_ids:
        session.execute(update(Submission).where(Submission.id.in_(ok_ids)).values(
            parse_status="ok", parse_error_code=None, parse_error=None))
    result.ok += len(fresh) + len(replacing)
    return result


def _flag_in_batch(session: Session, submission_id: int, code: str, message: str) -> None:
    session.execute(update(Submission).where(Submission.id == submission_id).values(
        parse_status="failed", parse_error_code=code, parse_error=message[:4000]))


def newest_pending(session: Session) -> int | None:
    """The newest pending submission's id, or None: one indexed read (what readers check)."""
    return session.scalar(select(func.max(Submission.id)).where(IS_PENDING))


GATHER_SECONDS = 0.5  # how often the loop looks for uploads: those arriving meanwhile load together


def follow(sessions: sessionmaker[Session], stopping: threading.Event,
           interval: float = GATHER_SECONDS, stop_after: float | None = None) -> int:
    """The loader's loop, the same in a thread or a process: every ``interval`` seconds load
    what is pending, until ``stopping`` is set (or ``stop_after`` seconds). A failure (the
    database away for a moment) is logged and tried again shortly; the database's trouble is
    logged once while it lasts, and again when it ends. Returns how many loaded."""
    deadline = time.monotonic() + stop_after if stop_after is not None else None
    total = 0
    away = False
    while not stopping.wait(interval):
        try:
            with sessions() as session:
                if newest_pending(session) is not None:
                    done = load_pending(session)
                    total += done.ok + done.failed
            if away:
                log.warning("the database is back; loading again")
                away = False
        except Exception as exc:
            if is_transient(exc):  # the database's trouble, not the submissions': they wait
                if not away:
                    log.warning("the database is unavailable (%s); loading again when it is "
                                "back", getattr(exc, "orig", None) or exc)
                away = True
            else:
                log.exception("loading pending submissions failed; trying again shortly")
            stopping.wait(1.0)
        if deadline is not None and time.monotonic() >= deadline:
            break
    return total
