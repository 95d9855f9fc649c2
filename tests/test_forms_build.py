"""pipeline.forms: converting XLSForms (ODK Validate), building them all, publishing versions."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline import forms
from pipeline.models import AuditEvent, Form, FormMedia, FormVersion
from pipeline.problems import Problem
from tests import formtools

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"

# docs/fields.md: the top-level fields other modules rely on.
FIELDS = {
    "hl_action_plan": "country division district upazila union province local_level participant_name "
                      "position plans date_prepared place signature",
    "hl_followup": "country division district upazila union province local_level action_plan "
                   "participant_name position period_type period_start period_end results officer_name "
                   "plan_date followup_date",
    "hl_nomination": "division district upazila workshop_date union practice_title practice_description indicators",
    "hl_ballot": "division district upazila voter_name voter_role picks priority",
    "innovation_inspection": "division district upazila project inspector_name inspector_role visit_date "
                             "stage progress on_plan time_before time_after cost_before cost_after "
                             "visits_before visits_after citizen_feedback obstacles guidance recommendation "
                             "photos location signature",
}
REPEAT_FIELDS = {"plans": "topic practice implementation expected_results verification",
                 "results": "practice result verification", "indicators": "indicator",
                 "photos": "photo caption"}
MEDIA = {
    "hl_action_plan": ["bd_union.csv", "np_local_level.csv"],
    "hl_followup": ["action_plans.csv", "bd_union.csv", "np_local_level.csv"],
    "hl_nomination": ["bd_union.csv"],
    "hl_ballot": ["ballot_candidates.csv"],
    "innovation_inspection": ["innovation_projects.csv"],
}


def _primary_instance(xml: bytes):
    model = ElementTree.fromstring(xml).find(f"{H}head/{XF}model")
    return next(iter(model.find(f"{XF}instance")))


def _xlsx(rows: list[tuple], settings=(("form_id", "version"), ("tiny", "2026112501"))) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "survey"
    for r in rows:
        book.active.append(r)
    sheet = book.create_sheet("settings")
    for r in settings:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_every_form_passes_odk_validate_with_the_agreed_ids_and_fields(built_forms):
    assert sorted(built_forms) == sorted(formtools.FORM_IDS)
    for form_id, built in built_forms.items():
        assert built.form_id == form_id
        assert re.fullmatch(r"20\d{8}", built.version)
        assert built.instance_name and built.title
        assert built.media == MEDIA[form_id]
        data = _primary_instance(built.xml)
        assert data.get("id") == form_id and data.get("version") == built.version
        top_level = {child.tag.removeprefix(XF) for child in data}
        assert set(FIELDS[form_id].split()) <= top_level, form_id
        for repeat, fields in REPEAT_FIELDS.items():
            for row in data.findall(f"{XF}{repeat}"):
                assert set(fields.split()) <= {c.tag.removeprefix(XF) for c in row}


def test_xforms_stay_small_enough_for_phones(built_forms):
    # Inline union lists made a 0.8-1.5 MB XForm that took seconds to open (xlsforms/README.md).
    for built in built_forms.values():
        assert len(built.xml) < 250_000, built.form_id


def test_a_pyxform_error_points_at_sheet_and_row():
    broken = _xlsx([("type", "name", "label", "constraint"), ("text", "a", "A", None),
                    ("integer", "b", "B", ". > ${missing}")])
    with pytest.raises(Problem) as caught:
        forms.convert(broken, "tiny.xlsx")
    problem = caught.value
    assert problem.code == "form.invalid" and problem.status == 400
    [error] = problem.details["errors"]
    assert (error["sheet"], error["row"]) == ("survey", 3)
    assert "missing" in error["message"] and "[row" not in error["message"]


def test_an_odk_validate_error_names_the_field_and_its_row():
    broken = _xlsx([("type", "name", "label", "relevant"), ("text", "a", "A", None),
                    ("text", "b", "B", "(${a} = 'x'")])
    with pytest.raises(Problem) as caught:
        forms.convert(broken, "tiny.xlsx")
    [error] = caught.value.details["errors"]
    assert (error["sheet"], error["row"], error["field"]) == ("survey", 3, "b")
    assert "relevant condition for field 'b'" in error["message"] and "/data/" not in error["message"]


@pytest.mark.parametrize("content, filename", [(b"not a workbook", "form.xlsx"), (b"", "form.xlsx"),
                                                (b"%PDF-1.4", "form.pdf"),
                                                (b"type,name,label\ntext,a,A\n", "form.csv")])
def test_a_file_that_is_not_an_xlsform_is_a_clear_problem(content, filename):
    with pytest.raises(Problem) as caught:
        forms.convert(content, filename)
    assert caught.value.code == "form.invalid" and caught.value.status == 400
    assert caught.value.message.startswith(filename)


def test_a_form_without_a_version_is_refused():
    with pytest.raises(Problem) as caught:
        forms.convert(_xlsx([("type", "name", "label"), ("text", "a", "A")],
                            settings=(("form_id",), ("tiny",))), "tiny.xlsx")
    assert caught.value.details["errors"][0]["sheet"] == "settings"


def test_media_names_cover_every_kind_of_reference():
    xml = (b'<h:html><instance id="u" src="jr://file-csv/bd_union.csv"/>'
           b'<instance id="x" src="jr://file/lists/extra.xml"/><value>jr://images/logo.png</value></h:html>')
    assert forms.media_names(xml) == ["bd_union.csv", "extra.xml", "logo.png"]


def test_build_all_writes_xforms_and_the_media_they_need(tmp_path):
    src = tmp_path / "src"
    (src / "media").mkdir(parents=True)
    for name in ("hl_ballot.xlsx",):
        (src / name).write_bytes((formtools.XLSFORMS / name).read_bytes())
    (src / "media" / "ballot_candidates.csv").write_bytes(
        (formtools.MEDIA_DIR / "ballot_candidates.csv").read_bytes())
    (src / "~$hl_ballot.xlsx").write_bytes(b"Excel lock file")
    [built] = forms.build_all(src, tmp_path / "out")
    assert (tmp_path / "out" / "hl_ballot.xml").read_bytes() == built.xml
    assert (tmp_path / "out" / "ballot_candidates.csv").exists()


def test_publish_creates_form_version_media_and_audit(session, built_forms):
    built = built_forms["hl_ballot"]
    media = formtools.static_media("hl_ballot")
    published = forms.publish(session, built, b"xlsx bytes", media, "admin")
    version = published.version
    assert published.new
    form = session.scalar(select(Form).where(Form.xml_form_id == "hl_ballot"))
    assert (form.state, form.title, form.current_version.id) == ("open", built.title, version.id)
    assert version.md5 == hashlib.md5(built.xml).hexdigest() and version.xml == built.xml
    assert version.media == ["ballot_candidates.csv"] and version.published_by == "admin"
    [attached] = session.scalars(select(FormMedia)).all()
    assert attached.md5 == hashlib.md5(media["ballot_candidates.csv"]).hexdigest()
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "form.publish")).all()
    assert (event.actor, event.form_id, event.details["version"]) == ("admin", form.id, built.version)


def test_publishing_the_same_version_twice_is_idempotent(session, built_forms):
    built = built_forms["hl_nomination"]
    first = forms.publish(session, built, b"the workbook", {}, "admin")
    again = forms.publish(session, built, b"the workbook", {}, "admin")
    assert (first.new, again.new) == (True, False) and again.version.id == first.version.id
    assert forms.identical_version(session, b"the workbook").id == first.version.id
    assert forms.identical_version(session, b"another workbook") is None
    assert session.scalar(select(FormVersion.id).where(FormVersion.id != first.version.id)) is None
    assert len(session.scalars(select(AuditEvent)).all()) == 1


def test_same_version_with_different_content_is_refused(session, built_forms):
    built = built_forms["hl_nomination"]
    forms.publish(session, built, None, {}, "admin")
    changed = forms.BuiltForm(built.form_id, built.version, built.title,
                              built.xml.replace(b"</h:title>", b" (edited)</h:title>"), built.media)
    with pytest.raises(Problem) as caught:
        forms.publish(session, changed, None, {}, "admin")
    assert (caught.value.code, caught.value.status) == ("form.version_exists", 409)
    assert "raise the version" in caught.value.message
    assert len(session.scalars(select(FormVersion)).all()) == 1


def test_a_new_version_becomes_current(session, built_forms):
    built = built_forms["hl_nomination"]
    forms.publish(session, built, None, {}, "admin")
    raised = str(int(built.version) + 1)
    newer = forms.BuiltForm(built.form_id, raised, built.title,
                            built.xml.replace(f'version="{built.version}"'.encode(),
                                              f'version="{raised}"'.encode()), built.media)
    forms.publish(session, newer, None, {}, "admin")
    form = session.scalar(select(Form).where(Form.xml_form_id == "hl_nomination"))
    assert [v.version for v in form.versions] == [built.version, raised]
    assert form.current_version.version == raised


def test_set_state_changes_state_and_audits(session, published_forms):
    forms.set_state(session, "hl_ballot", "closing", "admin")
    forms.set_state(session, "hl_ballot", "closed", "admin")
    form = session.scalar(select(Form).where(Form.xml_form_id == "hl_ballot"))
    assert form.state == "closed"
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "form.state")
                             .order_by(AuditEvent.id)).all()
    assert [(e.from_state, e.to_state) for e in events] == [("open", "closing"), ("closing", "closed")]
    with pytest.raises(Problem) as unknown:
        forms.set_state(session, "no_such_form", "open", "admin")
    assert unknown.value.status == 404
    with pytest.raises(Problem) as bad:
        forms.set_state(session, "hl_ballot", "paused", "admin")
    assert bad.value.code == "form.bad_state"


def test_published_forms_fixture_publishes_all_five_with_their_media(session, published_forms):
    assert sorted(published_forms) == sorted(formtools.FORM_IDS)
    names = {(m.form_version.form.xml_form_id, m.name) for m in session.scalars(select(FormMedia))}
    assert ("hl_action_plan", "bd_union.csv") in names and ("hl_ballot", "ballot_candidates.csv") in names
    assert len(names) == sum(len(v) for v in MEDIA.values())


def test_xlsx_files_are_real_workbooks_with_three_sheets():
    for form_id in formtools.FORM_IDS:
        book = load_workbook(formtools.XLSFORMS / f"{form_id}.xlsx", read_only=True)
        assert {"survey", "choices", "settings"} <= set(book.sheetnames)
        book.close()


def test_publishing_clears_the_process_caches(session, built_forms):
    """``pipeline/caches.py`` owns every cache; a publish empties them all."""
    from pipeline import caches, xform

    built = built_forms["hl_nomination"]
    xform.read(built.xml, built.md5)
    calls = []
    caches.register(calls.clear)  # any registered cache is cleared too
    calls.append("kept")
    forms.publish(session, built, None, {}, "admin")
    assert xform.cached(built.md5) is None
    assert calls == []
