"""Warehouse tables: one SQLAlchemy Core table per form and per repeat, built from ``FormSchema``.

This module writes and reads rows; ``warehouse_tables`` defines the tables and grows them. The
warehouse is derived data: ``pipeline.rebuild`` recreates it from the raw store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, update

from . import search
from .driver_statements import DriverStatement
from .models import Attachment, Form, Submission
from .parse import ParsedSubmission
from .schema import TEXT, FormSchema, schema_for, table_name
from .warehouse_tables import (  # re-exported: readers and writers import them from here
    MAIN_METADATA,
    PROJECT_CODE,
    REPEAT_METADATA,
    SQL_TYPES,
    UTCDateTime,
    add_missing_indexes,
    drop_form_tables,
    ensure_tables,
    forget,
    form_tables,
    kind_of,
    wanted_columns,
    widen,
)


@dataclass
class SubmissionMeta:
    """What the raw store knows about a submission, copied onto its main row."""

    submission_id: int
    key: str  # the root instanceID: an edit keeps its original's key
    form_version: str
    submitted_at: datetime | None = None
    submitter: str | None = None
    device_id: str | None = None
    review_state: str = "received"
    attachments_present: int = 0
    attachments_expected: int = 0
    edits: int = 0
    source: str = "collect"

    @classmethod
    def of(cls, submission: Any, edits: int = 0, attachments_present: int = 0) -> SubmissionMeta:
        """From a ``Submission`` (or a row with the same column names)."""
        return cls(
            submission_id=submission.id, key=submission.root_id,
            form_version=submission.form_version, submitted_at=submission.received_at,
            submitter=submission.submitter, device_id=submission.device_id,
            review_state=submission.review_state, attachments_present=attachments_present,
            attachments_expected=submission.attachments_expected or 0, edits=edits,
            source=submission.source,
        )

    def columns(self, instance_name: str | None) -> dict[str, Any]:
        return {
            "_submission_id": self.submission_id, "_submitted_at": self.submitted_at,
            "_submitter": self.submitter, "_device_id": self.device_id,
            "_form_version": self.form_version, "_review_state": self.review_state,
            "_attachments_present": self.attachments_present,
            "_attachments_expected": self.attachments_expected, "_edits": self.edits,
            "_source": self.source, "_instance_name": instance_name,
        }


# ---- readers -----------------------------------------------------------------------------

def _latest_schema(conn: Connection, form_xml_id: str) -> FormSchema:
    from .models import FormVersion

    version = conn.scalar(
        select(FormVersion.version).join(Form, Form.id == FormVersion.form_id)
        .where(Form.xml_form_id == form_xml_id).order_by(FormVersion.id.desc()).limit(1))
    if version is None:
        from .problems import unknown_form

        raise unknown_form(form_xml_id)
    return schema_for(conn, form_xml_id, version)


def main_table(conn: Connection, form_xml_id: str) -> Table:
    """The form's main table with every column any loaded version added (created if absent)."""
    return tables_for(conn, form_xml_id)[table_name(form_xml_id)]


def repeat_tables(conn: Connection, form_xml_id: str) -> dict[str, Table]:
    """Repeat tables of the form by table name, in form order (older versions' ones last)."""
    tables = tables_for(conn, form_xml_id)
    return {name: t for name, t in tables.items() if name != table_name(form_xml_id)}


def tables_for(conn: Connection, form_xml_id: str) -> dict[str, Table]:
    tables = ensure_tables(conn, _latest_schema(conn, form_xml_id))
    for name, table in form_tables(conn, form_xml_id).items():
        tables.setdefault(name, table)
    return tables


# ---- writers -----------------------------------------------------------------------------

def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _text_columns(table: Table, schema: FormSchema) -> list[str]:
    """Columns this table keeps as text although ``schema`` parses them to another type."""
    wanted = wanted_columns([schema]).get(table.name, {})
    return [name for name, kind in wanted.items()
            if kind != TEXT and name in table.c and table.c[name].info["kind"] == TEXT]


def _coerce(rows: list[dict[str, Any]], text_columns: list[str]) -> list[dict[str, Any]]:
    """Fit values parsed with one version into columns widened to text by another."""
    for row in rows:
        for name in text_columns:
            row[name] = _as_text(row.get(name))
    return rows


def _rows(meta: SubmissionMeta, parsed: ParsedSubmission) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in parsed.rows.items():
        if name == parsed.schema.main.name:
            out[name] = [{**rows[0], "_key": meta.key, **meta.columns(parsed.instance_name)}]
        else:
            out[name] = [{**row, "_submission_id": meta.submission_id} for row in rows]
    return out


def _derive(conn: Connection, main: Table, rows: list[dict[str, Any]]) -> None:
    """Columns worked out from a main row and other data, set on the rows before they are
    written: the registry project an inspection of a project not in the list counts for."""
    if PROJECT_CODE in main.c:
        from .domain.inspections import match_projects  # the domain reads the warehouse

        match_projects(conn, rows)


