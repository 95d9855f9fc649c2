"""ODK Central's CSV zip, so R and Stata scripts written for Central run unchanged.

Layout (as Central's ``submissions.csv.zip``): ``{form_id}.csv`` for the main table and
``{form_id}-{repeat path}.csv`` per repeat (path segments joined by ``-``). Headers are field paths
with groups joined by ``-``, geopoints split into ``-Latitude``, ``-Longitude``, ``-Altitude``,
``-Accuracy``. The main file starts with ``SubmissionDate`` and ends with ``meta-instanceID``,
``KEY`` and Central's metadata columns; repeat files end with ``PARENT_KEY`` and ``KEY``.
select_multiple answers stay one space-separated column (Central's default).

Rows stream from a database cursor through ``csv.writer`` into the zip entry: no DataFrames, no
whole file in memory.

``excel=True`` writes the same files for opening with a double click in Excel or LibreOffice:
a UTF-8 byte order mark (without it Excel reads Bengali as Latin-1 mojibake), and every text
cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: OWASP's list) prefixed with ``'``, except text that is simply a number
(``-12``, ``+3.5``), which stays as it is. The plain zip stays byte for byte Central's layout,
for scripts.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, case, null, select
from sqlalchemy.orm import Session

from pipeline import problems, xform
from pipeline.models import CENTRAL_REVIEW_STATES, Submission
from pipeline.schema import ColumnSpec, TableSpec

from . import query
from .period import Period

CENTRAL_METADATA = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
                    "FormVersion"]
_GEOPOINT_PARTS = (("latitude", "Latitude"), ("longitude", "Longitude"),
                   ("altitude", "Altitude"), ("accuracy", "Accuracy"))


@dataclass(frozen=True)
class CsvColumn:
    header: str
    source: str | None  # selected column label; None = always empty (Central's Status)
    convert: Callable[[Any], str] | None = None


def _iso_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        text = value.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if value.utcoffset() is not None else text + "Z"
    return str(value)


# Only datetimes need converting: csv.writer already writes dates as YYYY-MM-DD, numbers
# as Python prints them and None as an empty field.
_CONVERTERS: dict[str, Callable[[Any], str]] = {"dateTime": _iso_datetime}


def field_columns(spec: TableSpec, present: set[str], older: Iterable[TableSpec] = (),
                  notes: Iterable[str] = (), order: dict[str, int] | None = None,
                  repeats: Iterable[str] = ()) -> list[CsvColumn]:
    """The form's fields in document order (fields only older versions had come after).

    ``notes`` (paths the warehouse does not store) become empty columns where Central has them.
    """
    fields: list[ColumnSpec | str] = list(spec.columns)
    names = {f.name for f in spec.columns}
    fields += [p for p in notes if p.startswith(spec.path + "/")
               and not any(p.startswith(r + "/") for r in repeats if r != spec.path)]
    if order:
        fields.sort(key=lambda f: order.get(f if isinstance(f, str) else f.path, len(order)))
    for old in older:
        fields += [f for f in old.columns if f.name not in names]
        names |= {f.name for f in old.columns}
    cols: list[CsvColumn] = []
    for f in fields:
        if isinstance(f, str):  # a note: Central gives it a column, always empty
            cols.append(CsvColumn(f[len(spec.path) + 1:].replace("/", "-"), None))
            continue
        header = "-".join(f.relpath)
        if f.type == "geopoint":
            cols += [CsvColumn(f"{header}-{label}", f"{f.name}_{part}")
                     for part, label in _GEOPOINT_PARTS if f"{f.name}_{part}" in present]
        elif f.name in present:
            cols.append(CsvColumn(header, f.name, _CONVERTERS.get(f.type)))
    return cols


def main_columns(sel: query.FormSelection, order: dict[str, int] | None = None) -> list[CsvColumn]:
    present = set(sel.main.c.keys())
    older = [s.main for s in sel.older_schemas]
    cols = [CsvColumn("SubmissionDate", "_submitted_at", _iso_datetime)]
    cols += field_columns(sel.schema.main, present, older, sel.schema.ignored, order,
                          [t.path for t in sel.schema.repeats])
    cols.append(CsvColumn("meta-instanceID", "_current_instance_id"))
    if sel.schema.instance_name:  # pyxform writes <meta><instanceID/><instanceName/></meta>
        cols.append(CsvColumn("meta-instanceName", "_instance_name"))
    sources = {"KEY": "_key", "SubmitterID": None, "SubmitterName": "_submitter",
               "AttachmentsPresent": "_attachments_present",
               "AttachmentsExpected": "_attachments_expected", "Status": None,
               "ReviewState": "_review_state", "DeviceID": "_device_id", "Edits": "_edits",
               "FormVersion": "_form_version"}
    for header in CENTRAL_METADATA:
        source = sources[header]
        cols.append(CsvColumn(header, source if source is None or source in present else None))
    return cols


def repeat_columns(sel: query.FormSelection, spec: TableSpec,
                   order: dict[str, int] | None = None) -> list[CsvColumn]:
    present = set(sel.tables[spec.name].c.keys())
    older = [t for s in sel.older_schemas for t in s.tables if t.name == spec.name]
    return [*field_columns(spec, present, older, sel.schema.ignored, order,
                          [t.path for t in sel.schema.repeats]),
            CsvColumn("PARENT_KEY", "_parent_key"),
            CsvColumn("KEY", "_key")]


def repeat_filename(form_id: str, spec: TableSpec, root: str) -> str:
    """``{form_id}-{repeat path below the root, joined by -}.csv`` (Central's naming)."""
    path = spec.path[len(root):].strip("/").replace("/", "-")
    return f"{form_id}-{path}.csv"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def excel_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs (OWASP CSV injection): text starting
    with a formula character gets a leading ``'``, unless it is just a number."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _select_in_order(cols: list[CsvColumn], sources: dict[str, Any]) -> list[Any]:
    """One SELECT column per CSV column, in CSV order, so rows go to ``csv.writer`` as they are
    (it writes None as an empty field and numbers and dates in the form Central uses)."""
    exprs = []
    for i, c in enumerate(cols):
        expr = sources[c.source] if c.source is not None else null()
        if c.source == "_review_state":  # Central's spelling (null empty), by the database
            expr = case(*((expr == ours, central or "")
                          for ours, central in CENTRAL_REVIEW_STATES.items() if central != ours),
                        else_=expr)
        exprs.append(expr.label(f"c{i}"))
    return exprs


def _write_rows(zf: zipfile.ZipFile, name: str, cols: list[CsvColumn], stmt: Select,
                session: Session, chunk_rows: int, progress: Any, excel: bool = False) -> int:
    result = session.connection().execute(stmt.execution_options(yield_per=chunk_rows))
    converters = [(i, c.convert) for i, c in enumerate(cols) if c.convert is not None]
    count = 0
    encoding = "utf-8-sig" if excel else "utf-8"  # utf-8-sig: the byte order mark first
    with zf.open(name, "w") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([excel_cell(c.header) if excel else c.header for c in cols])
        for rows in result.partitions():
            if converters:
                rows = [list(row) for row in rows]
                for row in rows:
                    for i, convert in converters:
                        if row[i] is not None:
                            row[i] = convert(row[i])
            if excel:
                rows = [[excel_cell(value) for value in row] for row in rows]
            writer.writerows(rows)
            count += len(rows)
            if progress is not None:
                progress.update(len(rows))
    return count


def write_zip(session: Session, form_id: str, out: str | Path | IO[bytes],
              scope: Iterable[str] = ("*",), period: Period | str | None = None,
              progress: Any = None, chunk_rows: int = query.CHUNK_ROWS,
              excel: bool = False, filters: query.Filters | None = None) -> dict[str, int]:
    """Write the Central-layout zip for one form; returns file name → data rows written.
    ``excel``: a byte order mark and formulas neutralised (see the module's notes)."""
    if isinstance(period, str):
        period = Period.parse(period)
    sel = query.select_form(session, form_id, list(scope), period, filters)
    if sel is None:
        raise problems.no_export_data(form_id)
    main = sel.main
    sources = {**dict(main.c.items()), "_current_instance_id": Submission.instance_id}
    order = xform.read(sel.xform).document_order
    cols = main_columns(sel, order)
    main_stmt: Select = (
        select(*_select_in_order(cols, sources))
        .select_from(main.outerjoin(Submission, Submission.id == main.c._submission_id))
        .where(sel.condition).order_by(main.c._submitted_at, main.c._key)
    )
    written: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        written[f"{form_id}.csv"] = _write_rows(zf, f"{form_id}.csv", cols, main_stmt, session,
                                                chunk_rows, progress, excel)
        for spec in sel.repeat_specs():
            name = repeat_filename(form_id, spec, sel.schema.root)
            repeat_cols = repeat_columns(sel, spec, order)
            table = sel.tables[spec.name]
            stmt = query.repeat_query(sel, spec.name).with_only_columns(
                *_select_in_order(repeat_cols, dict(table.c.items())), maintain_column_froms=True)
            written[name] = _write_rows(zf, name, repeat_cols, stmt, session, chunk_rows, progress,
                                        excel)
    return written
