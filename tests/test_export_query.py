"""exports.query and exports.period: which submissions an export selects."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports import query
from exports.period import Period
from pipeline.problems import Problem
from tests.builders import DINAJPUR, load_all

years = st.integers(min_value=2000, max_value=2100)


@given(years, st.integers(1, 12))
def test_a_month_runs_from_its_first_to_its_last_day(year, month):
    p = Period.parse(f"{year}-{month:02d}")
    assert (p.start, p.end) == (date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    assert Period.parse(str(p)) == p


@given(years, st.integers(1, 4))
def test_a_quarter_is_its_three_months(year, quarter):
    p = Period.parse(f"{year}-Q{quarter}")
    first = Period.parse(f"{year}-{3 * quarter - 2:02d}")
    last = Period.parse(f"{year}-{3 * quarter:02d}")
    assert (p.start, p.end) == (first.start, last.end)
    assert Period.parse(str(p)) == p


@given(years, st.integers(1, 2))
def test_halves_and_years_cover_the_year_without_gaps(year, half):
    h = Period.parse(f"{year}-H{half}")
    whole = Period.parse(str(year))
    assert (whole.start, whole.end) == (date(year, 1, 1), date(year, 12, 31))
    other = Period.parse(f"{year}-H{3 - half}")
    first, second = sorted([h, other], key=lambda p: p.start)
    assert first.start == whole.start and second.end == whole.end
    assert first.end + timedelta(days=1) == second.start


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(0, 800))
def test_a_range_keeps_both_ends_and_selects_by_day(start, length):
    end = start + timedelta(days=length)
    p = Period.parse(f"{start.isoformat()}..{end.isoformat()}")
    assert (p.start, p.end) == (start, end)
    assert Period.parse(str(p)) == p
    low, high = p.bounds()
    assert low == datetime(start.year, start.month, start.day, tzinfo=UTC)
    assert high - low == timedelta(days=length + 1)
    assert p.contains(low) and not p.contains(high) and p.contains(high - timedelta(microseconds=1))


@given(st.dates(date(2001, 1, 1), date(2099, 12, 31)))
def test_relative_periods_end_before_today(today):
    last_month = Period.parse("last-month", today)
    assert last_month.end == today.replace(day=1) - timedelta(days=1)
    assert last_month.start == last_month.end.replace(day=1)
    last_quarter = Period.parse("last-quarter", today)
    assert last_quarter.end < today and (today - last_quarter.end).days <= 92
    assert last_quarter.start.month in (1, 4, 7, 10) and last_quarter.start.day == 1


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "2026-H3", "2026-02-30", "July",
                                  "2026-09-30..2026-07-01", "", "2026-7", "26-Q1"])
def test_a_bad_period_is_a_clear_problem(text):
    with pytest.raises(Problem) as caught:
        Period.parse(text)
    assert caught.value.code == "export.bad_period" and caught.value.status == 400
    assert "2026-Q3" in caught.value.message  # says what is accepted


def test_scope_and_period_select_rows_and_their_repeats_only(app, session):
    sent = load_all(app, session)["inspections"]
    q3 = Period.parse("2026-Q3")

    def keys(scope, period):
        sel = query.select_form(session, "innovation_inspection", scope, period)
        main = [k for f in query.frames(session, sel, chunk_rows=2) for k in f["_key"]]
        photos = [k for f in query.frames(session, sel, "wh_innovation_inspection__photos")
                  for k in f["_parent_key"]]
        assert query.count(session, sel) == len(main)
        return main, photos

    expected = [s.instance_id for s in sent if s.value("district") == DINAJPUR and q3.contains(s.received_at)]
    assert expected == ["uuid:ex-d1", "uuid:ex-d2", "uuid:ex-d3"]  # 23:59 on 30 Sep in, 1 Oct out
    main, photos = keys([f"bd_district:{DINAJPUR}"], q3)
    assert main == expected
    per_submission = {s.instance_id: len(s.repeat_rows("photos")) for s in sent}
    assert sorted(photos) == sorted(k for k in expected for _ in range(per_submission[k]))
    # a division, everything, no period, and a district with nothing
    assert keys(["bd_division:55"], None)[0] == [s.instance_id for s in sent if s.value("division") == "55"]
    assert len(keys(["*"], None)[0]) == len(sent)
    assert keys(["bd_district:3026"], None) == ([], [])
    assert keys(["bd_district:3033", "bd_district:5527"], Period.parse("2026-08"))[0] == ["uuid:ex-g1", "uuid:ex-d2"]


def test_a_form_without_submissions_or_unknown_selects_nothing(app, session):
    assert query.select_form(session, "no_such_form", ["*"]) is None
