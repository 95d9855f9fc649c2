"""FormSchema from XForm XML: tables, column names, bind types, labels by language, choices."""

from __future__ import annotations

import pytest

from pipeline.problems import Problem
from pipeline.schema import MAX_IDENTIFIER, FormSchema, schema_for, table_name
from pipeline.xform import language_code
from tests import builders
from tests.builders import CHECK_V1 as V1
from tests.builders import CHECK_V2 as V2


@pytest.fixture(scope="module")
def v1() -> FormSchema:
    return FormSchema.from_xform(builders.built("site_check", version=V1).xml)


def test_identity_languages_and_instance_name(v1):
    assert (v1.form_id, v1.version, v1.title) == ("site_check", V1, "Site check")
    assert v1.languages == ("en", "bn") and v1.default_language == "en"
    assert v1.instance_name == "concat( /data/header/officer , ' ', /data/visit_date )"
    assert v1.root == "/data"


def test_repeats_become_child_tables_named_by_their_path(v1):
    assert [(t.name, t.path, t.parent) for t in v1.tables] == [
        ("wh_site_check", "/data", None),
        ("wh_site_check__photos", "/data/photos", "wh_site_check"),
        ("wh_site_check__photos__marks", "/data/photos/marks", "wh_site_check__photos"),
    ]
    assert [c.name for c in v1.table("wh_site_check__photos").columns] == ["caption", "shot"]
    assert [c.name for c in v1.table("wh_site_check__photos__marks").columns] == ["n"]


def test_groups_flatten_with_double_underscore_and_meta_and_notes_are_not_columns(v1):
    names = [c.name for c in v1.main.columns]
    assert names == ["district", "visit_date", "visited_at", "start_time", "progress", "score",
                     "on_plan", "tags", "project", "location", "header__officer", "photo"]
    assert v1.main.column("header__officer").path == "/data/header/officer"
    assert v1.ignored == frozenset({"/data/intro"})


def test_types_come_from_binds_and_controls(v1):
    types = {c.name: c.type for c in v1.main.columns}
    assert types == {
        "district": "select_one", "visit_date": "date", "visited_at": "dateTime",
        "start_time": "time", "progress": "int", "score": "decimal", "on_plan": "select_one",
        "tags": "select_multiple", "project": "select_one", "location": "geopoint",
        "header__officer": "string", "photo": "binary",
    }
    assert v1.table("wh_site_check__photos__marks").column("n").type == "int"


def test_labels_by_language_code(v1):
    assert v1.main.column("district").labels == {"en": "District", "bn": "জেলা"}
    assert v1.main.column("header__officer").labels == {"en": "Officer", "bn": "কর্মকর্তা"}
    # A plain <label> belongs to the default language.
    assert v1.main.column("visit_date").labels == {"en": "Visit date"}


def test_choices_from_secondary_instances_inline_items_and_files(v1):
    assert v1.main.column("district").choices == {
        "d1": {"en": "Dhaka", "bn": "ঢাকা"}, "d2": {"en": "Khulna", "bn": "খুলনা"}}
    assert v1.main.column("on_plan").choices == {"yes": {"en": "Yes"}, "no": {"en": "No"}}
    project = v1.main.column("project")
    assert project.choices is None and project.choice_file == "projects.csv"
    # Forms from other tools (and older pyxform) list choices inline, as <item>s of the control.
    itemset = (b"<itemset nodeset=\"instance('yes_no')/root/item\"><value ref=\"name\"/>"
               b"<label ref=\"label\"/></itemset>")
    xml = builders.built("site_check").xml
    assert itemset in xml
    inline = FormSchema.from_xform(xml.replace(itemset,
                                               b"<item><label>Yes</label><value>yes</value>"
                                                        b"</item><item><label>No</label><value>no"
                                                        b"</value></item>"))
    assert inline.main.column("on_plan").choices == {"yes": {"en": "Yes"}, "no": {"en": "No"}}


def test_geopoints_and_select_multiples_fill_several_columns(v1):
    assert v1.main.column("location").sql_columns() == [
        ("location_latitude", "float"), ("location_longitude", "float"),
        ("location_altitude", "float"), ("location_accuracy", "float")]
    assert v1.main.column("tags").sql_columns() == [
        ("tags", "text"), ("tags_water", "integer"), ("tags_roads", "integer"),
        ("tags_ict", "integer")]


