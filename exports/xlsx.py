"""The district workbook: Summary with charts, one sheet per form and per repeat, ballot results,
action plans with their follow-ups, and the innovation project registry.

Written with xlsxwriter in ``constant_memory`` mode: each data sheet is streamed chunk by chunk
from the warehouse, so memory stays flat however many submissions the district has. The Summary
sheet comes first in the workbook but is filled last, from counts gathered while streaming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

import pandas as pd
import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import problems, review
from pipeline import scope as scopes
from pipeline.domain import followups
from pipeline.models import Form

from . import domain_sheets, geo, labels, localtime, query, sheets, summaries, words
from .period import Period
from .sheets import EXCEL_MAX_ROWS, SCRIPT_FONT, Formats, WrittenTable, write_table

# Forms in the order a district office reads them; sheet names stay English in every language
# so formulas and macros that name a sheet keep working.
FORM_SHEETS = {
    "innovation_inspection": "Inspections",
    "hl_nomination": "Nominations",
    "hl_ballot": "Ballots",
    "hl_action_plan": "Action plans",
    "hl_followup": "Follow-ups",
}
LANGUAGES = words.LANGUAGES  # the workbook speaks every language its words are in

class Progress(Protocol):
    """Anything with tqdm's ``update(n)``; ``total`` is set once the row count is known."""

    total: Any

    def update(self, n: int = 1) -> Any: ...


@dataclass
class WorkbookReport:
    """What was written, for the CLI and the tests."""

    sheets: list[str] = field(default_factory=list)
    tables: list[WrittenTable] = field(default_factory=list)
    submissions: dict[str, int] = field(default_factory=dict)  # form id -> rows written

    @property
    def splits(self) -> list[WrittenTable]:
        return [t for t in self.tables if len(t.sheets) > 1]


def attachment_url(server_url: str) -> Callable[[object, object], str]:
    base = server_url.rstrip("/")
    return lambda submission_id, name: f"{base}/attachments/{submission_id}/{name}"


def build_workbook(session: Session, scope: list[str] | tuple[str, ...], period: Period | str | None,
                   lang: str, out: str | Path | IO[bytes], server_url: str,
                   progress: Progress | None = None, *, max_rows: int = EXCEL_MAX_ROWS,
                   chunk_rows: int = query.CHUNK_ROWS,
                   filters: query.Filters | None = None,
                   as_of: date | None = None) -> WorkbookReport:
    """Write the workbook for ``scope`` (scope codes) and ``period`` in ``lang`` to ``out``
    (a path or a binary file-like object, so a web response can stream it). Follow-ups are
    due or overdue as of ``as_of``: the tracker's today (``followups.today``) unless given."""
    if lang not in LANGUAGES:
        raise problems.bad_language(lang)
    if isinstance(period, str):
        period = Period.parse(period)
    scopes.parse(list(scope))  # refuse a bad scope before any file is written
    # Every cell, formatted or not and in every language, in one font with Latin, Bengali and
    # Devanagari glyphs: the English workbook's Bengali names and answers look as in the Bengali one.
    font = SCRIPT_FONT
    options: dict[str, Any] = {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "default_date_format": "yyyy-mm-dd",
        "default_format_properties": {"font_name": font, "font_size": 11},
    }
    country = localtime.sheet_countries(scope, ("country",))[0]
    now = datetime.now(ZoneInfo(localtime.COUNTRY_ZONES[country]))
    workbook = xlsxwriter.Workbook(out, options)
    formats = Formats(workbook, font)
    taken = {"Summary"}
    summary_sheet = workbook.add_worksheet("Summary")
    report = WorkbookReport()
    counter = summaries.Counter()
    files = labels.FileChoices(session, lang)
    link = attachment_url(server_url)

    selections = _selections(session, scope, period, filters)
    if progress is not None:
        progress.total = sum(query.count(session, s) for s in selections) or 1
    for sel in selections:
        title = FORM_SHEETS.get(sel.form_id, sel.title)
        clock = labels.SheetClock(localtime.sheet_countries(scope, sel.main.c.keys()))
        main_cols = labels.columns_for(sel.schema.main, sel.main, lang, files, sel.older_schemas,
                                       is_main=True, clock=clock, comments=True)

        def main_chunks(sel: query.FormSelection = sel, cols: list = main_cols,
                        clock: labels.SheetClock = clock):
            wanted = _read_columns(sel.main, cols, SUMMARY_COLUMNS + localtime.COUNTRY_COLUMNS)
            for chunk in query.column_chunks(session, sel, chunk_rows=chunk_rows, columns=wanted):
                found = review.comments(session, chunk["_submission_id"])
                chunk[labels.REVIEW_COMMENTS] = [found.get(i) for i in chunk["_submission_id"]]
                prepared = labels.prepare(chunk, cols, link, lang, clock)
                counter.add(sel.form_id, pd.DataFrame(
                    {c: list(chunk[c]) for c in SUMMARY_COLUMNS if c in chunk}))
                if progress is not None:
                    progress.update(prepared.rows)
                yield prepared

        written = write_table(workbook, formats, title, main_cols, main_chunks(), taken, max_rows)
        written.label = form_title(sel, lang)
        report.tables.append(written)
        report.submissions[sel.form_id] = written.rows
        for spec in sel.repeat_specs():
            cols = labels.columns_for(spec, sel.tables[spec.name], lang, files, sel.older_schemas,
                                      is_main=False, clock=clock)
            wanted = _read_columns(sel.tables[spec.name], cols, ("_submission_id",))
            chunks = (labels.prepare(chunk, cols, link, lang, clock)
                      for chunk in query.column_chunks(session, sel, spec.name, chunk_rows, wanted))
            repeat = spec.name.split("__", 1)[1].replace("__", "-")
            written = write_table(workbook, formats, f"{title} - {repeat}", cols, chunks, taken,
                                  max_rows)
            written.label = f"{form_title(sel, lang)} - {words.word(f'repeat.{repeat}', lang, repeat)}"
            report.tables.append(written)

    context = domain_sheets.Context(session, workbook, formats, taken, lang, scope, period,
                                    selections={s.form_id: s for s in selections},
                                    as_of=as_of or followups.today(scopes.parse(list(scope))))
    domain_sheets.write_all(context)
    report.tables += context.written
    _write_summary(summary_sheet, workbook, formats, counter.frame(), selections, report,
                   scope, period, lang, now, context)
    workbook.close()
    report.sheets = [ws.get_name() for ws in workbook.worksheets()]
    return report


