"""Scoped reads of the warehouse for the review pages: filters, search, keyset pages, cheap
counts and single rows. Every query here carries the user's scope in its ``WHERE``.

Pages are keyset pages: ordered by the chosen column then ``_submission_id``, each page starts
after the last row of the one before (the cursor is that row's id; its value is read back), so
page 2,000 costs what page 1 costs. A page number typed in goes by offset. The count stops at
``COUNT_CAP`` rows so a large table never makes a list slow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    tuple_,
)

from exports import geo, query
from pipeline import nepal_calendar, problems, search, warehouse
from pipeline import scope as scoping
from pipeline.schema import table_name

PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100, 200)
MAX_OFFSET = 100_000  # rows skipped at most by a typed-in page number (keyset pages go anywhere)
COUNT_CAP = 10_000
# Filters offered when the form has the column (docs/fields.md names).
FILTER_COLUMNS = ("division", "district", "upazila", "project", "inspector_name", "stage")
FREE_TEXT = ("inspector_name",)  # matched anywhere in the answer, case-insensitively


@dataclass
class Filters:
    values: dict[str, str] = field(default_factory=dict)  # column -> code
    date_from: date | None = None
    date_to: date | None = None
    review_state: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        values = {c: args.get(c, "").strip() for c in FILTER_COLUMNS if args.get(c, "").strip()}
        return cls(values, _date(args.get("from")), _date(args.get("to")),
                   args.get("review_state", "").strip(), args.get("q", "").strip()[:100])

    def query_args(self) -> dict[str, str]:
        out = dict(self.values)
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.review_state:
            out["review_state"] = self.review_state
        if self.q:
            out["q"] = self.q
        return out


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(text: str | None) -> date | None:
    """A filter's date: ``2026-12-02`` (the date picker's ISO Gregorian) or a Bikram Sambat date
    as Nepal pages take it (``2083/08/16``, ``२०८३/०८/१६``, ``2083-08-16 BS``)."""
    text = (text or "").strip()
    try:
        if not text:
            return None
        return date.fromisoformat(text) if ISO_DAY.fullmatch(text) else nepal_calendar.parse(text)
    except ValueError:
        raise problems.bad_date_filter(text) from None


def main_table(conn: Connection, form_id: str) -> Table | None:
    """The form's warehouse main table as it is now (None before its first submission)."""
    return warehouse.form_tables(conn, form_id).get(table_name(form_id))


def repeat_tables(conn: Connection, form_id: str) -> list[Table]:
    main = table_name(form_id)
    return [t for name, t in warehouse.form_tables(conn, form_id).items() if name != main]


def date_column(table: Table) -> Any:
    """The date a list shows and filters on (the same one exports use with --date-basis visit)."""
    return query.date_column(table)


def conditions(table: Table, scope: scoping.Scope, filters: Filters) -> list[Any]:
    where = [scoping.where(table, scope)]
    for column, value in filters.values.items():
        if column in FREE_TEXT and column in table.c:
            where.append(table.c[column].ilike(f"%{_like_text(value)}%"))
        elif column in table.c:
            where.append(table.c[column] == value)
    if filters.review_state and "_review_state" in table.c:
        where.append(table.c._review_state == filters.review_state)
    when = date_column(table)
    if filters.date_from or filters.date_to:
        where.extend(_date_range(when, filters.date_from, filters.date_to))
    if filters.q:
        where.append(_search(table, filters.q))
    return where


def _date_range(column: Any, start: date | None, end: date | None) -> list[Any]:
    if isinstance(column.type, DateTime):
        lo = datetime.combine(start, time(), UTC) if start else None
        hi = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
        return [c for c in (lo and column >= lo, hi and column < hi) if c is not None]
    if isinstance(column.type, Date):
        return [c for c in (start and column >= start, end and column <= end) if c is not None]
    # Text dates (ISO) compare correctly as strings.
    return [c for c in (start and column >= start.isoformat(),
                        end and column <= end.isoformat()) if c is not None]


def _like_text(text: str) -> str:
    return text.replace("%", "").replace("_", " ").strip()


def _search(table: Table, q: str) -> Any:
    """Rows whose text (answers, names, places in three languages, project names) contains
    every word of ``q``: looked up in the search index (``pipeline.search``), never a scan."""
    found = search.matching(table.name, q)
    return table.c._submission_id.in_(found) if found is not None else true()


@dataclass
class Page:
    rows: list[Any]
    newer: int | None  # pass as ?after= for the previous page
    older: int | None  # pass as ?before= for the next page
    number: int = 1  # this page's number, counted from the first