def test_a_new_version_differs_where_the_form_did():
    v2 = FormSchema.from_xform(builders.built("site_check", version=V2).xml)
    names = [c.name for c in v2.main.columns]
    assert "obstacles" in names and "score" not in names
    assert v2.main.column("progress").type == "decimal"


def test_language_codes():
    assert language_code("English (en)") == "en"
    assert language_code("Nepali (ne)") == "ne"
    assert language_code("default") == "default"


def test_long_names_fit_postgresql_identifiers():
    long = "x" * 80
    name = table_name(long)
    assert len(name) <= MAX_IDENTIFIER and name != table_name("x" * 81)


def test_not_an_xform_is_refused():
    with pytest.raises(ValueError):
        FormSchema.from_xform(b"<html/>")
    with pytest.raises(ValueError):
        FormSchema.from_xform(b"not xml")


def test_schema_for_reads_the_published_version_once(session):
    builders.publish(session, "site_check", version=V1)
    first = schema_for(session, "site_check", V1)
    assert first is schema_for(session, "site_check", V1)
    assert first.version == V1
    with pytest.raises(Problem) as caught:
        schema_for(session, "site_check", "1999")
    assert caught.value.code == "form.version_not_found"


# ---- the five real forms honour docs/fields.md -------------------------------------------------

PROMISED = {
    "hl_action_plan": ({"country", "district", "participant_name", "position", "date_prepared",
                        "place", "signature", "province", "local_level", "division", "upazila",
                        "union"},
                       {"plans": {"topic", "practice", "implementation", "expected_results",
                                  "verification"}}),
    "hl_followup": ({"country", "action_plan", "participant_name", "position", "period_type",
                     "period_start", "period_end", "officer_name", "plan_date", "followup_date"},
                    {"results": {"practice", "result", "verification"}}),
    "hl_nomination": ({"division", "district", "upazila", "workshop_date", "union",
                       "practice_title", "practice_description"}, {"indicators": {"indicator"}}),
    "hl_ballot": ({"division", "district", "upazila", "voter_name", "voter_role", "picks",
                   "priority"}, {}),
    "innovation_inspection": ({"division", "district", "upazila", "project", "inspector_name",
                               "inspector_role", "visit_date", "stage", "progress", "on_plan",
                               "time_before", "time_after", "cost_before", "cost_after",
                               "visits_before", "visits_after", "citizen_feedback", "obstacles",
                               "guidance", "recommendation", "location_latitude",
                               "location_longitude", "location_altitude", "location_accuracy",
                               "signature"}, {"photos": {"photo", "caption"}}),
}


@pytest.mark.parametrize("form_id", sorted(PROMISED))
def test_real_forms_have_the_columns_docs_fields_md_promises(form_id):
    from tests import formtools

    schema = FormSchema.from_xform(formtools.built_forms()[form_id].xml)
    main_columns, repeats = PROMISED[form_id]
    names = {name for col in schema.main.columns for name, _ in col.sql_columns()}
    assert main_columns <= names, main_columns - names
    for repeat, columns in repeats.items():
        table = schema.table(f"wh_{form_id}__{repeat}")
        assert columns <= {c.name for c in table.columns}
    assert set(schema.languages) == {"en", "bn", "ne"}
    district = schema.main.column("district")
    assert district.type == "select_one" and set(district.labels) == {"en", "bn", "ne"}


def test_an_xform_is_read_once_and_gives_every_reader_its_part():
    """``pipeline/xform.py`` is the one reader: the schema, the raw store's file fields, the
    form's identity, the CSV zip's order and the page's group labels come from one parse."""
    from pipeline import xform
    from tests import formtools

    xml = formtools.built_forms()["innovation_inspection"].xml
    form = xform.read(xml)
    assert xform.read(xml) is form
    schema = FormSchema.from_xform(xml)
    assert form.identity[:3] == (schema.form_id, schema.version, schema.title)
    assert form.binary_paths == {c.path for t in schema.tables for c in t.columns if c.type == "binary"}
    assert list(form.document_order)[0].startswith(schema.root + "/")
    assert any(path in form.group_labels for path in (t.path for t in schema.repeats))