# What the Summary counts by, besides the shown columns; links need the submission id.
SUMMARY_COLUMNS = ("_submission_id", "_submitted_at", "_review_state", "upazila", "local_level",
                   "district")


def _read_columns(table: Any, shown: list[labels.SheetColumn], extra: tuple[str, ...]) -> list[str]:
    """Only the columns a sheet shows or the Summary counts: fewer bytes from the database."""
    needed = {c.source for c in shown} | set(extra)
    return [column.name for column in table.c if column.name in needed]


def _selections(session: Session, scope: list[str] | tuple[str, ...],
                period: Period | None,
                filters: query.Filters | None = None) -> list[query.FormSelection]:
    form_ids = list(session.scalars(select(Form.xml_form_id).order_by(Form.id)))
    ordered = [f for f in FORM_SHEETS if f in form_ids] + [f for f in form_ids if f not in FORM_SHEETS]
    found = (query.select_form(session, form_id, scope, period, filters) for form_id in ordered)
    return [sel for sel in found if sel is not None]


def area_names(lang: str) -> dict[str, str]:
    names = geo.column_names("district", lang)
    names.update(geo.column_names("upazila", lang))
    names.update(geo.column_names("local_level", lang))
    return names


def form_title(sel: query.FormSelection, lang: str) -> str:
    """The form's name inside the sheets: the workbook's word for the five forms, else its title."""
    return words.word(f"form.{sel.form_id}", lang, FORM_SHEETS.get(sel.form_id, sel.title))


def scope_title(scope: list[str] | tuple[str, ...], lang: str) -> str:
    parts = []
    for code in scope:
        if code == "*":
            return words.word("summary.all_areas", lang)
        level, _, value = code.partition(":")
        place = geo.place(level, value)
        parts.append(place.name(lang) if place else code)
    return ", ".join(parts)


def _text(key: str, lang: str) -> str:
    return words.word(f"summary.{key}", lang)


