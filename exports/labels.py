"""Readable columns: question labels as headers, choice labels instead of codes, place and project
names instead of their codes, Excel-ready dates.

``columns_for`` describes what a data sheet shows for one warehouse table; ``prepare`` turns one
chunk of warehouse rows into per-column value lists for the sheet writer. Pure apart from
``FileChoices``, which reads the lists behind ``select_one_from_file`` questions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from pipeline import nepal_calendar, warehouse
from pipeline.domain import places, tables
from pipeline.models import FormMedia, InnovationProject
from pipeline.schema import ColumnSpec, FormSchema, TableSpec, table_name

from . import geo

# Kinds of sheet columns; the sheet writer has one cell writer per kind.
TEXT, INTEGER, NUMBER, DATE, DATETIME, LINK = "text", "integer", "number", "date", "datetime", "link"

_KINDS = {"int": INTEGER, "decimal": NUMBER, "date": DATE, "dateTime": DATETIME}
_ATTACHMENT_TYPES = {"binary", "image", "audio", "video", "file"}
# geopoint parts worth a column in a workbook (altitude and accuracy stay in the CSV zip)
_GEOPOINT_PARTS = {"latitude": {"en": "latitude", "bn": "অক্ষাংশ", "ne": "अक्षांश"},
                   "longitude": {"en": "longitude", "bn": "দ্রাঘিমাংশ", "ne": "देशान्तर"}}

# Headers of the metadata columns every sheet carries.
NEPAL_COLUMNS = {"country", "province", "local_level"}
BS_NAME = {"en": "BS", "bn": "বি.স.", "ne": "वि.सं."}
META_HEADERS = {
    "_submitted_at": {"en": "Submitted (UTC)", "bn": "জমার সময় (UTC)", "ne": "पेश गरिएको (UTC)"},
    "_submitter": {"en": "Submitted by", "bn": "জমাদানকারী", "ne": "पेश गर्ने"},
    "_review_state": {"en": "Review state", "bn": "পর্যালোচনার অবস্থা", "ne": "समीक्षा अवस्था"},
    "_key": {"en": "KEY", "bn": "KEY", "ne": "KEY"},
    "_parent_key": {"en": "PARENT_KEY", "bn": "PARENT_KEY", "ne": "PARENT_KEY"},
}
REVIEW_STATE_LABELS = {
    "received": {"en": "Received", "bn": "প্রাপ্ত", "ne": "प्राप्त"},
    "approved": {"en": "Approved", "bn": "অনুমোদিত", "ne": "स्वीकृत"},
    "has_issues": {"en": "Has issues", "bn": "সমস্যা আছে", "ne": "समस्या छ"},
    "rejected": {"en": "Rejected", "bn": "প্রত্যাখ্যাত", "ne": "अस्वीकृत"},
    "edited": {"en": "Edited", "bn": "সম্পাদিত", "ne": "सम्पादित"},
}

EXCEL_EPOCH = "1899-12-30"  # day 0 of Excel's serial dates


def pick(labels: dict[str, str], lang: str, fallback: str = "") -> str:
    """The label in ``lang``, else English, else any language the form has, else ``fallback``."""
    for code in (lang, "en", "default"):
        if labels.get(code):
            return labels[code]
    return next((v for v in labels.values() if v), fallback)


def review_state_names(lang: str) -> dict[str, str]:
    return {state: pick(names, lang) for state, names in REVIEW_STATE_LABELS.items()}


@dataclass(frozen=True)
class SheetColumn:
    """One column of a data sheet."""

    source: str  # warehouse column
    field: str  # the field's name, shown under the label
    header: str  # the question label in the chosen language
    kind: str = TEXT
    codes: dict[str, str] | None = None  # code -> label
    multiple: bool = False  # space-separated codes (select_multiple)
    width: float = 14
    calendar: str = ""  # "bs": the source date in Bikram Sambat, for Nepal rows only


class FileChoices:
    """Labels of the lists behind ``select_one_from_file`` questions, read once per export.

    Place lists come from ``pipeline.domain.places``; the project registry from its table; other lists
    (ballot candidates, action plans) from their rows in the warehouse or an uploaded CSV.
    """

    def __init__(self, session: Session, lang: str) -> None:
        self.session, self.lang = session, lang
        self._cache: dict[str, dict[str, str]] = {}

    def get(self, filename: str) -> dict[str, str]:
        if filename not in self._cache:
            self._cache[filename] = self._load(filename)
        return self._cache[filename]

    def _load(self, filename: str) -> dict[str, str]:
        stem = filename.rsplit(".", 1)[0]
        for column, levels in geo.COLUMN_LEVELS.items():
            if stem in levels:
                return geo.column_names(column, self.lang)
        if stem == "innovation_projects":
            return project_names(self.session, self.lang)
        if stem == "ballot_candidates":
            return self._warehouse_names("hl_nomination", "practice_title")
        if stem == "action_plans":
            return self._warehouse_names("hl_action_plan", "participant_name")
        content = self.session.scalar(
            select(FormMedia.content).where(FormMedia.name == filename).order_by(FormMedia.id.desc())
        )
        return csv_choice_labels(content, self.lang) if content else {}

    def _warehouse_names(self, form_id: str, column: str) -> dict[str, str]:
        """Submission key (without ``uuid:``) → one answer, for lists built from the warehouse."""
        conn = self.session.connection()
        table = warehouse.form_tables(conn, form_id).get(table_name(form_id))
        if table is None or column not in table.c:
            return {}
        rows = conn.execute(select(table.c._key, table.c[column]))
        return {bare_key(key): str(name or "") for key, name in rows}


def bare_key(key: str) -> str:
    return key[5:] if key.startswith("uuid:") else key


def project_names(session: Session, lang: str) -> dict[str, str]:
    rows = session.execute(select(InnovationProject.code, InnovationProject.title_en,
                                  InnovationProject.title_bn))
    return {code: (bn if lang == "bn" and bn else en) for code, en, bn in rows}


def csv_choice_labels(content: bytes, lang: str) -> dict[str, str]:
    """``name`` → label from a choices CSV (``label::English (en)`` style or plain ``label``)."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    headers = reader.fieldnames or []
    wanted = [h for h in headers if h.endswith(f"({lang})") or h == f"label_{lang}"] + \
        [h for h in headers if h.endswith("(en)") or h == "label_en"] + \
        [h for h in headers if h == "label"]
    if "name" not in headers or not wanted:
        return {}
    return {row["name"]: next((row[h] for h in wanted if row.get(h)), row["name"]) for row in reader}


