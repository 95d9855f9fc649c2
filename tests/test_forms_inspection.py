"""An inspection can be finished on a fresh server: a project the registry list does not offer
is described in the form (name, code if known, office, category), in ODK's JS engine and in
JavaRosa."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree

from tests import formtools, javarosa

DINAJPUR_SADAR = [("/data/division", "55"), ("/data/district", "5527"), ("/data/upazila", "552710")]
REST = [a for a in formtools.SAMPLE_ANSWERS["innovation_inspection"]
        if a[0] not in ("/data/division", "/data/district", "/data/upazila", "/data/project")]
NEW_PROJECT = [("/data/project_listed", "no"), ("/data/new_project_name", "ই-নামজারি হেল্প ডেস্ক"),
               ("/data/new_project_code", "DNJ-2026-099"),
               ("/data/new_project_office", "জেলা প্রশাসকের কার্যালয়, দিনাজপুর"),
               ("/data/new_project_category", "land")]


def _js(answers, media):
    result = formtools.fill("innovation_inspection", answers, media=media)
    return result.ok, result.xml


def _jr(answers, media):
    built = formtools.built_forms()["innovation_inspection"]
    no_files = [a for a in answers if not a[0].startswith(("/data/photos", "/data/signature"))]
    result = javarosa.fill(built.xml, no_files, media=media)
    return result.code == 0, result.xml


ENGINES = {"odk-web-forms": _js, "javarosa": _jr}


# innovation_projects.csv of a fresh server: only its header (tests/test_generated_media.py).
EMPTY_REGISTRY = {"innovation_projects.csv": b"name,label,label_en,label_bn,label_ne,division,district,upazila\n"}


@pytest.mark.parametrize("engine", ENGINES)
def test_on_a_fresh_server_a_project_not_in_the_list_is_inspected(engine):
    fill = ENGINES[engine]
    ok, _ = fill([*DINAJPUR_SADAR, *REST], EMPTY_REGISTRY)
    assert not ok  # "in the list?" = yes, but the list is empty: the form says to answer No
    ok, xml = fill([*DINAJPUR_SADAR, *NEW_PROJECT, *REST], EMPTY_REGISTRY)
    assert ok
    root = ElementTree.fromstring(xml)
    assert root.findtext("project_listed") == "no" and root.findtext("project") in (None, "")
    assert root.findtext("new_project_name") == "ই-নামজারি হেল্প ডেস্ক"
    assert root.findtext("new_project_category") == "land"
    assert root.findtext("project_name") == "ই-নামজারি হেল্প ডেস্ক"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_listed_project_is_chosen_as_before(engine):
    ok, xml = ENGINES[engine]([*DINAJPUR_SADAR, ("/data/project", "DNJ-2026-001"), *REST],
                              formtools.static_media("innovation_inspection"))
    assert ok
    root = ElementTree.fromstring(xml)
    assert root.findtext("project_listed") == "yes" and root.findtext("project") == "DNJ-2026-001"
    assert root.findtext("new_project_name") in (None, "")


def test_a_new_projects_code_is_a_registry_code():
    answers = [*DINAJPUR_SADAR, *NEW_PROJECT, *REST]
    answers[answers.index(("/data/new_project_code", "DNJ-2026-099"))] = ("/data/new_project_code", "DNJ 99")
    result = formtools.fill("innovation_inspection", answers, media=EMPTY_REGISTRY)
    assert result.violation("/data/new_project_code") is not None
