"""Reporting periods: ``2026``, ``2026-H2``, ``2026-Q3``, ``2026-07``, ``2026-07-01..2026-09-30``.

A period is a closed range of calendar days; submissions belong to it by ``_submitted_at`` (UTC).
``last-month``, ``last-quarter`` and ``this-month`` are relative to a given day, for scheduled
exports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline.problems import Problem

_YEAR = re.compile(r"(\d{4})")
_HALF = re.compile(r"(\d{4})-H([12])")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"({_DAY})\s*\.\.\s*({_DAY})")


def bad_period(text: str, reason: str = "") -> Problem:
    return Problem(
        "export.bad_period", 400,
        f"'{text}' is not a period{': ' + reason if reason else ''}. Use 2026, 2026-H2, 2026-Q3, "
        "2026-07, 2026-07-01..2026-09-30, last-month or last-quarter.",
    )


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def slug(self) -> str:
        """The period as it reads in a file name."""
        return self.text.replace("..", "_")

    def bounds(self) -> tuple[datetime, datetime]:
        """``[start, end + 1 day)`` as UTC datetimes, for a ``WHERE`` on ``_submitted_at``."""
        return (datetime.combine(self.start, time(), UTC),
                datetime.combine(self.end + timedelta(days=1), time(), UTC))

    def contains(self, moment: datetime | date) -> bool:
        day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
        return self.start <= day <= self.end

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> Period:
        raw = text.strip()
        today = today or datetime.now(UTC).date()
        try:
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
                    raise bad_period(text, "it ends before it starts")
                return cls(start, end, f"{start.isoformat()}..{end.isoformat()}")
            if re.fullmatch(_DAY, raw):
                day = date.fromisoformat(raw)
                return cls(day, day, raw)
        except ValueError as exc:  # month 13, 31 February, year 0
            raise bad_period(text, str(exc)) from exc
        raise bad_period(text)


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(start, end, f"{year:04d}-{month:02d}")


def _quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    end = _month(year, 3 * quarter).end
    return Period(start, end, f"{year:04d}-Q{quarter}")
