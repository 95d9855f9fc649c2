"""Warehouse tables: one SQLAlchemy Core table per form and per repeat, built from ``FormSchema``.

Tables only grow: a new form version adds columns, nothing is dropped, and a field whose type
changes across versions keeps one working column (widened to float or text, see
``docs/warehouse.md``). The warehouse is derived data: ``pipeline.rebuild`` recreates it from the
raw store.

Table objects are cached per database. DDL done inside a transaction reaches the cache only when
that transaction commits, so a rolled-back ``ensure_tables`` never leaves a stale entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import types as sqltypes

from .models import Attachment, Form, Submission
from .parse import ParsedSubmission
from .schema import DATE, DATETIME, FLOAT, INTEGER, TEXT, FormSchema, schema_for, table_name


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both backends: stored in UTC, read back as UTC.

    SQLite has no time zones, so the value is normalised before it is written."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


SQL_TYPES: dict[str, Any] = {
    TEXT: Text, INTEGER: BigInteger, FLOAT: Float, DATE: Date, DATETIME: UTCDateTime,
}

# Metadata columns (docs/fields.md). Repeat tables carry the first three only.
MAIN_METADATA: dict[str, str] = {
    "_key": TEXT, "_submission_id": INTEGER, "_submitted_at": DATETIME, "_submitter": TEXT,
    "_device_id": TEXT, "_form_version": TEXT, "_review_state": TEXT,
    "_attachments_present": INTEGER, "_attachments_expected": INTEGER, "_edits": INTEGER,
    "_source": TEXT, "_instance_name": TEXT,
}
REPEAT_METADATA: dict[str, str] = {"_key": TEXT, "_parent_key": TEXT, "_submission_id": INTEGER}


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


# ---- column kinds -------------------------------------------------------------------------

def widen(existing: str, new: str) -> str:
    """The kind one column needs to hold values of both kinds."""
    if existing == new:
        return existing
    if {existing, new} == {INTEGER, FLOAT}:
        return FLOAT
    return TEXT


def _kind_of(sql_type: Any) -> str:
    if isinstance(sql_type, sqltypes.Integer):
        return INTEGER
    if isinstance(sql_type, sqltypes.Float | sqltypes.Numeric):
        return FLOAT
    if isinstance(sql_type, sqltypes.DateTime):
        return DATETIME
    if isinstance(sql_type, sqltypes.Date):
        return DATE
    return TEXT


def wanted_columns(schemas: Iterable[FormSchema]) -> dict[str, dict[str, str]]:
    """Table name → column name → kind, merged over versions (oldest first), metadata first."""
    tables: dict[str, dict[str, str]] = {}
    for schema in schemas:
        for spec in schema.tables:
            cols = tables.setdefault(
                spec.name, dict(MAIN_METADATA if spec.parent is None else REPEAT_METADATA))
            for field in spec.columns:
                for name, kind in field.sql_columns():
                    cols[name] = widen(cols[name], kind) if name in cols else kind
    return tables


def _build(name: str, columns: dict[str, str]) -> Table:
    is_repeat = "_parent_key" in columns
    cols = []
    for col, kind in columns.items():
        cols.append(Column(
            col, SQL_TYPES[kind](), primary_key=col == "_key",
            index=col == "_parent_key" or col == "_submission_id",
            unique=col == "_submission_id" and not is_repeat,
            info={"kind": kind},
        ))
    return Table(name, MetaData(), *cols)


# ---- the per-database cache --------------------------------------------------------------

_CACHE: dict[str, dict[str, Table]] = {}
_PENDING = "sangjog_warehouse_pending"
_LISTENING: set[int] = set()


def _db(bind: Connection | Engine) -> str:
    return bind.engine.url.render_as_string(hide_password=True)


def _listen(engine: Engine) -> None:
    if id(engine) in _LISTENING:
        return
    _LISTENING.add(id(engine))

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        pending = conn.info.pop(_PENDING, None)
        if pending:
            known = _CACHE.setdefault(_db(conn), {})
            for name, table in pending.items():
                if table is None:
                    known.pop(name, None)
                else:
                    known[name] = table

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        conn.info.pop(_PENDING, None)


def _lookup(conn: Connection, name: str) -> Table | None:
    pending = conn.info.get(_PENDING, {})
    if name in pending:
        return pending[name]
    return _CACHE.get(_db(conn), {}).get(name)


def _remember(conn: Connection, table: Table, ddl: bool) -> None:
    if ddl:
        _listen(conn.engine)
        conn.info.setdefault(_PENDING, {})[table.name] = table
    else:
        _CACHE.setdefault(_db(conn), {})[table.name] = table


def forget(bind: Connection | Engine) -> None:
    """Drop every cached table of this database (after a failed write, or tables changed by hand)."""
    _CACHE.pop(_db(bind), None)
    if isinstance(bind, Connection):
        bind.info.pop(_PENDING, None)


# ---- DDL ---------------------------------------------------------------------------------

def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _fits(table: Table, columns: dict[str, str]) -> bool:
    return all(
        name in table.c and widen(table.c[name].info["kind"], kind) == table.c[name].info["kind"]
        for name, kind in columns.items()
    )


def _sync_table(conn: Connection, name: str, columns: dict[str, str]) -> Table:
    """Make the database table hold ``columns``: create it, add columns, widen types."""
    insp = inspect(conn)
    if not insp.has_table(name):
        table = _build(name, columns)
        table.create(conn)
        _remember(conn, table, ddl=True)
        return table
    existing = {c["name"]: _kind_of(c["type"]) for c in insp.get_columns(name)}
    ddl = False
    for col, kind in columns.items():
        if col not in existing:
            sql_type = SQL_TYPES[kind]().compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {_quote(conn, name)} ADD COLUMN {_quote(conn, col)} {sql_type}")
            existing[col] = kind
            ddl = True
        elif widen(existing[col], kind) != existing[col]:
            existing[col] = widen(existing[col], kind)
            _retype(conn, name, col, existing[col])
            ddl = True
    # Keep metadata in its declared kind even where the reflection is looser (SQLite).
    meta = MAIN_METADATA if "_parent_key" not in existing else REPEAT_METADATA
    table = _build(name, {**existing, **{c: k for c, k in meta.items() if c in existing}})
    _remember(conn, table, ddl)
    return table


def _retype(conn: Connection, table: str, col: str, kind: str) -> None:
    """Change a column's type the same way on SQLite and PostgreSQL: copy, drop, rename."""
    t, c, tmp = _quote(conn, table), _quote(conn, col), _quote(conn, col + "__retype")
    sql_type = SQL_TYPES[kind]().compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {t} ADD COLUMN {tmp} {sql_type}")
    conn.exec_driver_sql(f"UPDATE {t} SET {tmp} = CAST({c} AS {sql_type})")
    conn.exec_driver_sql(f"ALTER TABLE {t} DROP COLUMN {c}")
    conn.exec_driver_sql(f"ALTER TABLE {t} RENAME COLUMN {tmp} TO {c}")


