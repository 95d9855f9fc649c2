"""Nepal's fiscal periods (1 Shrawan to the end of Asar): parsing, relative periods, follow-up
labels, the dashboard, Downloads and ``sangjog export``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.period import Period, current_quarter
from pipeline import nepal_calendar as bs
from pipeline.domain.followups import Followup, period_label
from pipeline.problems import Problem

fiscal_years = st.integers(min_value=1980, max_value=2098)


def test_a_fiscal_year_runs_from_1_shrawan_to_the_end_of_asar():
    p = Period.parse("2083/84")
    assert (p.start, p.end) == (date(2026, 7, 17), date(2027, 7, 16))  # 2083/04/01–2084/03/end
    assert bs.to_bs(p.start) == (2083, 4, 1) and bs.to_bs(p.end)[:2] == (2084, 3)
    assert p.country == "np" and p.slug == "2083-84" and str(p) == "2083/84"
    q2 = Period.parse("2083/84-Q2")
    assert bs.to_bs(q2.start) == (2083, 7, 1)  # 1 Kartik
    assert bs.to_bs(q2.end) == (2083, 9, bs.month_length(2083, 9))  # the end of Poush
    h1 = Period.parse("2083/84-H1")
    assert (h1.start, h1.end) == (p.start, q2.end)


@given(fiscal_years)
def test_quarters_and_halves_tile_the_fiscal_year(year):
    name = bs.fiscal_name(year)
    whole = Period.parse(name)
    quarters = [Period.parse(f"{name}-Q{q}") for q in range(1, 5)]
    halves = [Period.parse(f"{name}-H{h}") for h in (1, 2)]
    for parts in (quarters, halves):
        assert parts[0].start == whole.start and parts[-1].end == whole.end
        assert all(a.end + timedelta(days=1) == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert Period.parse(f"{bs.fiscal_name(year + 1)}").start == whole.end + timedelta(days=1)
    assert all(Period.parse(str(p)) == p for p in [whole, *quarters, *halves])


@given(st.dates(date(1925, 1, 1), date(2040, 12, 31)))
def test_this_and_last_fiscal_quarter(today):
    this = Period.parse(current_quarter(today, "np"))
    assert this.contains(today)
    last = Period.parse("last-quarter", today, country="np")
    assert last.end + timedelta(days=1) == this.start and last.country == "np"
    # Bangladesh (and any area not in Nepal) keeps calendar quarters.
    assert Period.parse("last-quarter", today).start.day == 1


@pytest.mark.parametrize("text", ["2083/85", "2083/84-Q5", "2083/84-H3", "2083/4", "2200/01",
                                  "2083/84-q2", "2083/84-M1"])
def test_a_bad_fiscal_period_is_a_clear_problem(text):
    with pytest.raises(Problem) as caught:
        Period.parse(text)
    assert caught.value.code == "export.bad_period" and caught.value.status == 400
    assert "2083/84-Q2" in caught.value.message


@pytest.mark.parametrize(("period_type", "day", "label"), [
    ("quarterly", date(2026, 7, 17), "2083/84-Q1"),   # 1 Shrawan 2083
    ("quarterly", date(2026, 7, 16), "2082/83-Q4"),   # the last day of Asar 2083
    ("quarterly", date(2026, 12, 2), "2083/84-Q2"),   # 16 Mangsir 2083
    ("half_yearly", date(2027, 1, 15), "2083/84-H2"),  # 1 Magh 2083
    ("annual", date(2027, 7, 16), "2083/84"),
])
def test_nepal_follow_ups_are_named_by_fiscal_period(period_type, day, label):
    nepal = Followup(key="k", action_plan="", participant_name="x", local_government="30601",
                     period_type=period_type, period_start=day, country="np")
    assert period_label(nepal) == label
    assert Period.parse(label).contains(day)
    bangladesh = Followup(key="k", action_plan="", participant_name="x", local_government="1",
                          period_type=period_type, period_start=day, country="bd")
    assert "/" not in period_label(bangladesh)


def test_export_takes_nepal_fiscal_periods(app, session, runner, tmp_path, monkeypatch):
    from python_calamine import CalamineWorkbook

    from sync_server.cli import cli
    from tests.builders import load_all

    plan, _followup = load_all(app, session)["plans"]  # received 2026-10-20: 2083/07/03
    for period, found in (("2083/84-Q2", True), ("2083/84-H1", True), ("2083/84", True),
                          ("2083/84-Q1", False)):
        out = tmp_path / f"{period.replace('/', '-')}.xlsx"
        result = runner.invoke(cli, args=["export", "district", "--district", "306", "--period",
                                          period, "-o", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Action plans").to_python()
        keys = [r[rows[1].index("KEY")] for r in rows[2:]]
        assert (plan.instance_id in keys) is found, period
    # Without -o the file is named by the period as a file name can hold it.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args=["export", "district", "--district", "Kathmandu",
                                      "--period", "2083/84-Q2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sangjog-kathmandu-306-2083-84-Q2-en.xlsx").is_file()
