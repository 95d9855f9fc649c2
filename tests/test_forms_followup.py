"""Form 2 fills itself from the Form 1 plan chosen in the server's own ``action_plans.csv``,
in ODK's JavaScript engine and in JavaRosa (Collect's engine); every filled-in answer stays
editable and the follow-up names its plan by key."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree

from pipeline.access import EVERYWHERE
from pipeline.domain.media import generated_media
from pipeline.storage import BlobStore
from tests import builders, formtools, javarosa

PRACTICES = ["ওয়ান-স্টপ জন্ম নিবন্ধন ডেস্ক", "প্রতি ত্রৈমাসিকে ওয়ার্ড সভা", "উন্মুক্ত বাজেট সভা"]
WHERE = [("/data/country", "bd"), ("/data/division", "30"), ("/data/district", "3033")]


@pytest.fixture
def plans_csv(session, tmp_path):
    """action_plans.csv as the server builds it after one Bengali Form 1 plan (three practices)
    in Bahadursadi and one in another upazila of the same district."""
    blobs = BlobStore(tmp_path / "blobs")
    builders.publish(session, "hl_action_plan")
    builders.submit(session, builders.submission("hl_action_plan", {
        "division": "30", "district": "3033", "upazila": "303334", "union": "30333415",
        "country": "bd", "participant_name": "রহিমা বেগম", "position": "ইউপি সদস্য",
        "date_prepared": "2026-10-12", "place": "কালীগঞ্জ",
        "plans": [{"topic": "ict", "practice": p, "expected_results": "-"} for p in PRACTICES],
    }, instance_id="uuid:plan-rahima"), blobs=blobs)
    builders.submit(session, builders.submission("hl_action_plan", {
        "division": "30", "district": "3033", "upazila": "303330", "union": "30333011",
        "country": "bd", "participant_name": "Abdul Karim", "position": "Chairman",
        "date_prepared": "2026-09-01", "place": "Gazipur",
        "plans": [{"topic": "ict", "practice": "Digital centre", "expected_results": "-"}],
    }, instance_id="uuid:plan-karim"), blobs=blobs)
    session.commit()
    return generated_media(session, "action_plans.csv", EVERYWHERE)


def _answers(*, edits=()):
    answers = [*WHERE, ("/data/action_plan", "plan-rahima"), *edits,
               ("/data/period_type", "quarterly"), ("/data/period_start", "2026-10-01"),
               ("/data/period_end", "2026-12-31"),
               ("/data/results[1]/tried", "yes"), ("/data/results[1]/result", "৭ দিনের কাজ ১ দিনে"),
               ("/data/results[1]/verification", "নিবন্ধন খাতা"),
               ("/data/results[2]/tried", "no"),
               ("/data/results[3]/tried", "yes"), ("/data/results[3]/result", "বাজেট সভায় ২০০ জন"),
               ("/data/results[3]/verification", "সভার কার্যবিবরণী"),
               ("/data/officer_name", "মোঃ করিম উদ্দিন"), ("/data/followup_date", "2026-12-01")]
    return answers


def _js(media, answers):
    result = formtools.fill("hl_followup", answers, media={"action_plans.csv": media})
    assert result.ok, (result.violations, result.errors)
    return ElementTree.fromstring(result.xml)


def _jr(media, answers):
    built = formtools.built_forms()["hl_followup"]
    result = javarosa.fill(built.xml, answers,
                           media={**formtools.static_media("hl_followup"), "action_plans.csv": media})
    assert result.code == 0, result.stderr
    return ElementTree.fromstring(result.xml)


ENGINES = {"odk-web-forms": _js, "javarosa": _jr}


@pytest.mark.parametrize("engine", ENGINES)
def test_choosing_the_plan_fills_in_participant_place_date_and_practices(plans_csv, engine):
    root = ENGINES[engine](plans_csv, _answers())
    assert root.findtext("action_plan") == "plan-rahima"  # the link to the plan is its key
    assert root.findtext("upazila") == "303334" and root.findtext("union") == "30333415"
    assert root.findtext("participant_name") == "রহিমা বেগম"
    assert root.findtext("position") == "ইউপি সদস্য"
    assert root.findtext("plan_date") == "2026-10-12"
    assert root.findtext("result_count") == "3"
    rows = root.findall("results")
    assert [r.findtext("practice") for r in rows] == PRACTICES
    assert [r.findtext("tried") for r in rows] == ["yes", "no", "yes"]
    assert rows[0].findtext("result") == "৭ দিনের কাজ ১ দিনে"
    assert rows[1].findtext("result") in (None, "")  # not tried: no result asked


@pytest.mark.parametrize("engine", ENGINES)
def test_filled_in_answers_stay_editable(plans_csv, engine):
    edits = [("/data/participant_name", "রহিমা খাতুন"), ("/data/position", "ইউপি চেয়ারম্যান")]
    answers = _answers(edits=edits)
    answers.insert(answers.index(("/data/results[1]/tried", "yes")) + 1,
                   ("/data/results[1]/practice", "জন্ম নিবন্ধন ডেস্ক (এক জানালা)"))
    root = ENGINES[engine](plans_csv, answers)
    assert root.findtext("participant_name") == "রহিমা খাতুন"
    assert root.findtext("position") == "ইউপি চেয়ারম্যান"
    assert root.findall("results")[0].findtext("practice") == "জন্ম নিবন্ধন ডেস্ক (এক জানালা)"
    assert root.findtext("action_plan") == "plan-rahima"


def test_the_plan_list_offers_the_districts_plans_and_without_a_plan_the_form_asks(plans_csv):
    offered = formtools.fill("hl_followup", WHERE, media={"action_plans.csv": plans_csv})
    assert sorted(offered.options["/data/action_plan"]) == ["plan-karim", "plan-rahima"]
    # No plan chosen (a paper plan never entered): everything is typed, nothing is filled in.
    typed = formtools.fill("hl_followup", [*WHERE, ("/data/upazila", "303334"),
                                           ("/data/union", "30333415"), ("/data/result_count", "1")],
                           media={"action_plans.csv": plans_csv})
    assert typed.values["/data/participant_name"] in (None, "")
    assert typed.values["/data/results[1]/practice"] in (None, "")
