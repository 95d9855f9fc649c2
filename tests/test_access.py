"""The one rule for writes and reads (``pipeline.access``): who may send which form where, and
see which submission. Pure: principals are built from plain objects, locations from XML."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import access, safe_xml
from pipeline.problems import Problem
from tests import builders

RANGPUR, KURIGRAM = "5585", "5549"  # districts of Rangpur division (55)
AT_RANGPUR = {"division": "55", "district": RANGPUR}
AT_KURIGRAM = {"division": "55", "district": KURIGRAM}
AT_DHAKA = {"division": "30", "district": "3026"}


def web(role: str, *scope: str) -> access.Principal:
    return access.web_user(SimpleNamespace(username=f"{role}-x", role=role, scope=list(scope)))


def app(forms: tuple[str, ...] = (), scope: tuple[str, ...] = ()) -> access.Principal:
    return access.app_user(SimpleNamespace(name="team", forms=list(forms), scope=list(scope)))


def refused(principal, form_id, where) -> Problem:
    with pytest.raises(Problem) as caught:
        access.check_write(principal, form_id, where)
    assert caught.value.status == 403
    assert not access.may_write(principal, form_id, where)
    return caught.value


def test_district_officers_are_read_only_everywhere_even_in_their_own_district():
    officer = web("district_officer", f"bd_district:{KURIGRAM}")
    problem = refused(officer, "innovation_inspection", AT_KURIGRAM)
    assert problem.code == "access.read_only"
    assert "may read submissions but not send them" in problem.message
    assert not access.may_fill(officer, "innovation_inspection")
    assert access.may_see(officer, AT_KURIGRAM)
    assert not access.may_see(officer, AT_RANGPUR)


def test_a_supervisor_writes_only_inside_their_scope():
    kurigram = web("supervisor", f"bd_district:{KURIGRAM}")
    access.check_write(kurigram, "innovation_inspection", AT_KURIGRAM)
    problem = refused(kurigram, "innovation_inspection", AT_RANGPUR)
    assert problem.code == "access.outside_area"
    assert "Rangpur (district 5585)" in problem.message
    assert "Kurigram (bd_district:5549)" in problem.message
    division = web("supervisor", "bd_division:55")
    access.check_write(division, "hl_action_plan", AT_RANGPUR)
    access.check_write(division, "hl_action_plan", {"district": KURIGRAM})  # division left blank
    assert refused(division, "hl_action_plan", AT_DHAKA).code == "access.outside_area"


def test_a_scoped_writer_cannot_send_a_submission_without_a_location():
    for who in (web("supervisor", f"bd_district:{RANGPUR}"), app(scope=(f"bd_district:{RANGPUR}",))):
        problem = refused(who, "hl_action_plan", {"division": "", "district": "", "province": ""})
        assert problem.code == "access.no_location"
        assert "names no division, district or province" in problem.message


def test_location_fields_that_disagree_are_refused():
    """A Rangpur district declared in the Dhaka division would show on Dhaka's pages too."""
    rangpur = web("supervisor", f"bd_district:{RANGPUR}")
    problem = refused(rangpur, "hl_action_plan", {"division": "30", "district": RANGPUR})
    assert problem.code == "access.location_mismatch"
    nepal = web("supervisor", "np_district:306")
    access.check_write(nepal, "hl_action_plan", {"province": "3", "district": "306"})


def test_admins_and_unscoped_app_users_write_everywhere():
    for who in (web("admin", "*"), app()):
        for where in (AT_RANGPUR, AT_DHAKA, {}):
            access.check_write(who, "hl_action_plan", where)
            assert access.may_see(who, where)


def test_an_app_user_writes_only_its_forms_and_inside_its_area():
    team = app(forms=("innovation_inspection",), scope=(f"bd_district:{RANGPUR}",))
    access.check_write(team, "innovation_inspection", AT_RANGPUR)
    assert refused(team, "hl_ballot", AT_RANGPUR).code == "auth.forbidden"
    assert refused(team, "innovation_inspection", AT_KURIGRAM).code == "access.outside_area"
    assert access.may_fill(team, "innovation_inspection")
    assert not access.may_fill(team, "hl_ballot")


def test_a_pull_source_writes_its_own_form_anywhere():
    source = access.pull_source("kobo-rangpur", "hl_action_plan")
    access.check_write(source, "hl_action_plan", AT_DHAKA)
    assert refused(source, "hl_ballot", AT_DHAKA).code == "auth.forbidden"


def test_an_edit_may_replace_only_an_instance_its_writer_may_see():
    kurigram = web("supervisor", f"bd_district:{KURIGRAM}")
    access.check_edit(kurigram, AT_KURIGRAM)
    with pytest.raises(Problem) as caught:
        access.check_edit(kurigram, AT_RANGPUR)
    assert (caught.value.code, caught.value.status) == ("access.edit_outside_area", 403)
    access.check_edit(app(), AT_RANGPUR)


