"""Data sheets in an xlsxwriter workbook: two header rows, typed cells, links, split at Excel's limit.

Row 1 holds the question labels, row 2 the field names (what R/Stata scripts and the CSV zip
call the column); both stay frozen and the autofilter sits on row 2. A table longer than Excel's
1,048,576 rows continues on "Name (2)", "Name (3)" … and the caller notes the split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .labels import COMMENTS, DATE, DATETIME, INTEGER, LINK, NUMBER, Prepared, SheetColumn

EXCEL_MAX_ROWS = 1_048_576
HEADER_ROWS = 2
# Excel keeps at most 65,530 hyperlinks per sheet; later links become HYPERLINK() formulas.
EXCEL_MAX_URLS = 65_530

# A font with Bengali and Devanagari glyphs on every Windows since 8 (Excel's own fallback for
# those scripts); Vrinda (Bengali) and Mangal (Devanagari) are older Windows fonts.
SCRIPT_FONT = "Nirmala UI"

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unused sheet name (31 characters, no []:*?/\\), recorded in ``taken``."""
    base = _BAD_SHEET_CHARS.sub(" ", text).strip("' ")[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in {t.casefold() for t in taken}:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def print_setup(ws: Any, header_rows: int = 1, *, freeze: bool = True) -> None:
    """How every sheet prints and scrolls: A4 landscape, all columns on the page's width, the
    header rows on every page; the header rows and the first column stay in view."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&C&P / &N")
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    if freeze:
        ws.freeze_panes(header_rows, 1)


class Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, workbook: Any, font: str | None) -> None:
        base = {"font_name": font} if font else {}
        self.font = font

        def make(**props: Any) -> Any:
            return workbook.add_format({**base, **props})

        self.text = make()
        self.wrap = make(text_wrap=True, valign="top")
        self.header = make(bold=True, text_wrap=True, valign="top", bg_color="#DDEBF7", border=1)
        self.field = make(italic=True, font_color="#595959", font_size=9, bg_color="#F2F2F2", border=1)
        self.date = make(num_format="yyyy-mm-dd")
        self.datetime = make(num_format="yyyy-mm-dd hh:mm")
        self.integer = make(num_format="0")
        self.number = make(num_format="0.######")
        self.percent = make(num_format="0%")
        self.link = make(font_color="blue", underline=1)
        self.title = make(bold=True, font_size=14)
        self.bold = make(bold=True)
        self.note = make(italic=True, font_color="#7F7F7F")
        self.highlight = make(bg_color="#E2EFDA")
        self.warning = make(bg_color="#FCE4D6")
        # A follow-up period's or plan's status on the tracker: red, amber, green.
        self.status = {"overdue": make(bg_color="#F8CBAD", font_color="#9C0006", bold=True),
                       "due": make(bg_color="#FFEB9C", font_color="#9C5700"),
                       "reported": make(bg_color="#C6EFCE", font_color="#006100")}


@dataclass
class WrittenTable:
    """What a data sheet holds, for the summary: its sheets (more than one when split) and rows."""

    title: str
    sheets: list[str] = field(default_factory=list)
    rows: int = 0
    label: str = ""  # the table's name in the workbook's language (sheet names stay English)


class DataSheet:
    """Writes one table's chunks row by row (constant_memory order), splitting when full."""

    def __init__(self, workbook: Any, formats: Formats, title: str, columns: list[SheetColumn],
                 taken: set[str], max_rows: int = EXCEL_MAX_ROWS) -> None:
        self.workbook, self.formats, self.columns = workbook, formats, columns
        self.taken, self.capacity = taken, max_rows - HEADER_ROWS
        self.written = WrittenTable(title)
        self._sheet: Any = None
        self._row = 0
        self._urls = 0
        self._new_sheet()
        # Only dates need a cell format; text and numbers use the workbook's default (which
        # carries the script font), links xlsxwriter's hyperlink style: fewer bytes per cell.
        kinds = {DATE: formats.date, DATETIME: formats.datetime, COMMENTS: formats.wrap}
        self._formats = [kinds.get(c.kind) for c in columns]

    def _new_sheet(self) -> None:
        if self._sheet is not None:
            self._finish_sheet()
        part = len(self.written.sheets) + 1
        name = sheet_name(self.written.title if part == 1 else f"{self.written.title} ({part})",
                          self.taken)
        ws = self.workbook.add_worksheet(name)
        self.written.sheets.append(name)
        # constant_memory flushes a row once a later one is written: row 1 whole, then row 2.
        for col, spec in enumerate(self.columns):
            ws.set_column(col, col, spec.width)
            ws.write_string(0, col, spec.header, self.formats.header)
        for col, spec in enumerate(self.columns):
            ws.write_string(1, col, spec.field, self.formats.field)
        ws.set_row(0, 45)
        print_setup(ws, HEADER_ROWS)
        self._sheet, self._row, self._urls = ws, HEADER_ROWS, 0
        # One bound writer per column, so the row loop does no type dispatch.
        numbers = (NUMBER, INTEGER, DATE, DATETIME)
        self._writers = [ws.write_number if c.kind in numbers
                         else self._write_link if c.kind == LINK else ws.write_string
                         for c in self.columns]

    def _finish_sheet(self) -> None:
        if self.columns:
            self._sheet.autofilter(1, 0, max(self._row - 1, 1), len(self.columns) - 1)

    def write(self, chunk: Prepared) -> None:
        formats = self._formats
        writers = self._writers
        for cells in zip(*chunk.values, strict=True) if chunk.values else ():
            if self._row - HEADER_ROWS >= self.capacity:
                self._new_sheet()
                writers = self._writers
            r = self._row
            for c, value in enumerate(cells):
                if value is not None:
                    writers[c](r, c, value, formats[c])
            self._row += 1
        self.written.rows += chunk.rows

    def _write_link(self, r: int, c: int, value: tuple[str, str], fmt: Any) -> None:
        ws, (url, name) = self._sheet, value
        if not url:
            ws.write_string(r, c, name)
        elif self._urls < EXCEL_MAX_URLS:
            ws.write_url(r, c, url, None, name)
            self._urls += 1
        else:
            quoted_url, quoted_name = url.replace('"', '""'), name.replace('"', '""')
            ws.write_formula(r, c, f'=HYPERLINK("{quoted_url}","{quoted_name}")',
                             self.formats.link, name)

    def close(self) -> WrittenTable:
        self._finish_sheet()
        return self.written


def write_table(workbook: Any, formats: Formats, title: str, columns: list[SheetColumn],
                chunks: Iterable[Prepared], taken: set[str],
                max_rows: int = EXCEL_MAX_ROWS) -> WrittenTable:
    sheet = DataSheet(workbook, formats, title, columns, taken, max_rows)
    for chunk in chunks:
        sheet.write(chunk)
    return sheet.close()
