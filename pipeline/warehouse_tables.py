"""Warehouse table definitions and DDL: SQL types per column kind, the metadata columns, a
per-database cache of Table objects, and creating, growing and dropping tables.

Tables only grow: a new form version adds columns, nothing is dropped, and a field whose type
changes across versions keeps one working column (widened to float or text, see
``docs/warehouse.md``). DDL done inside a transaction reaches the cache only when that
transaction commits, so a rolled-back ``ensure_tables`` never leaves a stale entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    event,
    inspect,
)
from sqlalchemy import types as sqltypes

from . import caches, search
from .schema import DATE, DATETIME, FLOAT, INTEGER, TEXT, FormSchema, table_name


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
# On the main table of a form that asks whether its project was in the list (``project_listed``):
# for an inspection answering no, the registry project it counts for, matched when its row is
# written and again when the registry changes (``pipeline.domain.inspections.match_projects``).
PROJECT_CODE = "_project_code"


# ---- column kinds -------------------------------------------------------------------------

def widen(existing: str, new: str) -> str:
    """The kind one column needs to hold values of both kinds."""
    if existing == new:
        return existing
    if {existing, new} == {INTEGER, FLOAT}:
        return FLOAT
    return TEXT


def kind_of(sql_type: Any) -> str:
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
            if spec.parent is None and "project_listed" in cols:
                cols.setdefault(PROJECT_CODE, TEXT)
    return tables


# The date a form's rows are dated by (the lists show, sort and filter on it, exports' periods
# by visit use it): the first of these a main table has.
DATE_COLUMNS = ("visit_date", "workshop_date", "followup_date", "date_prepared", "_submitted_at")


def _build(name: str, columns: dict[str, str], dialect: str) -> Table:
    is_repeat = "_parent_key" in columns
    cols = []
    for col, kind in columns.items():
        cols.append(Column(
            col, SQL_TYPES[kind](), primary_key=col == "_key",
            index=col == "_parent_key" or col == "_submission_id",
            unique=col == "_submission_id" and not is_repeat,
            info={"kind": kind},
        ))
    table = Table(name, MetaData(), *cols)
    if not is_repeat:
        _main_indexes(table, dialect)
    return table


def _index_name(table: str, what: str) -> str:
    name = f"ix_{table}_{what}"
    if len(name) > 60:  # PostgreSQL's identifiers stop at 63 bytes
        name = f"ix_{hashlib.sha256(table.encode()).hexdigest()[:16]}_{what}"
    return name


def _main_indexes(table: Table, dialect: str) -> None:
    """The indexes a main table's readers need at a million rows: the lists' default order (newest
    date first, empty dates last, then id) overall, within a district (a district user's
    scope, the district filter) and within one of its upazilas (the upazila filter, offered
    once a district is chosen or is the reader's only one: with the district's index alone,
    counting a page's matches checked every row of the district; two equal columns also make
    SQLite prefer it without statistics), the period counts by date received, the review-state
    counts, for a form naming registry projects each project's newest inspections, and for one
    with a ``progress`` (inspections) the list sorted by it, largest first, overall and within a
    district.

    PostgreSQL puts NULLs first in a descending index unless told; SQLite always sorts them
    lowest, so its plain descending index has them last already (and it cannot say NULLS LAST)."""
    c = table.c
    date = next(c[n] for n in DATE_COLUMNS if n in c)

    def newest(column: Any) -> Any:
        return column.desc().nulls_last() if dialect == "postgresql" else column.desc()

    order = (newest(date), c._submission_id.desc())
    Index(_index_name(table.name, "date"), *order)
    if "district" in c:
        Index(_index_name(table.name, "district"), c.district, *order)
        if "upazila" in c:
            Index(_index_name(table.name, "upazila"), c.district, c.upazila, *order)
    if date is not c._submitted_at:
        Index(_index_name(table.name, "received"), c._submitted_at)
    Index(_index_name(table.name, "review"), c._review_state)
    if "project" in c:  # a project's newest inspections (its progress, pipeline.domain.inspections)
        Index(_index_name(table.name, "project"), c.project, newest(date), newest(c._submitted_at),
              c._submission_id.desc())
    if "project_listed" in c:  # the few inspections of projects not in the list
        Index(_index_name(table.name, "project_listed"), c.project_listed)
    if "progress" in c:  # inspections sorted by progress, largest first (the heading's click)
        Index(_index_name(table.name, "progress"), newest(c.progress), c._submission_id.desc())
        if "district" in c:  # ... by a district's reader: SQLite, without statistics, would
            # rather read the whole district through its date index and sort it (1.4 s at 100,000)
            Index(_index_name(table.name, "district_progress"), c.district, newest(c.progress),
                  c._submission_id.desc())
    if PROJECT_CODE in c:  # ... and the registry project each counts for, newest first
        matched = c[PROJECT_CODE].is_not(None)
        Index(_index_name(table.name, "project_code"), c[PROJECT_CODE], newest(date),
              newest(c._submitted_at), c._submission_id.desc(),
              postgresql_where=matched, sqlite_where=matched)


def add_missing_indexes(conn: Connection) -> list[str]:
    """Create the indexes ``_main_indexes`` names on every existing main table that lacks them
    (a migration's job: tables made before an index was added). Returns the names created."""
    insp = inspect(conn)
    forms = [row[0] for row in conn.exec_driver_sql("SELECT xml_form_id FROM forms")]
    made = []
    for form in forms:
        name = table_name(form)
        if insp.has_table(name):
            existing = {c["name"]: kind_of(c["type"]) for c in insp.get_columns(name)}
            meta = {c: k for c, k in MAIN_METADATA.items() if c in existing}
            made += _create_missing(conn, _build(name, {**existing, **meta}, conn.dialect.name))
    return made


# ---- the per-database cache --------------------------------------------------------------

_CACHE: dict[str, dict[str, Table]] = {}
caches.register(_CACHE.clear)
_PENDING = "sangjog_warehouse_pending"


def _db(bind: Connection | Engine) -> str:
    return bind.engine.url.render_as_string(hide_password=True)


def _on_commit(conn: Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    if pending:
        known = _CACHE.setdefault(_db(conn), {})
        for name, table in pending.items():
            if table is None:
                known.pop(name, None)
            else:
                known[name] = table


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info.pop(_PENDING, None)  # returned to the pool without a commit: nothing happened


def _listen(engine: Engine) -> None:
    if not event.contains(engine, "commit", _on_commit):
        event.listen(engine, "commit", _on_commit)
        event.listen(engine, "rollback", _on_rollback)
        event.listen(engine.pool, "checkin", _on_checkin)


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
        table = _build(name, columns, conn.dialect.name)
        table.create(conn)
        _remember(conn, table, ddl=True)
        return table
    existing = {c["name"]: kind_of(c["type"]) for c in insp.get_columns(name)}
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
    table = _build(name, {**existing, **{c: k for c, k in meta.items() if c in existing}},
                   conn.dialect.name)
    if ddl:
        _create_missing(conn, table)
    _remember(conn, table, ddl)
    return table


def _create_missing(conn: Connection, table: Table) -> list[str]:
    have = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
    made = []
    for index in table.indexes:
        if index.name not in have and not index.unique:
            index.create(conn)
            made.append(index.name)
    return made


def _retype(conn: Connection, table: str, col: str, kind: str) -> None:
    """Change a column's type the same way on SQLite and PostgreSQL: copy, drop, rename."""
    t, c, tmp = _quote(conn, table), _quote(conn, col), _quote(conn, col + "__retype")
    sql_type = SQL_TYPES[kind]().compile(dialect=conn.dialect)
    # SQLite refuses to drop an indexed column: its indexes go first (and come back, see
    # ``_create_missing``).
    for ix in inspect(conn).get_indexes(table):
        if col in ix["column_names"]:
            conn.exec_driver_sql(f"DROP INDEX {_quote(conn, ix['name'])}")
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
    search.forget_form(conn, form_xml_id)
    for name, table in reversed(list(form_tables(conn, form_xml_id).items())):
        table.drop(conn)
        conn.info.setdefault(_PENDING, {})[name] = None
