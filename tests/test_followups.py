"""Action plan (Form 1) ↔ follow-up (Form 2) links, per quarter, half-year and year."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.access import EVERYWHERE
from pipeline.domain.followups import (
    Followup,
    period_label,
    periods_of,
    plan_followups,
    unlinked_followups,
)
from pipeline.review import set_review
from pipeline.storage import BlobStore
from tests import builders

AMTALI = {"country": "bd", "division": "10", "district": "1004", "upazila": "100409",
          "union": "10040913"}
SHANKHARAPUR = {"country": "np", "province": "3", "district": "306", "local_level": "30601"}


def plan(session, blobs, who, where, prepared, instance_id):
    answers = {**where, "participant_name": who, "position": "Chairman",
               "plans": [{"topic": "ict", "practice": "Tax fair"},
                         {"topic": "revenue", "practice": "Holding tax survey"}],
               "date_prepared": prepared}
    xml = builders.submission("hl_action_plan", answers, instance_id=instance_id)
    return builders.submit(session, xml, blobs=blobs).submission


def followup(session, blobs, who, where, period_type, start, end, *, link="", plan_date=None,
             followup_date=None, results=None):
    answers = {**where, "action_plan": link, "participant_name": who, "position": "Chairman",
               "period_type": period_type, "period_start": start, "period_end": end,
               "results": results or [{"practice": "Tax fair", "result": "Tax up 20%",
                                       "verification": "Register"}],
               "officer_name": "Kamal Hossain", "plan_date": plan_date,
               "followup_date": followup_date or end}
    return builders.submit(session, builders.submission("hl_followup", answers),
                           blobs=blobs).submission


@pytest.fixture
def linked(session, tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    builders.publish(session, "hl_action_plan", "hl_followup")
    subs = {
        "p1": plan(session, blobs, "Rahima Begum", AMTALI, "2026-01-15", "uuid:plan-1"),
        "p2": plan(session, blobs, "Rahima Begum", AMTALI, "2026-06-01", "uuid:plan-2"),
        "p3": plan(session, blobs, "Sita Sharma", SHANKHARAPUR, "2026-02-01", "uuid:plan-3"),
        # by key, first quarter
        "f1": followup(session, blobs, "Rahima Begum", AMTALI, "quarterly", "2026-01-01",
                       "2026-03-31", link="plan-1",
                       results=[{"tried": "yes", "practice": "Tax fair", "result": "Tax up 20%"},
                                {"practice": "Holding tax survey", "result": "Done"},
                                {"tried": "no", "practice": "Ward shava"}]),
        # by name + union, the plan made on plan_date
        "f2": followup(session, blobs, "rahima  begum.", AMTALI, "half_yearly", "2026-07-01",
                       "2026-12-31", plan_date="2026-06-01"),
        # by name + union, no plan date: the latest plan made before the follow-up
        "f3": followup(session, blobs, "Rahima Begum", AMTALI, "quarterly", "2026-04-01",
                       "2026-05-15"),
        # Nepal, by name + local level, annual
        "f4": followup(session, blobs, "Sita Sharma", SHANKHARAPUR, "annual", "2026-01-01",
                       "2026-12-31"),
        # names a plan that does not exist
        "f5": followup(session, blobs, "Rahima Begum", AMTALI, "quarterly", "2026-01-01",
                       "2026-03-31", link="no-such-plan"),
    }
    return subs


def by_plan(rows):
    return {r.plan.key: r for r in rows}


def test_follow_ups_link_by_key_or_by_participant_and_local_government(session, linked):
    rows = by_plan(plan_followups(session))
    assert list(rows) == ["plan-1", "plan-3", "plan-2"]  # by date prepared
    p1, p2, p3 = rows["plan-1"], rows["plan-2"], rows["plan-3"]
    assert [(f.period_type, rows["plan-1"].linked_by[f.key]) for f in p1.followups] == [
        ("quarterly", "key"), ("quarterly", "name")]
    assert [f.period_type for f in p2.followups] == ["half_yearly"]
    assert p2.linked_by == {p2.followups[0].key: "name"}
    assert [f.period_type for f in p3.followups] == ["annual"]
    assert p1.plan.practices == ("Tax fair", "Holding tax survey")
    assert p1.plan.local_government == "10040913" and p3.plan.local_government == "30601"
    first = p1.of_type("quarterly")[0]
    # A practice of the plan that was not tried is no result; rows sent before "tried" count.
    assert [(r.practice, r.result) for r in first.results] == [
        ("Tax fair", "Tax up 20%"), ("Holding tax survey", "Done")]
    assert [f.action_plan for f in unlinked_followups(session)] == ["no-such-plan"]


def test_periods_of_a_year(session, linked):
    rows = by_plan(plan_followups(session, year=2026))
    covered = {key: [label for label in periods_of(2026) if row.in_period(label)]
               for key, row in rows.items()}
    assert covered == {"plan-1": ["2026 Q1", "2026 Q2"], "plan-2": ["2026 H2"], "plan-3": []}
    # Nepal's follow-up is named by its fiscal year (1 January 2026 is in 2082/83).
    assert [f.period_type for f in rows["plan-3"].in_period("2082/83")] == ["annual"]
    assert plan_followups(session, year=2025) == []  # every plan was made in 2026
    assert list(by_plan(plan_followups(session, district="306"))) == ["plan-3"]


def test_rejecting_a_plan_unlinks_its_follow_ups(session, linked):
    session.commit()
    set_review(session, [linked["p1"].id], "rejected", "Wrong participant", "supervisor")
    rows = by_plan(plan_followups(session))
    assert "plan-1" not in rows
    # the name-matched follow-up now goes to the only plan left for that person
    assert len(rows["plan-2"].followups) == 2
    assert sorted(f.action_plan for f in unlinked_followups(session)) == ["no-such-plan", "plan-1"]


@pytest.mark.parametrize("period_type, start, start_month, label", [
    ("quarterly", date(2026, 2, 1), 1, "2026 Q1"),
    ("quarterly", date(2026, 12, 31), 1, "2026 Q4"),
    ("half_yearly", date(2026, 7, 1), 1, "2026 H2"),
    ("annual", date(2026, 3, 1), 1, "2026"),
    # a July–June fiscal year is named by the year it starts in
    ("quarterly", date(2026, 7, 1), 7, "2026 Q1"),
    ("quarterly", date(2026, 2, 1), 7, "2025 Q3"),
    ("half_yearly", date(2026, 1, 1), 7, "2025 H2"),
    ("annual", date(2026, 6, 30), 7, "2025"),
    ("monthly", date(2026, 6, 30), 1, None),
])
def test_period_labels(period_type, start, start_month, label):
    f = Followup(key="k", action_plan="", participant_name="x", local_government="y",
                 period_type=period_type, period_start=start)
    assert period_label(f, start_month) == label


def test_engine_filled_follow_up_picks_its_plan_from_the_generated_list(session, tmp_path):
    from pipeline.domain.media import generated_media
    from tests import formtools

    blobs = BlobStore(tmp_path / "blobs")
    formtools.publish_all(session)
    where = [("/data/country", "bd"), ("/data/division", "30"), ("/data/district", "3033"),
             ("/data/upazila", "303334"), ("/data/union", "30333415")]
    plan_answers = [*where] + [a for a in formtools.SAMPLE_ANSWERS["hl_action_plan"]
                               if not a[0].startswith(("/data/country", "/data/province",
                                                       "/data/district", "/data/local_level"))]
    plan_xml = _fill_once("hl_action_plan", plan_answers)
    plan_key = builders.submit(session, plan_xml, blobs=blobs).submission.instance_id[5:]
    plans_csv = generated_media(session, "action_plans.csv", EVERYWHERE)

    answers = [(p, plan_key if p == "/data/action_plan" else v)
               for p, v in formtools.SAMPLE_ANSWERS["hl_followup"]]
    followup_xml, offered = _fill_once("hl_followup", answers, {"action_plans.csv": plans_csv},
                                       with_options=True)
    assert offered == [plan_key]  # the plan of this upazila, from the generated file
    builders.submit(session, followup_xml, blobs=blobs)

    [row] = plan_followups(session, year=2026)
    assert row.plan.key == plan_key and row.linked_by == {row.followups[0].key: "key"}
    assert row.in_period("2026 Q3") and not row.in_period("2026 Q4")
    assert unlinked_followups(session) == []


_filled: dict[str, tuple[bytes, list[str]]] = {}


def _fill_once(form_id, answers, media=None, with_options=False):
    """ODK's engine is slow to start: fill once for both database backends."""
    from tests import formtools

    key = repr((form_id, answers, sorted((media or {}).items())))
    if key not in _filled:
        result = formtools.fill(form_id, answers, media)
        assert result.ok, (result.violations, result.errors)
        _filled[key] = (result.xml, result.options.get("/data/action_plan", []))
    xml, options = _filled[key]
    return (xml, options) if with_options else xml