def _write_summary(ws: Any, workbook: Any, formats: Formats, counts: pd.DataFrame,
                   selections: list[query.FormSelection], report: WorkbookReport,
                   scope: list[str] | tuple[str, ...], period: Period | None, lang: str,
                   now: datetime, context: domain_sheets.Context) -> None:
    forms = [s.form_id for s in selections]
    titles = [form_title(s, lang) for s in selections]
    names = area_names(lang)
    ws.set_column(0, 0, 34)
    ws.set_column(1, len(forms) + 6, 14)
    ws.write_string(0, 0, f"{_text('title', lang)}: {scope_title(scope, lang)}", formats.title)
    country = localtime.sheet_countries(scope, ("country",))[0]
    ws.write_string(1, 0, f"{_text('period', lang)}: {period or _text('all_time', lang)} · "
                          f"{_text('generated', lang)} {now:%Y-%m-%d %H:%M} "
                          f"({localtime.zone_label(country)})", formats.note)
    row = 3

    by_area = summaries.per_area_and_form(counts, forms)
    row = _pivot_block(ws, formats, row, _text("area", lang), titles, by_area,
                       [names.get(code, code) for code in by_area.index], lang)
    if len(by_area) and forms:
        chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
        first, last = row - len(by_area) - 1, row - 2
        for i, title in enumerate(titles):
            chart.add_series({"name": title, "categories": ["Summary", first, 0, last, 0],
                              "values": ["Summary", first, i + 1, last, i + 1]})
        chart.set_title({"name": _text("title", lang)})
        chart.set_y_axis({"name": _text("title", lang)})
        chart.set_size({"width": 720, "height": 360})
        ws.insert_chart(3, len(forms) + 3, chart)
    row = max(row, 3 + 19)

    by_month = summaries.per_month_and_form(counts, forms)
    row = _pivot_block(ws, formats, row, _text("month", lang), titles, by_month, list(by_month.index), lang)

    states = summaries.review_states(counts, forms)
    state_names = labels.review_state_names(lang)
    headers = [state_names.get(s, s) for s in states.columns[:-1]] + [_text("total", lang)]
    row = _table(ws, formats, row, [_text("form", lang), *headers],
                 [[title, *map(int, states.loc[form])] for form, title in zip(forms, titles, strict=True)])

    if "hl_action_plan" in context.selections:
        row = _plans_overdue(ws, formats, row, context, lang)

    long = summaries.per_area_form_month(counts)
    title_of = dict(zip(forms, titles, strict=True))
    row = _table(ws, formats, row, [_text("form", lang), _text("area", lang), _text("month", lang),
                                    _text("title", lang)],
                 [[title_of.get(r.form, r.form), names.get(r.area, r.area), r.month, int(r.submissions)]
                  for r in long.itertuples()])

    sheet_rows = [[t.label or t.title, ", ".join(t.sheets), t.rows,
                   _text("split", lang) if len(t.sheets) > 1 else ""]
                  for t in report.tables]
    _table(ws, formats, row, [_text(k, lang) for k in ("table", "sheets", "rows", "note")], sheet_rows)
    sheets.print_setup(ws, header_rows=0, freeze=False)


def _plans_overdue(ws: Any, formats: Formats, row: int, context: domain_sheets.Context,
                   lang: str) -> int:
    """Per district: its action plans and how many are overdue for a follow-up on the export
    date, most overdue first (the dashboard's count, from the same function)."""
    ws.write_string(row, 0, _text("plans_overdue", lang).format(day=context.as_of.isoformat()),
                    formats.bold)
    plans = Counter(t.entry.plan.district for t in context.tracked)
    overdue = dict(followups.overdue_by_district(context.tracked))
    order = list(overdue) + sorted(d for d in plans if d not in overdue)
    districts = geo.column_names("district", lang)
    rows = [[districts.get(d, d) or "–", plans[d], overdue.get(d, 0)] for d in order]
    headers = [_text("district", lang), _text("plans", lang), words.word("status.overdue", lang)]
    row += 1
    for col, header in enumerate(headers):
        ws.write_string(row, col, header, formats.header)
    for r, (name, count, late) in enumerate(rows, start=row + 1):  # in order: constant_memory
        ws.write_string(r, 0, name, formats.text)
        ws.write_number(r, 1, count)
        ws.write_number(r, 2, late, formats.status["overdue"] if late else None)
    return row + len(rows) + 2


def _pivot_block(ws: Any, formats: Formats, row: int, first_header: str, titles: list[str],
                 table: pd.DataFrame, row_names: list[str], lang: str) -> int:
    rows = [[name, *map(int, values)] for name, values in zip(row_names, table.to_numpy().tolist(),
                                                             strict=True)]
    return _table(ws, formats, row, [first_header, *titles, _text("total", lang)], rows)


def _table(ws: Any, formats: Formats, row: int, headers: list[str], rows: list[list[Any]]) -> int:
    """A small table with a header row; returns the row after it and one blank row."""
    for col, header in enumerate(headers):
        ws.write_string(row, col, header, formats.header)
    for r, values in enumerate(rows, start=row + 1):
        for col, value in enumerate(values):
            if isinstance(value, (int, float)):
                ws.write_number(r, col, value)
            elif value not in (None, ""):
                ws.write_string(r, col, str(value), formats.text)
    return row + len(rows) + 2
