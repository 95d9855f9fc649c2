"""Bikram Sambat conversions against published dates, across several years, month ends and
Nepal's fiscal-year boundaries; parsing and writing BS dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import nepal_calendar as bs

# Published BS ↔ AD pairs: New Year (1 Baisakh) as announced each year, national days whose BS
# and AD dates are both in the record, and the first day of the fiscal year (1 Shrawan) as in
# the budget calendars. Year-month-day in both calendars.
PUBLISHED = [
    ((2000, 1, 1), date(1943, 4, 14)),    # the epoch most BS tables start from
    ((2063, 1, 11), date(2006, 4, 24)),   # Loktantra Diwas: the House restored
    ((2065, 2, 15), date(2008, 5, 28)),   # Ganatantra Diwas: the republic declared
    ((2071, 1, 1), date(2014, 4, 14)),    # New Year 2071
    ((2072, 6, 3), date(2015, 9, 20)),    # Constitution of Nepal promulgated
    ((2076, 1, 1), date(2019, 4, 14)),    # New Year 2076
    ((2077, 1, 1), date(2020, 4, 13)),    # New Year 2077
    ((2078, 1, 1), date(2021, 4, 14)),    # New Year 2078
    ((2079, 1, 1), date(2022, 4, 14)),    # New Year 2079
    ((2080, 1, 1), date(2023, 4, 14)),    # New Year 2080
    ((2080, 4, 1), date(2023, 7, 17)),    # fiscal year 2080/81 begins
    ((2081, 1, 1), date(2024, 4, 13)),    # New Year 2081
    ((2081, 4, 1), date(2024, 7, 16)),    # fiscal year 2081/82 begins
    ((2082, 1, 1), date(2025, 4, 14)),    # New Year 2082
    ((2082, 4, 1), date(2025, 7, 17)),    # fiscal year 2082/83 begins
]


@pytest.mark.parametrize(("bs_date", "ad"), PUBLISHED)
def test_published_dates_convert_both_ways(bs_date, ad):
    assert bs.to_bs(ad) == bs_date
    assert bs.from_bs(*bs_date) == ad


@pytest.mark.parametrize(("bs_date", "ad"), [p for p in PUBLISHED if p[0][2] == 1])
def test_the_day_before_a_first_is_the_last_day_of_the_month_before(bs_date, ad):
    """Month ends: the day before 1 Baisakh is the last of Chaitra, before 1 Shrawan the last of
    Asar (31 or 32 days: BS months are 29 to 32 days long)."""
    year, month, _ = bs_date
    before = (year, month - 1) if month > 1 else (year - 1, 12)
    last = bs.month_length(*before)
    assert 29 <= last <= 32
    assert bs.to_bs(ad - timedelta(days=1)) == (*before, last)
    assert bs.from_bs(*before, last) == ad - timedelta(days=1)
    with pytest.raises(ValueError):
        bs.from_bs(*before, last + 1)


def test_years_have_365_or_366_days():
    for year in range(2070, 2090):
        length = (bs.from_bs(year + 1, 1, 1) - bs.from_bs(year, 1, 1)).days
        assert length in (365, 366), year
        assert sum(bs.month_length(year, m) for m in range(1, 13)) == length


@given(st.dates(min_value=date(1918, 4, 13), max_value=date(2043, 4, 13)))
def test_every_day_goes_there_and_back(day):
    assert bs.from_bs(*bs.to_bs(day)) == day
    assert bs.parse(bs.text(day, "ne")) == day
    assert bs.parse(bs.text(day, "en")) == day


def test_writing_and_reading_bs_dates():
    day = date(2026, 12, 2)
    assert bs.text(day, "ne") == "२०८३/०८/१६"
    assert bs.text(day, "en") == "2083/08/16 BS"
    for typed in ("2083/08/16", "2083-8-16", " २०८३/०८/१६ ", "2083.08.16 BS", "२०८३-०८-१६ वि.सं."):
        assert bs.parse(typed) == day, typed
    for bad in ("2083/08", "2083/13/01", "2083/09/31", "16/08/2083", "2026-12-02x", "",
                "1900/01/01"):
        with pytest.raises(ValueError):
            bs.parse(bad)
    with pytest.raises(ValueError):
        bs.to_bs(date(1800, 1, 1))


def test_fiscal_years_run_from_shrawan_to_asar():
    assert bs.fiscal_name(2083) == "2083/84"
    assert bs.fiscal_name(2099) == "2099/00"
    start, end = bs.fiscal_months(2083, 1, 12)
    assert (start, end) == (bs.from_bs(2083, 4, 1), bs.from_bs(2084, 4, 1) - timedelta(days=1))
    assert bs.to_bs(end) == (2084, 3, bs.month_length(2084, 3))
    assert bs.fiscal_year(start) == 2083 and bs.fiscal_year(end) == 2083
    assert bs.fiscal_year(start - timedelta(days=1)) == 2082
    # The second quarter: Kartik, Mangsir, Poush.
    q2 = bs.fiscal_months(2083, 4, 3)
    assert bs.to_bs(q2[0]) == (2083, 7, 1)
    assert bs.to_bs(q2[1]) == (2083, 9, bs.month_length(2083, 9))