def test_location_is_read_from_the_submissions_top_level_fields_in_any_namespace():
    xml = builders.submission("f", {"division": "55", "district": " 5585 ",
                                    "g": {"province": "3"}}, root="data")
    root = safe_xml.fromstring(
        xml.replace(b"<data ", b'<data xmlns="http://opendatakit.org/xforms" ', 1))
    assert access.location(root) == {"division": "55", "district": "5585", "province": "",
                                     "upazila": "", "local_level": ""}


STORED = (b'<data id="f"><division>55</division><district>%s</district>'
          b'<meta><instanceID>uuid:1</instanceID></meta></data>')
LAUGHS = b"".join(b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
                  % (i, *[i - 1] * 10) for i in range(1, 10))
HOSTILE = {
    # Rangpur's code smuggled in by an entity the document declares
    "entity": b'<!DOCTYPE data [<!ENTITY d "5585">]>' + STORED % b"&d;",
    # a billion laughs: nine levels of ten, 10**9 copies of "lol" if expanded
    "billion laughs": b'<!DOCTYPE data [<!ENTITY l0 "lol">' + LAUGHS + b"]>" + STORED % b"&l9;",
    "external entity": b'<!DOCTYPE data [<!ENTITY d SYSTEM "file:///etc/hostname">]>'
                       + STORED % b"&d;",
    # no entity at all, but a DTD no upload could have: the document is not one we stored
    "plain DTD": b"<!DOCTYPE data [<!ELEMENT data ANY>]>" + STORED % RANGPUR.encode(),
}


@pytest.mark.parametrize("xml", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_stored_document_with_a_dtd_is_located_nowhere_and_expands_nothing(xml):
    """Stored XML is read as uploads are (``safe_xml.submission``: no DTD at all), so a document
    that reached the raw store another way neither expands an entity nor names a place: only a
    reader who sees everywhere sees it."""
    rangpur = web("supervisor", f"bd_district:{RANGPUR}")
    assert access.stored_location(STORED % RANGPUR.encode())["district"] == RANGPUR
    assert access.may_see_stored(rangpur, STORED % RANGPUR.encode())
    assert access.stored_location(xml) == dict.fromkeys(access.LOCATION_FIELDS, "")
    assert not access.may_see_stored(rangpur, xml)
    assert access.may_see_stored(web("admin", "*"), xml)
    with pytest.raises(Problem) as caught:
        safe_xml.submission(xml)
    assert caught.value.code == "submission.malformed_xml"
    assert "declares a DTD or entities" in caught.value.message


def test_app_user_areas_are_stored_sorted_and_everywhere_is_empty():
    assert access.scope_codes(["bd_district:5585", " bd_division:55", "bd_district:5585"]) == [
        "bd_district:5585", "bd_division:55"]
    assert access.scope_codes(["*", "bd_district:5585"]) == []
    with pytest.raises(Problem) as caught:
        access.scope_codes(["district:5585"])
    assert caught.value.code == "scope.invalid"


codes = st.sampled_from(["", "55", "30", "5585", "5549", "3026", "3", "306", "x"])


@given(division=codes, district=codes, province=codes)
def test_writing_somewhere_implies_seeing_it(division, district, province):
    """Nobody can create a row they could not then read (and so, for example, edit)."""
    where = {"division": division, "district": district, "province": province}
    for who in (web("supervisor", f"bd_district:{RANGPUR}"), web("supervisor", "bd_division:55"),
                web("supervisor", "np_province:3"), app(scope=(f"bd_district:{KURIGRAM}",)),
                web("admin", "*"), app()):
        if access.may_write(who, "hl_action_plan", where):
            assert access.may_see(who, where)


def test_a_local_level_scope_reaches_one_palika():
    """np_local_level: a municipal officer of Shankharapur (30601) sees and sends only its rows,
    not Kageshwori Manahara's (30602) in the same district."""
    shankharapur = {"province": "3", "district": "306", "local_level": "30601"}
    kageshwori = {"province": "3", "district": "306", "local_level": "30602"}
    for who in (web("supervisor", "np_local_level:30601"), app(scope=("np_local_level:30601",))):
        access.check_write(who, "hl_action_plan", shankharapur)
        assert access.may_see(who, shankharapur) and not access.may_see(who, kageshwori)
        problem = refused(who, "hl_action_plan", kageshwori)
        assert problem.code == "access.outside_area"
        assert "Kageshwori Manahara Municipality (local_level 30602)" in problem.message
    # A local level outside the district it is sent with is refused as contradictory.
    district = web("supervisor", "np_district:306")
    problem = refused(district, "hl_action_plan", {**shankharapur, "district": "305"})
    assert problem.code == "access.location_mismatch"
    # The district's officer still sees every palika of the district.
    assert access.may_see(district, kageshwori)