@dataclass(frozen=True)
class Sort:
    column: str = "_submission_id"
    descending: bool = True

    @classmethod
    def parse(cls, text: str | None, allowed: list[str] | tuple[str, ...], default: Sort) -> Sort:
        """``visit_date`` (oldest first) or ``-visit_date`` (newest first); a column the list
        does not show sorts as the default."""
        text = (text or "").strip()
        name = text.lstrip("-")
        return cls(name, text.startswith("-")) if name in allowed else default

    @property
    def arg(self) -> str:
        return f"-{self.column}" if self.descending else self.column

    def toggled(self, column: str) -> str:
        """The ``sort`` argument of a column heading's link: the other way round if it is this
        list's sort, else newest (or largest) first."""
        return column if column == self.column and self.descending else f"-{column}"


def default_sort(table: Table) -> Sort:
    """Newest first on the date the list shows (so the dates read in order), then arrival."""
    return Sort(date_column(table).name, True)


def reading_order(table: Table, sort: Sort, scope: scoping.Scope, filters: Filters) -> Sort:
    """The order the list reads its rows in: ``sort``, unless every row the list can show has
    the same value in the sorted column (the district a filter picks or a one-district reader's
    scope is limited to; any column a filter picks one value of). Then the sort leaves only its
    tie-break, and the list reads in its default order (newest first), which the index on
    (district, date, id) walks: ordered by the column then only by id, the database sorted
    every row in the reader's area for each page (0.5-0.7 s at 100,000 on SQLite). The page
    still shows the column as the sorted one; its equal rows now come newest first, not by id.
    """
    fixed = {c for c in filters.values if c not in FREE_TEXT}
    areas = {"district": scope.districts, "local_level": scope.local_levels}  # plain IN (...)
    if not (scope.everything or scope.divisions or scope.provinces):
        chosen = [column for column, codes in areas.items() if codes]
        if len(chosen) == 1 and len(areas[chosen[0]]) == 1:
            fixed.add(chosen[0])
    return default_sort(table) if sort.column in fixed and sort.column in table.c else sort


def _order(column: Any, key: Any, descending: bool) -> list[Any]:
    """Rows in ``descending`` (or ascending) order of column, then key; empty values last."""
    if column is key:
        return [key.desc() if descending else key.asc()]
    return [column.desc().nulls_last() if descending else column.asc().nulls_last(),
            key.desc() if descending else key.asc()]


def _reverse_order(column: Any, key: Any, descending: bool) -> list[Any]:
    if column is key:
        return [key.asc() if descending else key.desc()]
    return [column.asc().nulls_first() if descending else column.desc().nulls_first(),
            key.asc() if descending else key.desc()]


def _past(column: Any, key: Any, value: Any, at: int, descending: bool,
          forward: bool) -> list[Any]:
    """Rows after the cursor row (value, at) in the list's order (``forward``), or before it, as
    conditions to read one after another (each an index range: ``(column, key) < (value, at)``
    walks the index from the cursor, where one ``OR`` of them all made the database filter
    every row before it, seconds deep into a million)."""
    later = descending == forward  # whether "after" means smaller values
    if column is key:
        return [key < at if later else key > at]

    def beyond(a: Any, b: Any) -> Any:
        return a < b if later else a > b

    if value is None:
        if forward:  # empty values come last: only empty ones with a later key follow
            return [and_(column.is_(None), beyond(key, at))]
        # going back from an empty value: earlier empty ones, then every value
        return [and_(column.is_(None), beyond(key, at)), column.is_not(None)]
    cursor = tuple_(bindparam(None, value, type_=column.type), bindparam(None, at, type_=key.type))
    row = beyond(tuple_(column, key), cursor)
    return [row, column.is_(None)] if forward else [row]


def _read(conn: Connection, ordered: Any, parts: list[Any], limit: int) -> list[Any]:
    """Up to ``limit`` rows of ``ordered``, from each of ``parts`` in turn."""
    rows: list[Any] = []
    for part in parts:
        rows += conn.execute(ordered.where(part).limit(limit - len(rows))).all()
        if len(rows) >= limit:
            break
    return rows