def ensure_tables(conn: Connection, *schemas: FormSchema) -> dict[str, Table]:
    """Create missing tables and add missing columns for these versions; never drop anything.

    Returns table name → Table for every table the schemas name."""
    tables = {}
    for name, columns in wanted_columns(schemas).items():
        table = _lookup(conn, name)
        if table is None or not _fits(table, columns):
            table = _sync_table(conn, name, columns)
        tables[name] = table
    return tables


def form_tables(conn: Connection, form_xml_id: str) -> dict[str, Table]:
    """Every warehouse table of a form that exists now, main table first."""
    main = table_name(form_xml_id)
    names = [n for n in inspect(conn).get_table_names()
             if n == main or n.startswith(main + "__")]
    result = {}
    for name in sorted(names, key=lambda n: (n != main, n)):
        table = _lookup(conn, name)
        result[name] = table if table is not None else _sync_table(conn, name, {})
    return result


def drop_form_tables(conn: Connection, form_xml_id: str) -> None:
    _listen(conn.engine)
    for name, table in reversed(list(form_tables(conn, form_xml_id).items())):
        table.drop(conn)
        conn.info.setdefault(_PENDING, {})[name] = None


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


def _delete_current(conn: Connection, form_xml_id: str, key: str) -> None:
    tables = form_tables(conn, form_xml_id)
    main = tables[table_name(form_xml_id)]
    old = conn.scalar(select(main.c._submission_id).where(main.c._key == key))
    if old is None:
        return
    for name, table in tables.items():
        if name != main.name:
            conn.execute(table.delete().where(table.c._submission_id == old))
    conn.execute(main.delete().where(main.c._key == key))


def write(conn: Connection, meta: SubmissionMeta, parsed: ParsedSubmission) -> None:
    """Make ``parsed`` the current version of ``meta.key``: its old rows (and repeat rows) go,
    the new ones come in. Call inside the caller's transaction."""
    tables = ensure_tables(conn, parsed.schema)
    _delete_current(conn, parsed.schema.form_id, meta.key)
    for name, rows in _rows(meta, parsed).items():
        if rows:
            table = tables[name]
            conn.execute(table.insert(), _coerce(rows, _text_columns(table, parsed.schema)))


def write_many(conn: Connection, batch: list[tuple[SubmissionMeta, ParsedSubmission]],
               replace: bool = True) -> None:
    """Write many submissions with one executemany per table; ``replace=False`` skips the
    deletes when the tables are known to be empty of these keys (a rebuild)."""
    grouped: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    tables: dict[str, Table] = {}
    text_columns: dict[tuple[str, str], list[str]] = {}
    for schema in {id(p.schema): p.schema for _, p in batch}.values():
        for name, table in ensure_tables(conn, schema).items():
            tables[name] = table
            text_columns[(schema.md5, name)] = _text_columns(table, schema)
    for meta, parsed in batch:
        if replace:
            _delete_current(conn, parsed.schema.form_id, meta.key)
        for name, rows in _rows(meta, parsed).items():
            for row in _coerce(rows, text_columns[(parsed.schema.md5, name)]):
                grouped[(name, tuple(row))].append(row)
    # Parents before children so readers never see an orphan mid-way (and for foreign checks).
    for (name, _keys), rows in sorted(grouped.items(), key=lambda kv: kv[0][0].count("__")):
        conn.execute(tables[name].insert(), rows)


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
    "SubmissionMeta", "UTCDateTime", "drop_form_tables", "ensure_tables", "forget", "form_tables",
    "main_table", "repeat_tables", "set_review_state", "tables_for", "update_attachments",
    "wanted_columns", "widen", "write", "write_many",
]
