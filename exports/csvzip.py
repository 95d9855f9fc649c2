"""ODK Central's CSV zip, so R and Stata scripts written for Central run unchanged.

Layout (as Central's ``submissions.csv.zip``): ``{form_id}.csv`` for the main table and
``{form_id}-{repeat path}.csv`` per repeat (path segments joined by ``-``). Headers are field paths
with groups joined by ``-``, geopoints split into ``-Latitude``, ``-Longitude``, ``-Altitude``,
``-Accuracy``. The main file starts with ``SubmissionDate`` and ends with ``meta-instanceID``,
``KEY`` and Central's metadata columns; repeat files end with ``PARENT_KEY`` and ``KEY``.
select_multiple answers stay one space-separated column (Central's default).

Rows stream from a database cursor through ``csv.writer`` into the zip entry: no DataFrames, no
whole file in memory.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pipeline.models import Submission
from pipeline.problems import Problem
from pipeline.schema import ColumnSpec, TableSpec

from . import query
from .period import Period

CENTRAL_METADATA = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
                    "FormVersion"]
_GEOPOINT_PARTS = (("latitude", "Latitude"), ("longitude", "Longitude"),
                   ("altitude", "Altitude"), ("accuracy", "Accuracy"))
# Central spells review states in camelCase and leaves "received" empty.
REVIEW_STATES = {"received": "", "has_issues": "hasIssues"}


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


def _iso_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _number(value: Any) -> str:
    return format(value, ".15g") if isinstance(value, float) else str(value)


def _review_state(value: Any) -> str:
    return REVIEW_STATES.get(value, value)


_CONVERTERS: dict[str, Callable[[Any], str]] = {
    "dateTime": _iso_datetime, "date": _iso_date, "decimal": _number,
}


def field_columns(spec: TableSpec, present: set[str], older: Iterable[TableSpec] = ()) -> list[CsvColumn]:
    """The form's fields in document order (fields only older versions had come after)."""
    fields: list[ColumnSpec] = list(spec.columns)
    names = {f.name for f in fields}
    for old in older:
        fields += [f for f in old.columns if f.name not in names]
        names |= {f.name for f in old.columns}
    cols: list[CsvColumn] = []
    for f in fields:
        header = "-".join(f.relpath)
        if f.type == "geopoint":
            cols += [CsvColumn(f"{header}-{label}", f"{f.name}_{part}", _number)
                     for part, label in _GEOPOINT_PARTS if f"{f.name}_{part}" in present]
        elif f.name in present:
            cols.append(CsvColumn(header, f.name, _CONVERTERS.get(f.type)))
    return cols


def main_columns(sel: query.FormSelection) -> list[CsvColumn]:
    present = set(sel.main.c.keys())
    older = [s.main for s in sel.older_schemas]
    cols = [CsvColumn("SubmissionDate", "_submitted_at", _iso_datetime)]
    cols += field_columns(sel.schema.main, present, older)
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
        convert = _review_state if header == "ReviewState" else None
        cols.append(CsvColumn(header, source if source is None or source in present else None,
                              convert))
    return cols


def repeat_columns(sel: query.FormSelection, spec: TableSpec) -> list[CsvColumn]:
    present = set(sel.tables[spec.name].c.keys())
    older = [t for s in sel.older_schemas for t in s.tables if t.name == spec.name]
    return [*field_columns(spec, present, older), CsvColumn("PARENT_KEY", "_parent_key"),
            CsvColumn("KEY", "_key")]


def repeat_filename(form_id: str, spec: TableSpec, root: str) -> str:
    """``{form_id}-{repeat path below the root, joined by -}.csv`` (Central's naming)."""
    path = spec.path[len(root):].strip("/").replace("/", "-")
    return f"{form_id}-{path}.csv"


def _write_rows(zf: zipfile.ZipFile, name: str, cols: list[CsvColumn], stmt: Select,
                session: Session, chunk_rows: int, progress: Any) -> int:
    result = session.execute(stmt.execution_options(yield_per=chunk_rows))
    positions = {key: i for i, key in enumerate(result.keys())}
    plan = [(positions[c.source] if c.source is not None else None, c.convert) for c in cols]
    count = 0
    with zf.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([c.header for c in cols])
        for rows in result.partitions():
            out = []
            for row in rows:
                out.append([
                    "" if pos is None or row[pos] is None
                    else (convert(row[pos]) if convert is not None else row[pos])
                    for pos, convert in plan
                ])
            writer.writerows(out)
            count += len(out)
            if progress is not None:
                progress.update(len(out))
    return count


def write_zip(session: Session, form_id: str, out: str | Path | IO[bytes],
              scope: Iterable[str] = ("*",), period: Period | str | None = None,
              progress: Any = None, chunk_rows: int = query.CHUNK_ROWS) -> dict[str, int]:
    """Write the Central-layout zip for one form; returns file name → data rows written."""
    if isinstance(period, str):
        period = Period.parse(period)
    sel = query.select_form(session, form_id, list(scope), period)
    if sel is None:
        raise Problem("export.no_data", 404,
                      f"Form '{form_id}' has no published version with warehouse tables.")
    main = sel.main
    main_stmt: Select = (
        select(main, Submission.instance_id.label("_current_instance_id"))
        .outerjoin(Submission, Submission.id == main.c._submission_id)
        .where(sel.condition).order_by(main.c._submitted_at, main.c._key)
    )
    written: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        written[f"{form_id}.csv"] = _write_rows(zf, f"{form_id}.csv", main_columns(sel),
                                                main_stmt, session, chunk_rows, progress)
        for spec in sel.repeat_specs():
            name = repeat_filename(form_id, spec, sel.schema.root)
            written[name] = _write_rows(zf, name, repeat_columns(sel, spec),
                                        query.repeat_query(sel, spec.name), session,
                                        chunk_rows, progress)
    return written