def page(conn: Connection, table: Table, where: list[Any], before: int | None = None,
         after: int | None = None, size: int = PAGE_SIZE, sort: Sort | None = None,
         number: int = 1) -> Page:
    """One page of rows in ``sort`` order: the first, the one after the row ``before`` (an
    id; "older" in the default order), the one before the row ``after``, or page ``number``
    when no cursor is given."""
    sort = sort or Sort()
    key = table.c._submission_id
    column = table.c.get(sort.column, key)
    stmt = select(table).where(*where)
    cursor = after if after is not None else before
    if cursor is not None:
        found = conn.execute(select(column).where(key == cursor, *where)).first()
        if found is None:  # the row has gone (edited, out of the filter): start again
            cursor, before, after, number = None, None, None, 1
        else:
            value = found[0]
    number = max(1, number)
    if after is not None:
        past = _past(column, key, value, after, sort.descending, forward=False)
        rows = _read(conn, stmt.order_by(*_reverse_order(column, key, sort.descending)), past,
                     size + 1)
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        older = rows[-1]._submission_id if rows else None
        number = max(1, number - 1)
        if not more_newer:
            number = 1
        return Page(rows, rows[0]._submission_id if rows and more_newer else None, older, number)
    ordered = stmt.order_by(*_order(column, key, sort.descending))
    if before is not None:
        rows = _read(conn, ordered, _past(column, key, value, before, sort.descending, forward=True),
                     size + 1)
        number += 1
    else:
        if number > 1:
            skip = min((number - 1) * size, MAX_OFFSET)
            number = skip // size + 1
            ordered = ordered.offset(skip)
        rows = list(conn.execute(ordered.limit(size + 1)))
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[0]._submission_id if rows and number > 1 else None,
                rows[-1]._submission_id if rows and more_older else None, number)


def cheap_count(conn: Connection, table: Table, where: list[Any]) -> tuple[int, bool]:
    """How many rows match, counting at most ``COUNT_CAP`` (+ whether it stopped there)."""
    capped = select(table.c._submission_id).where(*where).limit(COUNT_CAP + 1).subquery()
    n = int(conn.scalar(select(func.count()).select_from(capped)) or 0)
    return min(n, COUNT_CAP), n > COUNT_CAP


def place_options(table: Table, scope: scoping.Scope, chosen: dict[str, str]) -> dict[str, list[str]]:
    """Divisions, districts and upazilas a user may pick, from the location lists (no query on
    the warehouse, so the filters cost nothing however many rows there are)."""
    divisions = sorted(p.code for p in _level("bd_division")
                       if scope.everything or scope.allows({"division": p.code}))
    # A Bangladesh-only form (no province column) offers no Nepal districts, and the reverse.
    levels = (["bd_district"] if "division" in table.c or "province" not in table.c else []) + \
        (["np_district"] if "province" in table.c or "division" not in table.c else [])
    districts = [p for level in levels for p in _level(level)
                 if scope.allows({"district": p.code})]
    if chosen.get("division"):
        districts = [p for p in districts if p.parent == chosen["division"]]
    out: dict[str, list[str]] = {}
    if "division" in table.c and len(divisions) > 1:
        out["division"] = divisions
    if "district" in table.c:
        out["district"] = [p.code for p in sorted(districts, key=lambda p: p.en)]
    picked = chosen.get("district") or (out.get("district", [""])[0]
                                        if len(out.get("district", [])) == 1 else "")
    if "upazila" in table.c and picked:
        out["upazila"] = [p.code for p in sorted(geo.children("bd_upazila", picked),
                                                 key=lambda p: p.en)]
    return out


def _level(level: str) -> list[geo.Place]:
    return [p for (lvl, _code), p in geo.places().items() if lvl == level]


def one_row(conn: Connection, table: Table, scope: scoping.Scope, submission_id: int) -> Any:
    """The warehouse row of one submission, or a 404 when it is outside the user's scope."""
    row = conn.execute(
        select(table).where(table.c._submission_id == submission_id, scoping.where(table, scope))
    ).first()
    if row is None:
        raise problems.not_found(f"Submission {submission_id}")
    return row


def child_rows(conn: Connection, tables: list[Table], submission_id: int,
               parent_key: str) -> dict[str, list[Any]]:
    """Rows of every repeat table below one submission, by table name."""
    out: dict[str, list[Any]] = {}
    for table in tables:
        if "_submission_id" in table.c:
            stmt = select(table).where(table.c._submission_id == submission_id)
        elif "_parent_key" in table.c:
            # Nested repeats hang below a repeat row: their parent key extends the submission's.
            stmt = select(table).where(or_(table.c._parent_key == parent_key,
                                           table.c._parent_key.like(f"{parent_key}/%")))
        else:
            continue
        rows = list(conn.execute(stmt))
        if "_key" in table.c:  # "…/photos[10]" after "…/photos[9]": by number, not by text
            rows.sort(key=lambda r: [int(n) for n in re.findall(r"\[(\d+)\]", r._key or "")])
        out[table.name] = rows
    return out
