"""The follow-up tracker: each Form 1 plan's schedule (Form 2's reporting choice), every
period reported, due or overdue, links both ways, filters, dashboard counts and the scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline import scope as scoping
from pipeline.domain import followups
from pipeline.domain.followups import Followup, Plan, PlanFollowups, bounds, covering, track
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_periods_cover_calendar_and_fiscal_quarters_halves_and_years():
    assert bounds("2026 Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert bounds("2026 H1") == (date(2026, 1, 1), date(2026, 6, 30))
    assert bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert bounds("2026 Q3", 7) == (date(2027, 1, 1), date(2027, 3, 31))  # July fiscal year
    assert covering("quarterly", date(2027, 2, 1), 7) == "2026 Q3"
    assert covering("annual", date(2026, 6, 30), 7) == "2025"


def test_each_period_is_reported_due_or_overdue_on_the_plans_schedule():
    plan = Plan("p", "Rahima", date_prepared=date(2026, 4, 20))
    reported = Followup("f", "p", "Rahima", "", "quarterly", period_start=date(2026, 7, 1))
    tracked = track(PlanFollowups(plan, [reported]), today=date(2026, 11, 15))
    assert [(p.label, p.status) for p in tracked.periods] == [
        ("2026 Q2", "overdue"), ("2026 Q3", "reported"), ("2026 Q4", "due")]
    assert tracked.status == "overdue" and tracked.schedule == ("quarterly",)
    assert tracked.periods[1].followups == (reported,)
    # A quarter that ended less than the grace period ago is still due, not overdue.
    late = track(PlanFollowups(plan, [reported]), today=date(2026, 7, 20))
    assert [(p.label, p.status) for p in late.periods] == [("2026 Q2", "due"),
                                                          ("2026 Q3", "reported")]
    # The schedule is the follow-ups' reporting choice: half-yearly and annual here.
    half = Followup("h", "p", "Rahima", "", "half_yearly", period_start=date(2026, 1, 1))
    year = Followup("y", "p", "Rahima", "", "annual", period_start=date(2026, 1, 1))
    both = track(PlanFollowups(plan, [half, year]), today=date(2026, 11, 15))
    assert both.schedule == ("half_yearly", "annual")
    assert [(p.label, p.status) for p in both.periods] == [
        ("2026 H1", "reported"), ("2026 H2", "due"), ("2026", "reported")]
    assert both.status == "due"


def test_today_is_the_date_in_the_readers_country_not_utcs(monkeypatch):
    """At 18:10 UTC on 31 December it is 00:10 on 1 January in Dhaka and 23:55 on 31
    December in Kathmandu; UTC's date would be 31 December for both."""
    monkeypatch.setattr(followups, "now", lambda: datetime(2026, 12, 31, 18, 10, tzinfo=UTC))
    assert followups.today(scoping.parse([f"bd_district:{RANGPUR}"])) == date(2027, 1, 1)
    assert followups.today(scoping.parse(["*"])) == date(2027, 1, 1)
    assert followups.today(scoping.parse(["np_province:3"])) == date(2026, 12, 31)
    monkeypatch.setattr(followups, "now", lambda: datetime(2026, 12, 31, 18, 20, tzinfo=UTC))
    assert followups.today(scoping.parse(["np_province:3"])) == date(2027, 1, 1)


@dataclass
class Plans:
    rangpur: int
    kurigram: int
    followup: int
    reported: str  # the label of the period the Rangpur follow-up covers


