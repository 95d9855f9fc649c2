"""The ballot date: today by default, editable, never in the future nor before the workshop's
nominations (``workshop_day`` in ballot_candidates.csv), in ODK's JS engine and in JavaRosa."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from defusedxml import ElementTree

from tests import formtools, javarosa

TODAY = date.today()
WORKSHOP = TODAY - timedelta(days=10)
KALIGANJ = [("/data/division", "30"), ("/data/district", "3033"), ("/data/upazila", "303334")]
GAZIPUR_SADAR = [("/data/division", "30"), ("/data/district", "3033"), ("/data/upazila", "303330")]
CANDIDATES = (
    "name,label,label_en,label_bn,label_ne,upazila,workshop_day\n"
    f"nom-1,Ward shava,Ward shava,ওয়ার্ড সভা,Ward shava,303334,{WORKSHOP:%Y%m%d}\n"
    f"nom-2,Open budget,Open budget,উন্মুক্ত বাজেট,Open budget,303334,{WORKSHOP + timedelta(days=1):%Y%m%d}\n"
    "nom-3,Digital centre,Digital centre,ডিজিটাল সেন্টার,Digital centre,303330,\n"
).encode()


def _answers(where, day=None):
    dated = [] if day is None else [("/data/ballot_date", day.isoformat())]
    pick = "nom-1" if where is KALIGANJ else "nom-3"
    return [*where, *dated, ("/data/voter_name", "আব্দুল হামিদ"), ("/data/voter_role", "up_chairman"),
            ("/data/picks", [pick]), ("/data/priority", [pick])]


def _js(answers):
    result = formtools.fill("hl_ballot", answers, media={"ballot_candidates.csv": CANDIDATES})
    ok = result.ok and result.violation("/data/ballot_date") is None
    return ok, ElementTree.fromstring(result.xml).findtext("ballot_date")


def _jr(answers):
    result = javarosa.fill(formtools.built_forms()["hl_ballot"].xml, answers,
                           media={"ballot_candidates.csv": CANDIDATES})
    ok = result.code == 0
    return ok, ElementTree.fromstring(result.xml).findtext("ballot_date") if ok else None


ENGINES = {"odk-web-forms": _js, "javarosa": _jr}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_ballot_date_is_today_unless_changed(engine):
    assert ENGINES[engine](_answers(KALIGANJ)) == (True, TODAY.isoformat())
    later = WORKSHOP + timedelta(days=3)
    assert ENGINES[engine](_answers(KALIGANJ, later)) == (True, later.isoformat())


@pytest.mark.parametrize("engine", ENGINES)
def test_the_ballot_date_is_not_in_the_future_nor_before_the_nominations(engine):
    fill = ENGINES[engine]
    assert fill(_answers(KALIGANJ, TODAY + timedelta(days=1)))[0] is False
    assert fill(_answers(KALIGANJ, WORKSHOP - timedelta(days=1)))[0] is False
    assert fill(_answers(KALIGANJ, WORKSHOP))[0] is True  # the first nomination's day
    # Where no nomination gives its date, only the future is refused.
    assert fill(_answers(GAZIPUR_SADAR, date(2020, 1, 1)))[0] is True
