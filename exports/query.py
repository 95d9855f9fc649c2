"""Scoped selection from the warehouse: one form, a geography, a period → DataFrames in chunks.

The geography is a list of scope codes (``"bd_district:3026"``, ``"bd_division:30"``,
``"np_district:306"``, ``"*"``; see docs/architecture.md "Scopes") turned into SQL by
``pipeline.scope``; the period selects by ``_submitted_at``. Repeat rows come only for selected
submissions. The warehouse holds current submissions only, so edits never appear twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, Table, and_, func, select
from sqlalchemy.orm import Session

from pipeline import scope as scopes
from pipeline import warehouse
from pipeline.models import Form
from pipeline.schema import FormSchema, TableSpec, schema_for

from .period import Period

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Period", "FormSelection", "select_form", "frames", "column_chunks", "count", "CHUNK_ROWS"]

CHUNK_ROWS = 5000


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
                period: Period | None = None) -> FormSelection | None:
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
    if period is not None:
        start, end = period.bounds()
        condition = and_(condition, main.c._submitted_at >= start, main.c._submitted_at < end)
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
