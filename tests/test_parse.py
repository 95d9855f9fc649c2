"""Submission XML → typed rows with ODK Central keys; unknown fields and bad values are Problems."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.parse import parse
from pipeline.problems import Problem
from pipeline.schema import FormSchema
from tests import builders
from tests.builders import CHECK_V1 as V1
from tests.builders import SITE_CHECK_ANSWERS as ANSWERS

site_check = partial(builders.submission, "site_check")  # a site_check submission's XML

SCHEMA = FormSchema.from_xform(builders.built("site_check", version=V1).xml)


def unparsable(xml: bytes) -> Problem:
    with pytest.raises(Problem) as caught:
        parse(SCHEMA, xml)
    assert caught.value.code == "submission.unparsable"
    return caught.value


def test_values_are_typed_and_rows_keyed_like_central():
    parsed = parse(SCHEMA, site_check(ANSWERS, instance_id="uuid:s1", name="Rahima 2024-01-15"))
    main = parsed.main
    assert main["_key"] == "uuid:s1" and parsed.instance_name == "Rahima 2024-01-15"
    assert main["visit_date"] == date(2024, 1, 15)
    assert main["visited_at"] == datetime(2024, 1, 15, 4, 30, tzinfo=UTC)
    assert main["visited_at"].utcoffset() == timedelta(hours=6)
    assert main["start_time"] == "10:30:00.000+06:00"
    assert (main["progress"], main["score"]) == (40, 7.5)
    assert (main["tags"], main["tags_water"], main["tags_roads"], main["tags_ict"]) == (
        "water ict", 1, 0, 1)
    assert (main["location_latitude"], main["location_longitude"], main["location_altitude"],
            main["location_accuracy"]) == (23.81, 90.41, 12.5, 4.0)
    assert main["header__officer"] == "Rahima Begum" and main["photo"] == "site.jpg"
    photos = parsed.rows["wh_site_check__photos"]
    assert [(r["_key"], r["_parent_key"], r["caption"]) for r in photos] == [
        ("uuid:s1/photos[1]", "uuid:s1", "gate"), ("uuid:s1/photos[2]", "uuid:s1", "yard")]
    marks = parsed.rows["wh_site_check__photos__marks"]
    assert [(r["_key"], r["_parent_key"], r["n"]) for r in marks] == [
        ("uuid:s1/photos[1]/marks[1]", "uuid:s1/photos[1]", 1),
        ("uuid:s1/photos[1]/marks[2]", "uuid:s1/photos[1]", 2)]


def test_empty_and_absent_values_are_null():
    parsed = parse(SCHEMA, site_check({"district": "", "progress": None}, instance_id="uuid:s2"))
    main = parsed.main
    assert main["district"] is None and main["progress"] is None and main["visit_date"] is None
    assert main["location_latitude"] is None and main["tags"] is None and main["tags_ict"] is None
    assert parsed.rows["wh_site_check__photos"] == []


def test_a_geopoint_without_altitude_and_accuracy():
    main = parse(SCHEMA, site_check({"location": "27.7 85.3"}, instance_id="uuid:s3")).main
    assert (main["location_latitude"], main["location_altitude"]) == (27.7, None)


def test_an_edit_keeps_the_key_it_is_given():
    xml = site_check({"photos": [{"caption": "x"}]}, instance_id="uuid:v2", deprecated_id="uuid:v1")
    parsed = parse(SCHEMA, xml, key="uuid:v1")
    assert parsed.instance_id == "uuid:v2" and parsed.deprecated_id == "uuid:v1"
    assert parsed.main["_key"] == "uuid:v1"
    assert parsed.rows["wh_site_check__photos"][0]["_key"] == "uuid:v1/photos[1]"


@pytest.mark.parametrize(("answers", "field"), [
    ({"unknown_field": "1"}, "/data/unknown_field"),
    ({"header": {"rank": "x"}}, "/data/header/rank"),
    ({"progress": "forty"}, "/data/progress"),
    ({"progress": "4.5"}, "/data/progress"),
    ({"progress": "99999999999999999999"}, "/data/progress"),
    ({"score": "NaN"}, "/data/score"),
    ({"visit_date": "2024-02-30"}, "/data/visit_date"),
    ({"visit_date": "15/01/2024"}, "/data/visit_date"),
    ({"visited_at": "yesterday"}, "/data/visited_at"),
    ({"start_time": "25:00"}, "/data/start_time"),
    ({"location": "95 10"}, "/data/location"),
    ({"location": "north"}, "/data/location"),
    ({"photos": [{"marks": [{"n": "x"}]}]}, "/data/photos/marks/n"),
    ({"district": {"nested": "1"}}, "/data/district"),
])
def test_unknown_fields_and_bad_values_name_the_field(answers: dict[str, Any], field: str):
    problem = unparsable(site_check(answers, instance_id="uuid:bad"))
    assert f"'{field}'" in problem.message


def test_a_field_sent_twice_is_refused():
    xml = site_check({}, instance_id="uuid:twice").replace(
        b"<orx:meta>", b"<progress>1</progress><progress>2</progress><orx:meta>")
    assert "more than once" in unparsable(xml).message


def test_missing_instance_id_and_other_forms_are_refused():
    assert "instanceID" in unparsable(b'<data id="site_check"><progress>1</progress></data>').message
    xml = site_check({}, instance_id="uuid:x").replace(b'id="site_check"', b'id="other_form"')
    assert "other_form" in unparsable(xml).message


# ---- property tests ------------------------------------------------------------------------

# Text that XML 1.0 can carry unchanged (no control characters; \r would be normalised to \n).
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
                   | st.sampled_from("\t\n"), max_size=30)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
mark = st.fixed_dictionaries({"n": st.integers(-(2**63), 2**63 - 1)})
photo = st.fixed_dictionaries({"caption": xml_text, "shot": st.sampled_from(["a.jpg", "b.png"]),
                               "marks": st.lists(mark, max_size=3)})
answers = st.fixed_dictionaries({
    "district": st.sampled_from(["d1", "d2"]),
    "visit_date": st.dates(),
    "visited_at": st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=offsets),
    "progress": st.integers(-(2**63), 2**63 - 1),
    "score": finite,
    "tags": st.lists(st.sampled_from(["water", "roads", "ict"]), unique=True, min_size=1),
    "location": st.tuples(st.floats(-90, 90), st.floats(-180, 180), finite, finite),
    "officer": xml_text,
    "photos": st.lists(photo, max_size=3),
})


def _as_xml(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "district": values["district"], "visit_date": values["visit_date"].isoformat(),
        "visited_at": values["visited_at"].isoformat(), "progress": str(values["progress"]),
        "score": repr(values["score"]), "tags": " ".join(values["tags"]),
        "location": " ".join(repr(v) for v in values["location"]),
        "header": {"officer": values["officer"]},
        "photos": [{"caption": p["caption"], "shot": p["shot"],
                    "marks": [{"n": str(m["n"])} for m in p["marks"]]} for p in values["photos"]],
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers)
def test_generated_submissions_round_trip(values: dict[str, Any]):
    parsed = parse(SCHEMA, site_check(_as_xml(values), instance_id="uuid:rt"))
    main = parsed.main
    assert main["district"] == values["district"]
    assert main["visit_date"] == values["visit_date"]
    assert main["visited_at"] == values["visited_at"]
    assert main["visited_at"].utcoffset() == values["visited_at"].utcoffset()
    assert main["progress"] == values["progress"]
    assert main["score"] == values["score"]
    assert set(main["tags"].split()) == set(values["tags"])
    assert [main[f"tags_{c}"] for c in ("water", "roads", "ict")] == [
        int(c in values["tags"]) for c in ("water", "roads", "ict")]
    location = [main[f"location_{p}"] for p in ("latitude", "longitude", "altitude", "accuracy")]
    assert location == list(values["location"])
    assert main["header__officer"] == (values["officer"] or None)
    photos = parsed.rows["wh_site_check__photos"]
    assert [(p["caption"], p["shot"]) for p in photos] == [
        (p["caption"] or None, p["shot"]) for p in values["photos"]]
    marks = parsed.rows["wh_site_check__photos__marks"]
    expected = [(f"uuid:rt/photos[{i}]/marks[{j}]", m["n"])
                for i, p in enumerate(values["photos"], 1) for j, m in enumerate(p["marks"], 1)]
    assert [(m["_key"], m["n"]) for m in marks] == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_junk_bytes_only_ever_raise_a_problem(junk: bytes):
    try:
        parse(SCHEMA, junk)
    except Problem as problem:
        assert problem.code == "submission.unparsable"


field_names = st.sampled_from(["district", "progress", "score", "visit_date", "visited_at",
                               "start_time", "location", "tags", "photo", "header", "photos",
                               "zzz", "meta"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(field_names, xml_text | st.dictionaries(field_names, xml_text, max_size=3),
                       max_size=6))
def test_random_values_in_known_fields_parse_or_raise_a_problem(values: dict[str, Any]):
    try:
        parse(SCHEMA, site_check(values, instance_id="uuid:junk"))
    except Problem as problem:
        assert problem.code == "submission.unparsable"


@pytest.mark.parametrize("xml", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    b'<data id="site_check"><progress>&b;</progress><meta><instanceID>uuid:e</instanceID></meta></data>',
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<data id="site_check"><header><officer>&x;</officer></header></data>',
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "x">]><data>&a;</data>'.encode("utf-16"),
])
def test_entities_and_dtds_are_refused_in_any_encoding(xml: bytes):
    assert "not well-formed" in unparsable(xml).message


def test_other_encodings_are_read():
    xml = site_check({"header": {"officer": "Zoë"}}, instance_id="uuid:enc").decode()
    latin = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + xml).encode("latin-1")
    assert parse(SCHEMA, latin).main["header__officer"] == "Zoë"


def test_a_submission_in_the_xforms_namespace_reads_the_same():
    xml = site_check(ANSWERS, instance_id="uuid:ns").replace(
        b"<data ", b'<data xmlns="http://www.w3.org/2002/xforms" ', 1)
    plain = parse(SCHEMA, site_check(ANSWERS, instance_id="uuid:ns"))
    assert parse(SCHEMA, xml).rows == plain.rows