def _field_header(spec: ColumnSpec, lang: str) -> str:
    return pick(spec.labels, lang, spec.name)


def columns_for(spec: TableSpec, table: Table, lang: str, files: FileChoices,
                older: list[FormSchema] | None = None, *, is_main: bool) -> list[SheetColumn]:
    """The sheet columns for one warehouse table, in form order, then the metadata."""
    cols: list[SheetColumn] = []
    present = set(table.c.keys())
    seen: set[str] = set()
    fields = list(spec.columns)
    # Fields only older versions had still hold data: keep them, after the current ones.
    for schema in older or []:
        for old_spec in schema.tables:
            if old_spec.name == spec.name:
                fields += [c for c in old_spec.columns if c.name not in {f.name for f in fields}]
    # Forms that may hold Nepal rows (Forms 1 and 2) show each date in Bikram Sambat beside it.
    nepal = is_main and bool(NEPAL_COLUMNS & present)
    for f in fields:
        if f.type == "geopoint":
            for part, names in _GEOPOINT_PARTS.items():
                name = f"{f.name}_{part}"
                if name in present:
                    cols.append(SheetColumn(name, name, f"{_field_header(f, lang)} ({pick(names, lang)})",
                                            NUMBER, width=12))
            continue
        if f.name not in present or f.name in seen:
            continue
        seen.add(f.name)
        cols.append(_column(f, lang, files))
        if nepal and cols[-1].kind == DATE:
            cols.append(SheetColumn(f.name, f"{f.name}_bs",
                                    f"{_field_header(f, lang)} ({pick(BS_NAME, lang)})",
                                    calendar="bs", width=12))
    for meta in (("_submitted_at", "_submitter", "_review_state", "_key") if is_main
                 else ("_parent_key", "_key")):
        if meta in present:
            kind = DATETIME if meta == "_submitted_at" else TEXT
            codes = review_state_names(lang) if meta == "_review_state" else None
            width = 40 if meta.endswith("key") else 16
            cols.append(SheetColumn(meta, meta.lstrip("_").upper() if meta.endswith("key") else meta,
                                    pick(META_HEADERS[meta], lang), kind, codes, width=width))
    return cols


