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
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from pipeline import nepal_calendar, warehouse
from pipeline.domain import tables
from pipeline.models import FormMedia, InnovationProject
from pipeline.schema import ColumnSpec, FormSchema, TableSpec, table_name
from pipeline.xform import pick

from . import geo, localtime, words

# Kinds of sheet columns; the sheet writer has one cell writer per kind.
TEXT, INTEGER, NUMBER, DATE, DATETIME, LINK, COMMENTS = (
    "text", "integer", "number", "date", "datetime", "link", "comments")

_KINDS = {"int": INTEGER, "decimal": NUMBER, "date": DATE, "dateTime": DATETIME}
_ATTACHMENT_TYPES = {"binary", "image", "audio", "video", "file"}
# Calculated fields whose values are words: field name → the words group that names them.
VALUE_WORDS = {"may_vote": "yes_no"}
REVIEW_COMMENTS = "_review_comments"  # filled per chunk from the review history
NEPAL_COLUMNS = {"country", "province", "local_level"}

EXCEL_EPOCH = "1899-12-30"  # day 0 of Excel's serial dates


def review_state_names(lang: str) -> dict[str, str]:
    return words.group("state", lang)


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
    """The question's label in ``lang``; for a field the form labels not in ``lang`` (a
    calculate has no label at all) the workbook's own word for it; else any label, else the name."""
    if spec.labels.get(lang):
        return spec.labels[lang]
    key = f"field.{spec.name}"
    return words.word(key, lang) if words.has(key) else pick(spec.labels, lang, spec.name)


@dataclass(frozen=True)
class SheetClock:
    """Which countries' clocks a sheet's times are on: one zone named in the header, or each
    row's own zone with a column naming it."""

    countries: tuple[str, ...] = ("bd",)

    @property
    def default(self) -> str:
        return self.countries[0]

    @property
    def mixed(self) -> bool:
        return len(self.countries) > 1

    def header(self, text: str, lang: str) -> str:
        if self.mixed:
            return f"{text} ({words.word('meta.zone_by_row', lang)})"
        return f"{text} ({localtime.zone_label(self.default)})"


def columns_for(spec: TableSpec, table: Table, lang: str, files: FileChoices,
                older: list[FormSchema] | None = None, *, is_main: bool,
                clock: SheetClock | None = None, comments: bool = False) -> list[SheetColumn]:
    """The sheet columns for one warehouse table, in form order, then the metadata (with the
    review comments when ``comments``, and each row's time zone when ``clock`` is mixed)."""
    clock = clock or SheetClock()
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
            for part in ("latitude", "longitude"):
                name = f"{f.name}_{part}"
                if name in present:
                    header = f"{_field_header(f, lang)} ({words.word(f'meta.{part}', lang)})"
                    cols.append(SheetColumn(name, name, header, NUMBER, width=12))
            continue
        if f.name not in present or f.name in seen:
            continue
        seen.add(f.name)
        column = _column(f, lang, files)
        if column.kind == DATETIME:
            column = replace(column, header=clock.header(column.header, lang))
        cols.append(column)
        if nepal and column.kind == DATE:
            cols.append(SheetColumn(f.name, f"{f.name}_bs",
                                    f"{column.header} ({words.word('meta.bs', lang)})",
                                    calendar="bs", width=12))
    metas = ("_submitted_at", "_submitter", "_review_state", REVIEW_COMMENTS, "_key") if is_main \
        else ("_parent_key", "_key")
    for meta in metas:
        header = words.word(f"meta.{meta}", lang)
        if meta == REVIEW_COMMENTS:
            if comments:
                cols.append(SheetColumn(meta, "review_comments", header, COMMENTS, width=40))
        elif meta in present and meta == "_submitted_at":
            cols.append(SheetColumn(meta, meta, clock.header(header, lang), DATETIME, width=18))
            if clock.mixed:
                cols.append(SheetColumn(localtime.TIME_ZONE, "time_zone",
                                        words.word("meta._time_zone", lang), TEXT, width=16))
        elif meta in present:
            codes = review_state_names(lang) if meta == "_review_state" else None
            width = 40 if meta.endswith("key") else 16
            field_name = meta.lstrip("_").upper() if meta.endswith("key") else meta
            cols.append(SheetColumn(meta, field_name, header, TEXT, codes, width=width))
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
    elif f.name in VALUE_WORDS:
        codes = words.group(VALUE_WORDS[f.name], lang)
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
            link: Callable[[object, object], str] | None = None, lang: str = "en",
            clock: SheetClock | None = None) -> Prepared:
    """Convert a chunk of warehouse rows (column name → values: a DataFrame or
    ``query.column_chunks``) into cell values: labels for codes, Excel serial numbers for dates
    (times on the clock of each row's country), floats for numbers, URLs for attachments
    (``link(submission_id, file name)``), review comments as lines of text."""
    values = []
    first = next(iter(chunk), None)  # a column name, of a dict or a DataFrame alike
    rows = len(chunk[first]) if first is not None else 0
    row_countries: list[str] | None = None

    def countries() -> list[str]:
        nonlocal row_countries
        if row_countries is None:
            sheet = clock or SheetClock()
            # A sheet whose rows can come from one country only needs no look at each row.
            row_countries = localtime.countries(chunk, rows, sheet.default) if sheet.mixed \
                else [sheet.default] * rows
        return row_countries

    for col in columns:
        if col.source in localtime.DERIVED:
            values.append(localtime.DERIVED[col.source](chunk, countries()))
            continue
        column = _as_list(chunk[col.source])
        if col.calendar == "bs":
            values.append(_bs_dates(column, [c == "np" for c in countries()]))
        elif col.kind == DATETIME:
            values.append(localtime.excel_local(column, countries()))
        elif col.kind == DATE:
            values.append(_excel_dates(column))
        elif col.kind in (INTEGER, NUMBER):
            values.append(_numbers(column))
        elif col.kind == LINK:
            ids = _as_list(chunk["_submission_id"]) if "_submission_id" in chunk else [None] * rows
            values.append([
                (link(sid, name) if link and sid is not None else "", str(name)) if name else None
                for sid, name in zip(ids, column, strict=True)
            ])
        elif col.kind == COMMENTS:
            values.append(_comments(column, countries(), lang))
        elif col.codes is not None:
            values.append(_labelled(column, col.codes, col.multiple))
        else:
            values.append(_text(column))
    return Prepared(values, rows)


def _comments(entries: list[Any], row_countries: list[str], lang: str) -> list[object]:
    """Each row's review comments, oldest first, one per line: day (the row's clock), who, the
    state it set, the comment."""
    states = review_state_names(lang)
    out: list[object] = []
    for found, country in zip(entries, row_countries, strict=True):
        if not found:
            out.append(None)
            continue
        zone = localtime.COUNTRY_ZONES[country]
        lines = []
        for e in found:
            day = e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)  # SQLite's are naive UTC
            state = f" ({states.get(e.to_state, e.to_state)})" \
                if e.action == "submission.review" and e.to_state else ""
            lines.append(f"{day.astimezone(ZoneInfo(zone)):%Y-%m-%d} {e.actor}{state}: {e.comment}")
        out.append("\n".join(lines)[:MAX_CELL_TEXT])
    return out


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
    """Dates as Excel serial numbers (days since 1899-12-30), vectorised."""
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True,
                            errors="coerce").dt.tz_localize(None)
    serial = (stamps - pd.Timestamp(EXCEL_EPOCH)) / pd.Timedelta(days=1)
    return [None if v != v else v for v in serial.tolist()]