@pytest.fixture
def plans(world, db, blobs) -> Plans:
    """Rangpur: a plan followed up for last quarter (so now only due). Kurigram: a plan of
    400 days ago never followed up (overdue)."""
    today = followups.today()
    start, end = bounds(covering("quarterly", today))
    last_start, last_end = bounds(covering("quarterly", start - timedelta(days=1)))
    rangpur = builders.add_plan(db, blobs, RANGPUR, "Rahima Begum", last_start.isoformat(),
                               "plan-rangpur")
    followup = builders.add_followup(db, blobs, RANGPUR, "Rahima Begum", "plan-rangpur",
                                    "quarterly", last_start.isoformat(), last_end.isoformat(),
                                    min(today, last_end + timedelta(days=5)).isoformat())
    kurigram = builders.add_plan(db, blobs, KURIGRAM, "Shirin Akter",
                                (today - timedelta(days=400)).isoformat(), "plan-kurigram")
    db.commit()
    return Plans(rangpur, kurigram, followup, covering("quarterly", last_start))


def test_the_tracker_lists_plans_with_their_periods_and_filters(client, plans):
    builders.login(client, "sup_division")
    html = client.get("/plans").get_data(as_text=True)
    assert 'data-plan="plan-rangpur"' in html and 'data-plan="plan-kurigram"' in html
    rangpur = row(html, "plan-rangpur")
    assert f'href="/submissions/{plans.rangpur}"' in rangpur  # the plan itself
    assert f'href="/submissions/{plans.followup}">{plans.reported}</a>' in rangpur
    assert "Bishnupur" in rangpur and "Quarterly" in rangpur
    assert "status-due" in rangpur and "status-overdue" not in rangpur
    assert "status-overdue" in row(html, "plan-kurigram")
    overdue = client.get("/plans?status=overdue").get_data(as_text=True)
    assert 'data-plan="plan-kurigram"' in overdue and 'data-plan="plan-rangpur"' not in overdue
    only = client.get(f"/plans?district={RANGPUR}").get_data(as_text=True)
    assert 'data-plan="plan-rangpur"' in only and 'data-plan="plan-kurigram"' not in only
    one = client.get("/plans?plan=plan-kurigram").get_data(as_text=True)
    assert re.findall(r'data-plan="([^"]+)"', one) == ["plan-kurigram"]


def row(html: str, key: str) -> str:
    start = html.index(f'data-plan="{key}"')
    return html[start:html.index("</tr>", start)]


def test_plans_and_follow_ups_link_to_each_other(client, plans):
    builders.login(client, "sup_division")
    plan_page = client.get(f"/submissions/{plans.rangpur}").get_data(as_text=True)
    assert f'href="/submissions/{plans.followup}">{plans.reported}</a>' in plan_page
    assert 'href="/plans?plan=plan-rangpur"' in plan_page
    followup_page = client.get(f"/submissions/{plans.followup}").get_data(as_text=True)
    assert f'href="/submissions/{plans.rangpur}">Rahima Begum</a>' in followup_page
    assert f"<strong>{plans.reported}</strong>" in followup_page
    # The follow-ups list shows the period a report covers, not only "Quarterly".
    listed = client.get("/forms/hl_followup/submissions").get_data(as_text=True)
    assert f"{plans.reported} <span class=\"muted\">Quarterly</span>" in listed


def test_the_dashboard_counts_overdue_plans_per_district(client, plans):
    builders.login(client, "sup_division")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "1 plan overdue in Kurigram" in html
    assert f'href="/plans?district={KURIGRAM}&amp;status=overdue"' in html
    officer = client.application.test_client()
    builders.login(officer, "do_rangpur")
    assert "overdue in Kurigram" not in officer.get("/dashboard").get_data(as_text=True)


def test_the_tracker_keeps_to_the_readers_area(client, plans):
    builders.login(client, "do_rangpur")
    html = client.get("/plans").get_data(as_text=True)
    assert 'data-plan="plan-rangpur"' in html and "plan-kurigram" not in html
    for query in (f"district={KURIGRAM}", "plan=plan-kurigram", "status=overdue"):
        page = client.get(f"/plans?{query}").get_data(as_text=True)
        assert 'data-plan="plan-kurigram"' not in page and "Shirin" not in page
    assert client.get(f"/submissions/{plans.kurigram}").status_code == 404
    assert followups.STATUSES == ("overdue", "due", "reported")
