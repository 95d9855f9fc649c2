"""The forms' rules, checked by filling them with ODK's own engine (tests/engine/fill.mjs)."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree

from tests import formtools
from tests.formtools import SAMPLE_ANSWERS, fill

KALIGANJ_NOMINEES = [f"0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c0{i}" for i in range(1, 8)]
BALLOT_WORKSHOP = SAMPLE_ANSWERS["hl_ballot"][:3]  # Dhaka division, Gazipur, Kaliganj


def _replace(answers, path, value):
    return [(p, value if p == path else v) for p, v in answers]


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_realistic_bengali_and_nepali_answers_are_accepted(form_id):
    result = fill(form_id, SAMPLE_ANSWERS[form_id])
    assert result.ok, (result.violations, result.errors)
    root = ElementTree.fromstring(result.xml)
    assert root.get("id") == form_id
    assert root.findtext("meta/instanceID").startswith("uuid:")
    assert root.findtext("meta/instanceName")  # a supervisor can tell submissions apart
    for path, value in SAMPLE_ANSWERS[form_id]:
        if "[" not in path and isinstance(value, str) and not path.endswith(("date", "_before", "_after")):
            assert root.findtext(path.removeprefix("/data/")) == value, path


def test_instance_name_reads_participant_place_and_date():
    result = fill("hl_action_plan", SAMPLE_ANSWERS["hl_action_plan"])
    name = ElementTree.fromstring(result.xml).findtext("meta/instanceName")
    assert name.startswith("सीता शर्मा – ")
    assert "Shankharapur Municipality" in name and name.endswith("2026-10-20")


def test_a_sixth_ballot_pick_is_refused_and_five_are_accepted():
    answers = [*BALLOT_WORKSHOP, ("/data/voter_name", "নাসরিন আক্তার"), ("/data/voter_role", "up_member_reserved")]
    six = fill("hl_ballot", [*answers, ("/data/picks", KALIGANJ_NOMINEES[:6])])
    violation = six.violation("/data/picks")
    assert not six.ok and violation["condition"] == "constraint"
    assert violation["message"] == "পাঁচটির বেশি বেছে নেবেন না।"  # the form opens in Bengali

    five = fill("hl_ballot", [*answers, ("/data/picks", KALIGANJ_NOMINEES[:5]),
                              ("/data/priority", list(reversed(KALIGANJ_NOMINEES[:5])))])
    assert five.ok, (five.violations, five.errors)
    # The priority question offers exactly the picks.
    assert sorted(five.options["/data/priority"]) == KALIGANJ_NOMINEES[:5]


def test_ballot_offers_only_that_workshops_nominees():
    result = fill("hl_ballot", BALLOT_WORKSHOP)
    assert result.options["/data/picks"] == KALIGANJ_NOMINEES
    sadar = fill("hl_ballot", _replace(BALLOT_WORKSHOP, "/data/upazila", "303330"))
    assert sadar.options["/data/picks"] == ["0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c08"]


@pytest.mark.parametrize("role", ["uno", "up_secretary", "partner_staff"])
def test_a_non_elected_voter_cannot_vote(role):
    result = fill("hl_ballot", [*BALLOT_WORKSHOP, ("/data/voter_name", "মোঃ সাইফুল ইসলাম"),
                                ("/data/voter_role", role), ("/data/picks", KALIGANJ_NOMINEES[:1])])
    assert not result.ok
    assert "শুধুমাত্র নির্বাচিত জনপ্রতিনিধিরা ভোট দেবেন" in result.violation("/data/voter_role")["message"]
    assert result.relevant["/data/not_a_voter"] is True  # the note explaining why
    assert result.relevant["/data/picks"] is False
    assert "not relevant" in result.error("/data/picks")["message"]


def test_a_followup_dated_before_its_plan_is_refused():
    answers = _replace(SAMPLE_ANSWERS["hl_followup"], "/data/followup_date", "2026-06-14")
    result = fill("hl_followup", answers)
    assert not result.ok
    # The form opens in Bengali (the one language policy), so its messages are Bengali.
    assert result.violation("/data/followup_date")["message"].startswith("ফলো-আপের তারিখ কর্মপরিকল্পনার তারিখের আগে")
    english = fill("hl_followup", answers, language="en")
    assert english.violation("/data/followup_date")["message"].startswith("The follow-up date cannot be before")


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_every_form_opens_in_bengali_and_offers_english_and_nepali(form_id):
    xml = formtools.built_forms()[form_id].xml.decode("utf-8")
    assert '<translation lang="Bengali (bn)" default="true()">' in xml
    assert '<translation lang="English (en)">' in xml and '<translation lang="Nepali (ne)">' in xml


def test_the_reporting_period_cannot_end_before_it_starts():
    answers = _replace(SAMPLE_ANSWERS["hl_followup"], "/data/period_end", "2026-06-30")
    assert fill("hl_followup", answers).violation("/data/period_end") is not None


@pytest.mark.parametrize("form_id, count, row", [("hl_action_plan", "/data/plan_count", "/data/plans"),
                                                 ("hl_followup", "/data/result_count", "/data/results")])
def test_a_sixth_repeat_row_is_refused(form_id, count, row):
    answers = _replace(SAMPLE_ANSWERS[form_id], count, "6")
    refused = fill(form_id, answers)
    assert refused.violation(count)["message"] == "১ থেকে ৫ এর মধ্যে একটি সংখ্যা লিখুন।"

    five = _replace(SAMPLE_ANSWERS[form_id], count, "5")
    field = "practice"
    added = fill(form_id, [*five, (f"{row}[5]/{field}", "পঞ্চম"), (f"{row}[6]/{field}", "ষষ্ঠ")])
    assert "cannot be added" in added.error(f"{row}[6]/{field}")["message"]
    assert ElementTree.fromstring(added.xml).findall(row.removeprefix("/data/")).__len__() == 5


def test_progress_above_100_and_negative_tcv_are_refused():
    answers = _replace(_replace(SAMPLE_ANSWERS["innovation_inspection"], "/data/progress", "101"),
                       "/data/cost_after", "-5")
    result = fill("innovation_inspection", answers)
    assert result.violation("/data/progress")["message"] == "০ থেকে ১০০ এর মধ্যে শতাংশ লিখুন।"
    assert result.violation("/data/cost_after") is not None
    assert fill("innovation_inspection", _replace(SAMPLE_ANSWERS["innovation_inspection"],
                                                  "/data/progress", "100")).ok


def test_a_district_outside_the_chosen_division_is_not_offered():
    result = fill("hl_nomination", [("/data/division", "30"), ("/data/district", "5527")])
    offered = result.options["/data/district"]
    assert "3033" in offered and "5527" not in offered  # Gazipur yes, Dinajpur (Rangpur) no
    assert all(code.startswith("30") for code in offered)
    assert "not offered" in result.error("/data/district")["message"]


def test_nepal_cascade_and_city_corporations_have_no_union():
    nepal = fill("hl_action_plan", [("/data/country", "np"), ("/data/province", "3"), ("/data/district", "306")])
    assert nepal.options["/data/district"] and all(c.startswith("3") and len(c) == 3
                                                   for c in nepal.options["/data/district"])
    assert all(code.startswith("306") for code in nepal.options["/data/local_level"])
    assert nepal.relevant["/data/division"] is False and nepal.relevant["/data/union"] is False

    city = fill("hl_action_plan", [("/data/country", "bd"), ("/data/division", "30"),
                                   ("/data/district", "3033"), ("/data/upazila", "CC30333300")])
    assert city.relevant["/data/union"] is False


def test_inspection_offers_the_districts_projects_for_the_upazila():
    result = fill("innovation_inspection", SAMPLE_ANSWERS["innovation_inspection"][:3])
    # Birampur's own project and the district-wide one; not another upazila's or district's.
    assert result.options["/data/project"] == ["DNJ-2026-001", "DNJ-2026-003"]
