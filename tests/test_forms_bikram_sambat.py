"""Forms 1 and 2 offer Nepal users ODK Collect's Bikram Sambat date picker: a Nepal-only
``<date>_np`` question (appearance ``bikram-sambat``) whose choice is copied into the one stored
date, ISO Gregorian as ODK stores every date; Bangladesh users never see it. Checked in the built
XForm and by filling with ODK's JS engine and with JavaRosa (Collect's engine)."""

from __future__ import annotations

import re

import pytest
from defusedxml import ElementTree

from tests import formtools, javarosa

PICKERS = {"hl_action_plan": ("date_prepared",),
           "hl_followup": ("period_start", "period_end", "followup_date")}


XF = "{http://www.w3.org/2002/xforms}"


@pytest.mark.parametrize("form_id", sorted(PICKERS))
def test_each_nepal_date_has_a_bikram_sambat_picker_that_sets_the_stored_date(form_id):
    root = ElementTree.fromstring(formtools.built_forms()[form_id].xml)
    inputs = {i.get("ref"): i for i in root.iter(f"{XF}input")}
    binds = {b.get("nodeset"): b for b in root.iter(f"{XF}bind")}
    for name in PICKERS[form_id]:
        picker = inputs[f"/data/{name}_np"]
        assert picker.get("appearance") == "bikram-sambat"
        bind = binds[f"/data/{name}_np"]
        assert bind.get("type") == "date"
        assert re.sub(r"\s+", "", bind.get("relevant")) == "/data/country='np'"
        # Choosing a BS day writes the stored field (a setvalue on the picker's change).
        [copy] = picker.iter(f"{XF}setvalue")
        assert copy.get("event") == "xforms-value-changed"
        assert (copy.get("ref"), copy.get("value").strip()) == (f"/data/{name}", f"/data/{name}_np")
        assert binds[f"/data/{name}"].get("type") == "date" and f"/data/{name}" in inputs


def _nepal_plan(extra):
    answers = [a for a in formtools.SAMPLE_ANSWERS["hl_action_plan"]
               if a[0] not in ("/data/date_prepared", "/data/signature")]
    return answers + extra


def _js(answers):
    result = formtools.fill("hl_action_plan", answers)
    return result.ok, ElementTree.fromstring(result.xml)


def _jr(answers):
    result = javarosa.fill(formtools.built_forms()["hl_action_plan"].xml, answers,
                           media=formtools.static_media("hl_action_plan"))
    return result.code == 0, ElementTree.fromstring(result.xml) if result.code == 0 else None


ENGINES = {"odk-web-forms": _js, "javarosa": _jr}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_day_picked_in_bikram_sambat_is_stored_as_its_gregorian_date(engine):
    # 2083/08/04 BS is 2026-11-20: the picker hands the engine the Gregorian day.
    ok, root = ENGINES[engine](_nepal_plan([("/data/date_prepared_np", "2026-11-20")]))
    assert ok
    assert root.findtext("date_prepared") == "2026-11-20"
    assert root.findtext("date_prepared_np") == "2026-11-20"


@pytest.mark.parametrize("engine", ENGINES)
def test_bangladesh_plans_never_see_the_bikram_sambat_picker(engine):
    answers = [a for a in formtools.SAMPLE_ANSWERS["hl_action_plan"]
               if a[0] not in ("/data/country", "/data/province", "/data/district",
                               "/data/local_level", "/data/date_prepared", "/data/signature")]
    answers = [("/data/country", "bd"), ("/data/division", "30"), ("/data/district", "3033"),
               ("/data/upazila", "303334"), ("/data/union", "30333415"),
               ("/data/date_prepared", "2026-11-19"), *answers]
    ok, root = ENGINES[engine](answers)
    assert ok
    assert root.findtext("date_prepared") == "2026-11-19"
    assert (root.findtext("date_prepared_np") or "") == ""
