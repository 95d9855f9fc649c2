"""Bikram Sambat (BS), the calendar Nepal's local governments date their plans and reports in,
and Nepal's fiscal year (1 Shrawan to the end of Asar).

Conversions come from ``nepali-datetime`` (its month-length table runs from 1975 to 2100 BS,
1918 to 2044 AD); ``tests/test_nepal_calendar.py`` checks it against published dates. Stored
dates stay ISO Gregorian everywhere: BS is only how a Nepal date is shown or typed.

- ``to_bs(day)`` → ``(2083, 8, 16)``; ``from_bs(2083, 8, 16)`` → ``date(2026, 12, 2)``
- ``text(day, lang)`` → ``"2083/08/16 BS"`` (``"२०८३/०८/१६"`` in Nepali)
- ``parse(text)`` reads ``2083/08/16``, ``2083-08-16`` or ``२०८३/०८/१६`` back to a Gregorian date
- ``fiscal_year(day)`` → ``2083`` for any day from 1 Shrawan 2083 to the end of Asar 2084
"""

from __future__ import annotations

import re
from datetime import date

import nepali_datetime

DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
LATIN = str.maketrans("०१२३४५६७८९", "0123456789")
MONTHS = {
    "en": ("Baisakh", "Jestha", "Asar", "Shrawan", "Bhadra", "Asoj", "Kartik", "Mangsir",
           "Poush", "Magh", "Falgun", "Chaitra"),
    "ne": ("बैशाख", "जेठ", "असार", "साउन", "भदौ", "असोज", "कात्तिक", "मंसिर", "पुस", "माघ",
           "फागुन", "चैत"),
}
FISCAL_START_MONTH = 4  # Shrawan
SUFFIX = {"ne": "", "bn": " বি.স.", "en": " BS"}
_BS_DATE = re.compile(r"\s*(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*(?:BS|B\.S\.|वि\.?\s*सं\.?)?\s*",
                      re.IGNORECASE)


def devanagari(text: str) -> str:
    return text.translate(DEVANAGARI)


def latin(text: str) -> str:
    return text.translate(LATIN)


def to_bs(day: date) -> tuple[int, int, int]:
    """The BS (year, month, day) of a Gregorian date; ValueError outside 1975–2100 BS."""
    try:
        bs = nepali_datetime.date.from_datetime_date(day)
    except (OverflowError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"{day.isoformat()} is outside the Bikram Sambat table") from exc
    return bs.year, bs.month, bs.day


def from_bs(year: int, month: int, day: int) -> date:
    """The Gregorian date of a BS date; ValueError for a day the month does not have."""
    try:
        return nepali_datetime.date(year, month, day).to_datetime_date()
    except (OverflowError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"{year:04d}/{month:02d}/{day:02d} is not a Bikram Sambat date") from exc


def month_length(year: int, month: int) -> int:
    first = from_bs(year, month, 1)
    following = from_bs(year + month // 12, month % 12 + 1, 1)
    return (following - first).days


def written(day: date) -> str:
    """``2083/08/16``: the BS date in Latin digits, as a date field takes it."""
    y, m, d = to_bs(day)
    return f"{y:04d}/{m:02d}/{d:02d}"


def text(day: date, lang: str = "en") -> str:
    """``2083/08/16 BS``; in Nepali ``२०८३/०८/१६`` (Devanagari digits, as written on paper)."""
    plain = written(day)
    return devanagari(plain) if lang == "ne" else plain + SUFFIX.get(lang, " BS")


def parse(typed: str) -> date:
    """A BS date as people type it (``2083/08/16``, ``2083-8-16``, ``२०८३/०८/१६``, an optional
    ``BS``) → its Gregorian date; ValueError for anything else."""
    m = _BS_DATE.fullmatch(latin(typed))
    if not m:
        raise ValueError(f"'{typed}' is not a Bikram Sambat date (2083/08/16)")
    return from_bs(int(m[1]), int(m[2]), int(m[3]))


def fiscal_year(day: date) -> int:
    """The BS year Nepal's fiscal year holding ``day`` starts in (2083 for 2083/84)."""
    y, m, _ = to_bs(day)
    return y if m >= FISCAL_START_MONTH else y - 1


def fiscal_name(start_year: int) -> str:
    """``2083/84``: how Nepal writes the fiscal year that starts on 1 Shrawan 2083."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def fiscal_months(start_year: int, first: int, count: int) -> tuple[date, date]:
    """Gregorian first and last day of ``count`` fiscal months from fiscal month ``first``
    (1 = Shrawan) of the fiscal year starting in ``start_year``."""
    def month_start(index: int) -> date:  # index 0 = Shrawan of start_year
        absolute = FISCAL_START_MONTH - 1 + index
        return from_bs(start_year + absolute // 12, absolute % 12 + 1, 1)
    start = month_start(first - 1)
    end = month_start(first - 1 + count)
    return start, date.fromordinal(end.toordinal() - 1)


def fiscal_month(day: date) -> int:
    """1 for Shrawan … 12 for Asar: the month's place in Nepal's fiscal year."""
    return (to_bs(day)[1] - FISCAL_START_MONTH) % 12 + 1


def fiscal_label(day: date, kind: str) -> str:
    """The fiscal period holding ``day``: ``2083/84-Q2`` (``quarter``), ``2083/84-H1``
    (``half``) or ``2083/84`` (``year``)."""
    year = fiscal_name(fiscal_year(day))
    month = fiscal_month(day)
    if kind == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    if kind == "half":
        return f"{year}-H{(month - 1) // 6 + 1}"
    return year