def _delete_current(conn: Connection, schema: FormSchema, tables: dict[str, Table],
                    key: str) -> None:
    """Remove the rows of ``key``'s previous version, repeats included. ``tables`` are the
    schema's own; a previous version of another form version may have rows in others."""
    main = tables[schema.main.name]
    old = conn.execute(select(main.c._submission_id, main.c._form_version)
                       .where(main.c._key == key)).first()
    if old is None:
        return  # the usual case: a new submission, no lookups of other tables needed
    if old._form_version != schema.version:
        tables = form_tables(conn, schema.form_id)
    for name, table in tables.items():
        if name != main.name:
            conn.execute(table.delete().where(table.c._submission_id == old._submission_id))
    conn.execute(main.delete().where(main.c._key == key))
    search.forget(conn, [old._submission_id])


def write(conn: Connection, meta: SubmissionMeta, parsed: ParsedSubmission) -> None:
    """Make ``parsed`` the current version of ``meta.key``: its old rows (and repeat rows) go,
    the new ones come in. Call inside the caller's transaction."""
    tables = ensure_tables(conn, parsed.schema)
    _delete_current(conn, parsed.schema, tables, meta.key)
    built = _rows(meta, parsed)
    _derive(conn, tables[parsed.schema.main.name], built[parsed.schema.main.name])
    for name, rows in built.items():
        if rows:
            table = tables[name]
            conn.execute(table.insert(), _coerce(rows, _text_columns(table, parsed.schema)))
            if name == parsed.schema.main.name:
                search.index(conn, parsed.schema.form_id, rows)


def write_many(conn: Connection, batch: list[tuple[SubmissionMeta, ParsedSubmission]],
               replace: bool = True) -> None:
    """Write many submissions with one executemany per table; ``replace=False`` skips the
    deletes when the tables are known to be empty of these keys (a rebuild)."""
    grouped: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    tables: dict[str, Table] = {}
    own: dict[str, dict[str, Table]] = {}
    text_columns: dict[tuple[str, str], list[str]] = {}
    by_form: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for schema in {id(p.schema): p.schema for _, p in batch}.values():
        own[schema.md5] = ensure_tables(conn, schema)
        for name, table in own[schema.md5].items():
            tables[name] = table
            text_columns[(schema.md5, name)] = _text_columns(table, schema)
    built = [(meta, parsed, _rows(meta, parsed)) for meta, parsed in batch]
    mains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, parsed, rows in built:
        mains[parsed.schema.main.name] += rows[parsed.schema.main.name]
    for name, rows in mains.items():
        _derive(conn, tables[name], rows)
    for meta, parsed, built_rows in built:
        if replace:
            _delete_current(conn, parsed.schema, own[parsed.schema.md5], meta.key)
        for name, rows in built_rows.items():
            for row in _coerce(rows, text_columns[(parsed.schema.md5, name)]):
                grouped[(name, tuple(row))].append(row)
            if name == parsed.schema.main.name:
                by_form[parsed.schema.form_id] += rows
    # Parents before children, so a reader of an uncommitted-isolation view never sees orphans.
    for (name, keys), rows in sorted(grouped.items(), key=lambda kv: kv[0][0].count("__")):
        if conn.dialect.name == "postgresql":
            _copy(conn, name, keys, rows)
        else:
            _insert_many(conn, tables[name], keys, rows)
    for form_id, rows in by_form.items():  # the search index: one executemany a form
        search.index(conn, form_id, rows)


def _insert_many(conn: Connection, table: Table, keys: tuple[str, ...],
                 rows: list[dict[str, Any]]) -> None:
    """One executemany on the driver: SQLAlchemy's per-row work cost more than the inserts.
    The statement is kept on the table object (dropped with it when the cache is)."""
    statements = table.info.setdefault("driver_inserts", {})
    statement = statements.get(keys)
    if statement is None:
        statement = statements[keys] = DriverStatement(table.insert(), keys)
    statement.execute_many(conn, rows)


def _copy(conn: Connection, table: str, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY, several times faster than INSERTs for a batch. psycopg adapts the
    values itself (aware datetimes to timestamptz), so no SQLAlchemy type processing is needed."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, keys)))
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[k] for k in keys])


def _main_of(conn: Connection, submission_id: int) -> Table | None:
    form_xml_id = conn.scalar(
        select(Form.xml_form_id).join(Submission, Submission.form_id == Form.id)
        .where(Submission.id == submission_id))
    if form_xml_id is None:
        return None
    return form_tables(conn, form_xml_id).get(table_name(form_xml_id))


def set_review_state(conn: Connection, submission_id: int, state: str) -> int:
    """Copy a review decision onto the warehouse row; returns the rows changed (0 or 1)."""
    main = _main_of(conn, submission_id)
    if main is None:
        return 0
    result = conn.execute(
        update(main).where(main.c._submission_id == submission_id).values(_review_state=state))
    return result.rowcount


def update_attachments(conn: Connection, submission_id: int) -> int:
    """Recount received attachments after late ones arrive; returns the rows changed."""
    main = _main_of(conn, submission_id)
    if main is None:
        return 0
    present = conn.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.submission_id == submission_id))
    result = conn.execute(
        update(main).where(main.c._submission_id == submission_id)
        .values(_attachments_present=present))
    return result.rowcount


__all__ = [
    "MAIN_METADATA", "PROJECT_CODE", "REPEAT_METADATA", "SQL_TYPES", "SubmissionMeta", "UTCDateTime",
    "add_missing_indexes", "drop_form_tables", "ensure_tables", "forget", "form_tables", "kind_of", "main_table",
    "repeat_tables", "set_review_state", "tables_for", "update_attachments", "wanted_columns",
    "widen", "write", "write_many",
]
