"""Reporting periods: ``2026``, ``2026-H2``, ``2026-Q3``, ``2026-07``, ``2026-07-01..2026-09-30``,
and Nepal's fiscal periods ``2083/84``, ``2083/84-H1``, ``2083/84-Q2``.

A period is a closed range of calendar days; submissions belong to it by ``_submitted_at`` (UTC).
Nepal's fiscal year runs from 1 Shrawan to the end of Asar (mid-July to mid-July), written by its
two Bikram Sambat years; its quarters and halves count from Shrawan (Q1 Shrawan–Asoj, Q2
Kartik–Poush, H1 Shrawan–Poush). Bangladesh keeps calendar periods (docs/exports.md says why).
``last-month``, ``last-quarter`` and ``this-month`` are relative to a given day, for scheduled
exports; for a Nepal area (``country="np"``) ``last-quarter`` is the last fiscal quarter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline import nepal_calendar, problems

_YEAR = re.compile(r"(\d{4})")
_HALF = re.compile(r"(\d{4})-H([12])")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"({_DAY})\s*\.\.\s*({_DAY})")
_FISCAL = re.compile(r"(\d{4})/(\d{2})(?:-([QH])([1-4]))?")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    text: str
    country: str = ""  # "np": a Nepal fiscal period, whose days read in Bikram Sambat

    def __str__(self) -> str:
        return self.text

    @property
    def slug(self) -> str:
        """The period as it reads in a file name."""
        return self.text.replace("..", "_").replace("/", "-")

    def bounds(self) -> tuple[datetime, datetime]:
        """``[start, end + 1 day)`` as UTC datetimes, for a ``WHERE`` on ``_submitted_at``."""
        return (datetime.combine(self.start, time(), UTC),
                datetime.combine(self.end + timedelta(days=1), time(), UTC))

    def contains(self, moment: datetime | date) -> bool:
        day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
        return self.start <= day <= self.end

    @classmethod
    def parse(cls, text: str, today: date | None = None, country: str = "") -> Period:
        """A period from its text; ``country="np"`` makes ``last-quarter`` Nepal's last fiscal
        quarter (the fiscal forms themselves are read for any area)."""
        raw = text.strip()
        today = today or datetime.now(UTC).date()
        try:
            if m := _FISCAL.fullmatch(raw):
                return _fiscal(int(m[1]), int(m[2]), m[3] or "", int(m[4] or 0), text)
            if raw == "last-quarter" and country == "np":
                start, _end = nepal_calendar.fiscal_months(
                    nepal_calendar.fiscal_year(today),
                    (nepal_calendar.fiscal_month(today) - 1) // 3 * 3 + 1, 3)
                return cls.parse(nepal_calendar.fiscal_label(start - timedelta(days=1), "quarter"))
            if raw == "this-month":
                return _month(today.year, today.month)
            if raw == "last-month":
                last = today.replace(day=1) - timedelta(days=1)
                return _month(last.year, last.month)
            if raw == "last-quarter":
                quarter = (today.month - 1) // 3  # the current quarter, 0-based
                year, quarter = (today.year, quarter) if quarter else (today.year - 1, 4)
                return _quarter(year, quarter)
            if m := _YEAR.fullmatch(raw):
                year = int(m[1])
                return cls(date(year, 1, 1), date(year, 12, 31), raw)
            if m := _HALF.fullmatch(raw):
                year, half = int(m[1]), int(m[2])
                start = date(year, 1 if half == 1 else 7, 1)
                end = date(year, 6, 30) if half == 1 else date(year, 12, 31)
                return cls(start, end, raw)
            if m := _QUARTER.fullmatch(raw):
                return _quarter(int(m[1]), int(m[2]))
            if m := _MONTH.fullmatch(raw):
                return _month(int(m[1]), int(m[2]))
            if m := _RANGE.fullmatch(raw):
                start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
                if end < start:
                    raise problems.bad_period(text, "it ends before it starts")
                return cls(start, end, f"{start.isoformat()}..{end.isoformat()}")
            if re.fullmatch(_DAY, raw):
                day = date.fromisoformat(raw)
                return cls(day, day, raw)
        except ValueError as exc:  # month 13, 31 February, year 0
            raise problems.bad_period(text, str(exc)) from exc
        raise problems.bad_period(text)


def current_quarter(today: date | None = None, country: str = "") -> str:
    """This quarter's text: ``2026-Q4``; for Nepal the fiscal quarter, ``2083/84-Q2``."""
    today = today or datetime.now(UTC).date()
    if country == "np":
        return nepal_calendar.fiscal_label(today, "quarter")
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def _fiscal(year: int, following: int, part: str, number: int, text: str) -> Period:
    """``2083/84`` (whole year), ``2083/84-H1`` or ``2083/84-Q2`` of Nepal's fiscal year."""
    if following != (year + 1) % 100:
        raise problems.bad_period(
            text, f"the fiscal year after {year} is {nepal_calendar.fiscal_name(year)}")
    if part == "H" and number > 2:
        raise problems.bad_period(text, "a year has two halves")
    first, count = {"": (1, 12), "H": (6 * number - 5, 6), "Q": (3 * number - 2, 3)}[part]
    try:
        start, end = nepal_calendar.fiscal_months(year, first, count)
    except ValueError as exc:
        raise problems.bad_period(text, "outside the Bikram Sambat calendar (1975-2100 BS)") from exc
    name = nepal_calendar.fiscal_name(year) + (f"-{part}{number}" if part else "")
    return Period(start, end, name, "np")


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(start, end, f"{year:04d}-{month:02d}")


def _quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    end = _month(year, 3 * quarter).end
    return Period(start, end, f"{year:04d}-Q{quarter}")
