"""Recreate warehouse tables from the raw store, and report on what the loader did.

A rebuild drops a form's tables, creates them from every published version's schema (so a type
that changed across versions gets its widened column at once), then streams the current
submissions in id order, a batch at a time, through ``parse`` and ``warehouse.write_many``. Each
form is rebuilt in one transaction: readers see the old tables until it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from . import loader, warehouse
from .db import end_read, write_transaction
from .models import Form, FormVersion, Submission
from .problems import unknown_form
from .schema import FormSchema, schema_for

BATCH_SIZE = 500
SQLITE_CACHE_KB = 64 * 1024  # page cache while rebuilding: big tables insert faster


@dataclass
class Rebuilt:
    form: str
    loaded: int = 0
    failed: int = 0


def count_current(session: Session, form_xml_id: str | None = None) -> int:
    query = select(func.count()).select_from(Submission).where(Submission.current.is_(True))
    if form_xml_id:
        query = query.join(Form, Form.id == Submission.form_id).where(Form.xml_form_id == form_xml_id)
    return session.scalar(query) or 0


def rebuild(session: Session, form_xml_id: str | None = None, batch_size: int = BATCH_SIZE,
            on_progress: Callable[[int], None] | None = None) -> list[Rebuilt]:
    """Rebuild every form's tables (or one form's). ``on_progress(n)`` is told after each batch."""
    query = select(Form.id, Form.xml_form_id).order_by(Form.id)
    if form_xml_id:
        query = query.where(Form.xml_form_id == form_xml_id)
    forms = session.execute(query).all()
    if form_xml_id and not forms:
        raise unknown_form(form_xml_id)
    end_read(session)
    return [_rebuild_form(session, pk, xml_id, batch_size, on_progress) for pk, xml_id in forms]


def _rebuild_form(session: Session, form_pk: int, form_xml_id: str, batch_size: int,
                  on_progress: Callable[[int], None] | None) -> Rebuilt:
    result = Rebuilt(form_xml_id)
    with write_transaction(session):
        versions = session.scalars(
            select(FormVersion.version).where(FormVersion.form_id == form_pk)
            .order_by(FormVersion.id)).all()
        schemas = {v: schema_for(session, form_xml_id, v) for v in versions}
        conn = session.connection()
        warehouse.drop_form_tables(conn, form_xml_id)
        tables = warehouse.ensure_tables(conn, *schemas.values())
        # Bulk loads run faster into tables whose secondary indexes are built once at the end.
        indexes = [ix for table in tables.values() for ix in table.indexes]
        for ix in indexes:
            ix.drop(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        edits = dict(session.execute(
            select(Submission.root_id, func.count()).where(Submission.form_id == form_pk)
            .group_by(Submission.root_id).having(func.count() > 1)).all())
        # The ids first (small), then each batch by primary key: a "next 500 after id X of this
        # form" query would rescan the form's rows on PostgreSQL for every batch.
        ids = session.scalars(
            select(Submission.id).where(Submission.form_id == form_pk, Submission.current.is_(True))
            .order_by(Submission.id)).all()
        for start in range(0, len(ids), batch_size):
            batch = session.execute(
                select(*_COLUMNS).where(Submission.id.in_(ids[start:start + batch_size]))
                .order_by(Submission.id)).all()
            _load_batch(session, batch, form_xml_id, schemas, edits, result)
            if on_progress:
                on_progress(len(batch))
        for ix in indexes:
            ix.create(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default again
    return result


# The loader's columns, and whether each is loaded already (``write_rows`` leaves those be).
_COLUMNS = (*loader.ROW_COLUMNS, Submission.parse_status)


def _load_batch(session: Session, batch: Sequence[Row[Any]], form_xml_id: str,
                schemas: dict[str, FormSchema], edits: dict[str, int], result: Rebuilt) -> None:
    def schema_of(row: Any) -> FormSchema:
        schema = schemas.get(row.form_version)
        if schema is None:
            raise unknown_form(form_xml_id, row.form_version)
        return schema

    # The tables were just created empty: nothing to replace.
    done = loader.write_rows(session, batch, schema_of, lambda row: edits.get(row.root_id, 1) - 1,
                             replace=lambda row: False)
    result.loaded += done.ok
    result.failed += done.failed


@dataclass
class FormStatus:
    form: str
    submissions: int = 0  # every stored version
    current: int = 0
    by_status: dict[str, int] = field(default_factory=dict)  # pending / ok / failed
    failures: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, instanceID, code, message


def status(session: Session, failures_per_form: int = 20) -> list[FormStatus]:
    """Counts per form and parse status, and the latest failures with their reasons."""
    result = {pk: FormStatus(xml_id) for pk, xml_id in
              session.execute(select(Form.id, Form.xml_form_id).order_by(Form.xml_form_id))}
    counts = session.execute(
        select(Submission.form_id, Submission.parse_status, Submission.current, func.count())
        .group_by(Submission.form_id, Submission.parse_status, Submission.current))
    for form_pk, parse_status, current, n in counts:
        entry = result[form_pk]
        entry.submissions += n
        entry.current += n if current else 0
        entry.by_status[parse_status] = entry.by_status.get(parse_status, 0) + n
    for form_pk, entry in result.items():
        if entry.by_status.get("failed"):
            entry.failures = [tuple(row) for row in session.execute(
                select(Submission.id, Submission.instance_id, Submission.parse_error_code,
                       Submission.parse_error)
                .where(Submission.form_id == form_pk, Submission.parse_status == "failed")
                .order_by(Submission.id.desc()).limit(failures_per_form))]
    return list(result.values())
