"""Scoped selection from the warehouse: one form, a geography, a period → DataFrames in chunks.

The geography is a list of scope codes (``"bd_district:3026"``, ``"bd_division:30"``,
``"np_district:306"``, ``"*"``; see docs/architecture.md "Scopes") turned into SQL by
``pipeline.scope``; the period selects by ``_submitted_at`` (or, with ``date_basis="visit"``,
by the form's own date: ``date_column``), and ``Filters`` narrows by review state and by "received
since". Repeat rows come only for selected submissions. The warehouse holds current submissions only, so edits never appear twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, Table, and_, func, select
from sqlalchemy.orm import Session

from pipeline import problems, warehouse
from pipeline import scope as scopes
from pipeline.models import REVIEW_STATES, Form
from pipeline.schema import FormSchema, TableSpec, schema_for
from pipeline.warehouse_tables import DATE_COLUMNS

from .period import Period

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Period", "FormSelection", "Filters", "select_form", "frames", "column_chunks",
           "count", "date_column", "CHUNK_ROWS"]

CHUNK_ROWS = 5000
# The date a form's rows are listed, filtered and (with date_basis="visit") exported by: the
# form's own date where it has one, else when the submission arrived.
DATE_BASES = ("received", "visit")


def date_column(table: Table):
    """The column of ``table`` its rows are dated by (``DATE_COLUMNS``, first found)."""
    for name in DATE_COLUMNS:
        if name in table.c:
            return table.c[name]
    return table.c._submission_id


@dataclass(frozen=True)
class Filters:
    """What an export keeps besides area and period: review states (none: every state),
    submissions received since a moment, and which date the period applies to
    (``received``: when it arrived; ``visit``: the form's own date, as the web lists)."""

    review: tuple[str, ...] = ()
    since: datetime | None = None
    date_basis: str = "received"

    @classmethod
    def parse(cls, review: str | Iterable[str] | None = None, since: str | datetime | None = None,
              date_basis: str | None = None) -> Filters:
        """From what a person typed (``approved,received``, ``2026-11-01``); a clear 400
        naming the choices for anything else."""
        states = tuple(s.strip() for s in (review.split(",") if isinstance(review, str)
                                           else review or ()) if s.strip())
        unknown = [s for s in states if s not in REVIEW_STATES]
        if unknown:
            raise problems.bad_export_review_state(unknown[0], REVIEW_STATES)
        basis = (date_basis or "received").strip()
        if basis not in DATE_BASES:
            raise problems.bad_date_basis(basis)
        return cls(states, _moment(since), basis)

    def where(self, main: Table) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.review:
            out.append(main.c._review_state.in_(self.review))
        if self.since is not None:
            out.append(main.c._submitted_at >= self.since)
        return out


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        if len(value.strip()) == 10:
            return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
        return _moment(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise problems.bad_since(str(value)) from None


def period_condition(column, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The period on a date column of any kind: timestamps, dates, or ISO dates as text."""
    from sqlalchemy import Date, DateTime

    kind = getattr(column.type, "impl", column.type)  # UTCDateTime decorates a DateTime
    if isinstance(kind, DateTime):
        return [column >= start, column < end]
    first, last = start.date(), (end - timedelta(seconds=1)).date()
    if isinstance(kind, Date):
        return [column >= first, column <= last]
    return [column >= first.isoformat(), column <= last.isoformat()]


@dataclass
class FormSelection:
    """What to read for one form: its newest schema, its warehouse tables and the row filter."""

    form_id: str
    title: str
    schema: FormSchema
    tables: dict[str, Table]  # warehouse table name -> reflected table (main and repeats)
    condition: ColumnElement[bool]  # on the main table
    older_schemas: list[FormSchema] = field(default_factory=list)  # newest first
    xform: bytes = b""  # the newest version's XForm

    @property
    def main(self) -> Table:
        return self.tables[self.schema.main.name]

    def repeat_specs(self) -> list[TableSpec]:
        """Repeats of the newest version that exist in the warehouse, in form order."""
        return [spec for spec in self.schema.repeats if spec.name in self.tables]


def select_form(session: Session, form_id: str, scope: Iterable[str] = ("*",),
                period: Period | None = None,
                filters: Filters | None = None) -> FormSelection | None:
    """The selection for ``form_id``, or None when the form or its warehouse table is missing."""
    form = session.scalar(select(Form).where(Form.xml_form_id == form_id))
    if form is None or not form.versions:
        return None
    versions = [v.version for v in reversed(form.versions)]
    schema = schema_for(session, form_id, versions[0])
    tables = warehouse.form_tables(session.connection(), form_id)
    if schema.main.name not in tables:
        return None
    main = tables[schema.main.name]
    condition = scopes.where(main, scopes.parse(list(scope)))
    filters = filters or Filters()
    if period is not None:
        start, end = period.bounds()
        dated = date_column(main) if filters.date_basis == "visit" else main.c._submitted_at
        if dated.name == "_submission_id":
            dated = main.c._submitted_at
        condition = and_(condition, *period_condition(dated, start, end))
    extra = filters.where(main)
    if extra:
        condition = and_(condition, *extra)
    older = [schema_for(session, form_id, v) for v in versions[1:]]
    return FormSelection(form_id, form.title or schema.title or form_id, schema, tables,
                         condition, older, form.versions[-1].xml)


def main_query(sel: FormSelection) -> Select:
    main = sel.main
    return select(main).where(sel.condition).order_by(main.c._submitted_at, main.c._key)


def repeat_query(sel: FormSelection, table_name: str) -> Select:
    """Rows of one repeat table whose submission is selected."""
    table, main = sel.tables[table_name], sel.main
    if "_submission_id" in table.c:
        chosen = select(main.c._submission_id).where(sel.condition)
        stmt = select(table).where(table.c._submission_id.in_(chosen))
    else:  # first-level repeat without a submission id: follow the parent key
        chosen = select(main.c._key).where(sel.condition)
        stmt = select(table).where(table.c._parent_key.in_(chosen))
    order = [table.c[c] for c in ("_submission_id", "_parent_key", "_key") if c in table.c]
    return stmt.order_by(*order)


def column_chunks(session: Session, sel: FormSelection, table_name: str | None = None,
                  chunk_rows: int = CHUNK_ROWS,
                  columns: list[str] | None = None) -> Iterator[dict[str, tuple[object, ...]]]:
    """The selected rows of the main table (or of repeat ``table_name``), at most ``chunk_rows``
    at a time, as column name → values, streamed from the database (a server-side cursor on
    PostgreSQL). ``columns`` limits the read to those columns. The data sheets read this way:
    no DataFrame is needed to write cells."""
    is_main = table_name in (None, sel.schema.main.name)
    stmt = main_query(sel) if is_main else repeat_query(sel, table_name)
    if columns is not None:
        table = sel.main if is_main else sel.tables[table_name]
        stmt = stmt.with_only_columns(*(table.c[c] for c in columns if c in table.c),
                                      maintain_column_froms=True)
    result = session.connection().execute(stmt.execution_options(yield_per=chunk_rows))
    names = list(result.keys())
    for rows in result.partitions():
        yield dict(zip(names, zip(*rows, strict=True), strict=True))


def frames(session: Session, sel: FormSelection, table_name: str | None = None,
           chunk_rows: int = CHUNK_ROWS, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The same chunks as ``column_chunks``, as DataFrames."""
    import pandas as pd  # here: the OData feed and the web pages select without pandas

    for chunk in column_chunks(session, sel, table_name, chunk_rows, columns):
        yield pd.DataFrame({name: list(values) for name, values in chunk.items()})


def count(session: Session, sel: FormSelection, table_name: str | None = None) -> int:
    if table_name in (None, sel.schema.main.name):
        stmt = select(func.count()).select_from(sel.main).where(sel.condition)
    else:
        stmt = select(func.count()).select_from(repeat_query(sel, table_name).order_by(None).subquery())
    return int(session.scalar(stmt) or 0)