def _column(f: ColumnSpec, lang: str, files: FileChoices) -> SheetColumn:
    header = _field_header(f, lang)
    if f.type in _ATTACHMENT_TYPES:
        return SheetColumn(f.name, f.name, header, LINK, width=24)
    kind = _KINDS.get(f.type, TEXT)
    codes: dict[str, str] | None = None
    if f.name in geo.COLUMN_LEVELS:  # location codes read as place names in every form
        codes = geo.column_names(f.name, lang)
    elif f.choices:
        codes = {value: pick(labels, lang, value) for value, labels in f.choices.items()}
    elif f.choice_file:
        codes = files.get(f.choice_file)
    multiple = f.type in ("select_multiple", "rank")
    width = {DATE: 12, DATETIME: 18, INTEGER: 10, NUMBER: 12}.get(kind, 18 if codes else 24)
    return SheetColumn(f.name, f.name, header, kind, codes, multiple, width)


@dataclass
class Prepared:
    """One chunk ready to write: one list of cell values per column (None = leave blank)."""

    values: list[list[object]]
    rows: int
    extra: dict[str, list[object]] = field(default_factory=dict)


def prepare(chunk: Mapping[str, Any], columns: list[SheetColumn],
            link: Callable[[object, object], str] | None = None) -> Prepared:
    """Convert a chunk of warehouse rows (column name → values: a DataFrame or
    ``query.column_chunks``) into cell values: labels for codes, Excel serial numbers for dates,
    floats for numbers, URLs for attachments (``link(submission_id, file name)``)."""
    values = []
    rows = 0
    for col in columns:
        column = _as_list(chunk[col.source])
        rows = len(column)
        if col.calendar == "bs":
            values.append(_bs_dates(column, _nepal_rows(chunk, rows)))
        elif col.kind in (DATE, DATETIME):
            values.append(_excel_dates(column))
        elif col.kind in (INTEGER, NUMBER):
            values.append(_numbers(column))
        elif col.kind == LINK:
            ids = _as_list(chunk["_submission_id"]) if "_submission_id" in chunk else [None] * rows
            values.append([
                (link(sid, name) if link and sid is not None else "", str(name)) if name else None
                for sid, name in zip(ids, column, strict=True)
            ])
        elif col.codes is not None:
            values.append(_labelled(column, col.codes, col.multiple))
        else:
            values.append(_text(column))
    return Prepared(values, rows)


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)  # a pandas Series


def _numbers(values: list[Any]) -> list[object]:
    """Numbers as they are; text (a column widened to text by a form change) converted."""
    if any(type(v) is str for v in values):
        import pandas as pd  # here: pages that show labels never load pandas

        values = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").tolist()
    return [None if v is None or v != v else v for v in values]


MAX_CELL_TEXT = 32_767  # Excel's limit for one cell


def _text(values: list[Any]) -> list[object]:
    out: list[object] = []
    for v in values:
        if type(v) is not str:
            v = None if v is None or v != v else str(v)
        out.append((v if len(v) <= MAX_CELL_TEXT else v[:MAX_CELL_TEXT]) if v else None)
    return out


def _labelled(values: list[Any], codes: dict[str, str], multiple: bool) -> list[object]:
    """Codes to labels, each distinct value converted once (a chunk repeats few of them)."""
    cache: dict[object, object] = {}
    out = []
    for v in values:
        if v is None or v != v or v == "":
            out.append(None)
            continue
        label = cache.get(v)
        if label is None:
            text = str(v)
            if multiple:
                label = "; ".join(codes.get(code, code) for code in text.split())
            else:
                label = codes.get(text, text)
            cache[v] = label
        out.append(label)
    return out


def _nepal_rows(chunk: Mapping[str, Any], rows: int) -> list[bool]:
    """Which rows of a chunk are Nepal's (``places.country_of`` on its location columns)."""
    present = {c: _as_list(chunk[c]) for c in
               ("country", "province", "local_level", "district", "division", "upazila")
               if c in chunk}
    return [places.country_of({c: (v[i] if v[i] == v[i] else None) for c, v in present.items()})
            == "np" for i in range(rows)]


def _bs_dates(values: list[Any], nepal: list[bool]) -> list[object]:
    """``2083/07/03`` for a Nepal row's date (Latin digits, so Excel sorts and filters them);
    blank for other rows and for dates outside the BS table."""
    out: list[object] = []
    for value, in_nepal in zip(values, nepal, strict=True):
        day = tables.as_date(value) if in_nepal and value is not None and value == value else None
        try:
            out.append(nepal_calendar.written(day) if day else None)
        except ValueError:
            out.append(None)
    return out


def _excel_dates(values: list[Any]) -> list[object]:
    """Dates and datetimes as Excel serial numbers (days since 1899-12-30), UTC, vectorised."""
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True,
                            errors="coerce").dt.tz_localize(None)
    serial = (stamps - pd.Timestamp(EXCEL_EPOCH)) / pd.Timedelta(days=1)
    return [None if v != v else v for v in serial.tolist()]
