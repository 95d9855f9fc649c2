"""Warehouse tables: types from binds, columns added per version, edits replace rows, readers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from pipeline import warehouse
from pipeline.models import Form, Submission
from pipeline.parse import parse
from pipeline.schema import DATE, DATETIME, FLOAT, INTEGER, TEXT, FormSchema
from pipeline.warehouse import SubmissionMeta
from tests import builders
from tests.builders import CHECK_V1 as V1
from tests.builders import CHECK_V2 as V2
from tests.builders import SITE_CHECK_ANSWERS as ANSWERS

site_check = partial(builders.submission, "site_check")  # a site_check submission's XML

S1 = FormSchema.from_xform(builders.built("site_check", version=V1).xml)
S2 = FormSchema.from_xform(builders.built("site_check", version=V2).xml)
MAIN, PHOTOS, MARKS = "wh_site_check", "wh_site_check__photos", "wh_site_check__photos__marks"


def meta(submission_id: int, key: str, version: str = V1, **kw: Any) -> SubmissionMeta:
    return SubmissionMeta(submission_id, key, version,
                          submitted_at=datetime(2024, 1, 16, 8, 0, tzinfo=UTC), **kw)


def kinds(session: Session, table: str) -> dict[str, str]:
    return {c["name"]: warehouse.kind_of(c["type"])
            for c in inspect(session.connection()).get_columns(table)}


def rows(session: Session, table: str, order: str = "_key") -> list[dict[str, Any]]:
    t = warehouse.form_tables(session.connection(), "site_check")[table]
    return [dict(r._mapping) for r in session.execute(select(t).order_by(t.c[order]))]


def write(session: Session, schema: FormSchema, m: SubmissionMeta, answers: dict[str, Any],
          **kw: Any) -> None:
    parsed = parse(schema, site_check(answers, instance_id=m.key, version=schema.version, **kw),
                   key=m.key)
    warehouse.write(session.connection(), m, parsed)
    session.commit()


def test_column_types_come_from_the_form(session):
    warehouse.ensure_tables(session.connection(), S1)
    session.commit()
    main = kinds(session, MAIN)
    assert {k: main[k] for k in ("district", "visit_date", "visited_at", "start_time", "progress",
                                 "score", "location_latitude", "tags", "tags_ict", "photo",
                                 "header__officer")} == {
        "district": TEXT, "visit_date": DATE, "visited_at": DATETIME, "start_time": TEXT,
        "progress": INTEGER, "score": FLOAT, "location_latitude": FLOAT, "tags": TEXT,
        "tags_ict": INTEGER, "photo": TEXT, "header__officer": TEXT}
    assert set(warehouse.MAIN_METADATA) <= set(main)
    assert list(kinds(session, MARKS)) == ["_key", "_parent_key", "_submission_id", "n"]
    insp = inspect(session.connection())
    assert insp.get_pk_constraint(PHOTOS)["constrained_columns"] == ["_key"]
    assert any(ix["column_names"] == ["_parent_key"] for ix in insp.get_indexes(PHOTOS))


def test_rows_read_back_with_their_types_and_metadata(session):
    write(session, S1, meta(7, "uuid:a", submitter="phone-1", device_id="collect:xyz",
                            attachments_present=2, attachments_expected=3), ANSWERS, name="R")
    [main] = rows(session, MAIN)
    assert main["visit_date"] == date(2024, 1, 15)
    assert main["visited_at"] == datetime(2024, 1, 15, 4, 30, tzinfo=UTC)
    assert main["visited_at"].tzinfo is not None
    assert (main["progress"], main["score"], main["tags_water"], main["location_altitude"]) == (
        40, 7.5, 1, 12.5)
    assert (main["_key"], main["_submission_id"], main["_submitter"], main["_device_id"],
            main["_instance_name"], main["_attachments_present"], main["_attachments_expected"],
            main["_edits"], main["_review_state"], main["_form_version"], main["_source"]) == (
        "uuid:a", 7, "phone-1", "collect:xyz", "R", 2, 3, 0, "received", V1, "collect")
    assert main["_submitted_at"] == datetime(2024, 1, 16, 8, 0, tzinfo=UTC)
    photos = rows(session, PHOTOS)
    assert [(p["_key"], p["_parent_key"], p["_submission_id"], p["caption"]) for p in photos] == [
        ("uuid:a/photos[1]", "uuid:a", 7, "gate"), ("uuid:a/photos[2]", "uuid:a", 7, "yard")]
    assert [m["n"] for m in rows(session, MARKS)] == [1, 2]


def test_a_new_version_adds_columns_and_keeps_old_rows(session):
    write(session, S1, meta(1, "uuid:old"), ANSWERS)
    write(session, S2, meta(2, "uuid:new", V2),
          {"progress": "62.5", "obstacles": "no budget", "header": {"officer": "Karim"}})
    main = kinds(session, MAIN)
    assert main["obstacles"] == TEXT
    assert main["score"] == FLOAT  # removed from the form, kept in the warehouse
    assert main["progress"] == FLOAT  # int in v1, decimal in v2: widened
    old, new = rows(session, MAIN, "_submission_id")
    assert (old["progress"], old["score"], old["obstacles"]) == (40.0, 7.5, None)
    assert (new["progress"], new["score"], new["obstacles"]) == (62.5, None, "no budget")
    # A late submission to the old version still lands in the same tables.
    write(session, S1, meta(3, "uuid:late"), {"progress": "5", "score": "1.5"})
    assert [r["progress"] for r in rows(session, MAIN, "_submission_id")] == [40.0, 62.5, 5.0]


def test_a_type_change_to_text_keeps_a_working_column(session):
    write(session, S1, meta(1, "uuid:d1"), ANSWERS)
    as_text = dataclasses.replace(S1.main.column("visit_date"), type="string")
    main_spec = dataclasses.replace(S1.main, columns=tuple(
        as_text if c.name == "visit_date" else c for c in S1.main.columns))
    s3 = dataclasses.replace(S1, version="3", md5="v3",
                             tables=(main_spec, *S1.repeats))
    write(session, s3, meta(2, "uuid:d2", "3"), {"visit_date": "mid January"})
    assert kinds(session, MAIN)["visit_date"] == TEXT
    assert [r["visit_date"] for r in rows(session, MAIN)] == ["2024-01-15", "mid January"]
    # Dates parsed by the old version are written as their ISO text from now on.
    write(session, S1, meta(3, "uuid:d3"), {"visit_date": "2024-03-01"})
    assert rows(session, MAIN)[2]["visit_date"] == "2024-03-01"


def test_an_edit_replaces_the_previous_rows_of_its_key(session):
    write(session, S1, meta(1, "uuid:e"), ANSWERS)
    write(session, S1, meta(2, "uuid:e", edits=1, review_state="edited"),
          {"progress": "90", "photos": [{"caption": "only"}]})
    [main] = rows(session, MAIN)
    assert (main["progress"], main["_submission_id"], main["_edits"], main["_review_state"]) == (
        90, 2, 1, "edited")
    assert main["photo"] is None
    assert [(p["_key"], p["caption"]) for p in rows(session, PHOTOS)] == [("uuid:e/photos[1]", "only")]
    assert rows(session, MARKS) == []


def test_write_many_matches_write(session):
    batch = [(meta(i, f"uuid:m{i}"), parse(S1, site_check(ANSWERS, instance_id=f"uuid:m{i}")))
             for i in range(1, 4)]
    warehouse.write_many(session.connection(), batch, replace=False)
    session.commit()
    many = [rows(session, t) for t in (MAIN, PHOTOS, MARKS)]
    for t in warehouse.form_tables(session.connection(), "site_check").values():
        session.execute(t.delete())
    for m, parsed in batch:
        warehouse.write(session.connection(), m, parsed)
    session.commit()
    assert [rows(session, t) for t in (MAIN, PHOTOS, MARKS)] == many
    assert [len(x) for x in many] == [3, 6, 6]


def test_rolled_back_table_creation_is_not_remembered(session):
    warehouse.ensure_tables(session.connection(), S1)
    session.rollback()
    assert not inspect(session.connection()).has_table(MAIN)
    session.rollback()
    write(session, S1, meta(1, "uuid:r"), ANSWERS)
    assert len(rows(session, MAIN)) == 1


def _stored(session: Session, instance_id: str) -> Submission:
    form_pk = session.scalar(select(Form.id).where(Form.xml_form_id == "site_check"))
    sub = Submission(instance_id=instance_id, root_id=instance_id, form_id=form_pk,
                     form_version=V1, xml=b"<data/>", xml_sha256="0" * 64, parse_status="ok")
    session.add(sub)
    session.commit()
    return sub


def test_review_state_and_late_attachments_update_the_row(session):
    builders.publish(session, "site_check", version=V1)
    sub = _stored(session, "uuid:rv")
    write(session, S1, meta(sub.id, "uuid:rv", attachments_expected=3), ANSWERS)
    conn = session.connection()
    assert warehouse.set_review_state(conn, sub.id, "approved") == 1
    from pipeline.models import Attachment
    session.add(Attachment(submission_id=sub.id, name="site.jpg", sha256="1" * 64, size=3))
    session.flush()
    assert warehouse.update_attachments(session.connection(), sub.id) == 1
    session.commit()
    [main] = rows(session, MAIN)
    assert (main["_review_state"], main["_attachments_present"]) == ("approved", 1)
    assert warehouse.set_review_state(session.connection(), 999_999, "approved") == 0


def test_readers_get_the_latest_versions_tables_even_before_any_submission(session):
    builders.publish(session, "site_check", version=V1)
    builders.publish(session, "site_check", version=V2)
    conn = session.connection()
    table = warehouse.main_table(conn, "site_check")
    session.commit()
    assert "obstacles" in table.c and "_review_state" in table.c
    assert list(warehouse.repeat_tables(session.connection(), "site_check")) == [PHOTOS, MARKS]
    assert session.scalar(select(func.count()).select_from(table)) == 0


def test_a_form_that_was_never_published_is_a_problem(session):
    from pipeline.problems import Problem

    with pytest.raises(Problem):
        warehouse.main_table(session.connection(), "nope")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({
    "visit_date": st.dates(),
    "visited_at": st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1),
                               timezones=st.integers(-14 * 60, 14 * 60).map(
                                   lambda m: timezone(timedelta(minutes=m)))),
    "progress": st.integers(-(2**63), 2**63 - 1),
    "score": st.floats(allow_nan=False, allow_infinity=False),
    "officer": st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
}))
def test_typed_values_survive_the_database(session, values):
    for table in reversed(warehouse.form_tables(session.connection(), "site_check").values()):
        session.execute(table.delete())
    answers = {"visit_date": values["visit_date"].isoformat(),
               "visited_at": values["visited_at"].isoformat(), "progress": str(values["progress"]),
               "score": repr(values["score"]), "header": {"officer": values["officer"]}}
    write(session, S1, meta(1, "uuid:h"), answers)
    [row] = rows(session, MAIN)
    assert row["visit_date"] == values["visit_date"]
    assert row["visited_at"] == values["visited_at"] and row["visited_at"].utcoffset() == timedelta(0)
    assert (row["progress"], row["score"], row["header__officer"]) == (
        values["progress"], values["score"], values["officer"])


def test_an_edit_in_another_version_removes_repeat_rows_that_version_lacks(session):
    write(session, S1, meta(1, "uuid:x"), ANSWERS)
    without_repeats = dataclasses.replace(S1, version="4", md5="v4", tables=(S1.main,))
    write(session, without_repeats, meta(2, "uuid:x", "4", edits=1), {"progress": "3"})
    assert [(r["_submission_id"], r["progress"]) for r in rows(session, MAIN)] == [(2, 3)]
    assert rows(session, PHOTOS) == [] and rows(session, MARKS) == []


def test_names_sql_reserves_or_punctuates_are_quoted(session):
    odd = {"progress": "order", "score": "x-y.z", "visit_date": "Select"}
    main_spec = dataclasses.replace(S1.main, columns=tuple(
        dataclasses.replace(c, name=odd.get(c.name, c.name)) for c in S1.main.columns))
    schema = dataclasses.replace(S1, version="5", md5="v5", tables=(main_spec, *S1.repeats))
    parsed = parse(schema, site_check(ANSWERS, instance_id="uuid:q", version="5"))
    warehouse.write_many(session.connection(), [(meta(1, "uuid:q", "5"), parsed)])
    session.commit()
    [row] = rows(session, MAIN)
    assert (row["order"], row["x-y.z"], row["Select"]) == (40, 7.5, date(2024, 1, 15))


def test_main_tables_carry_the_indexes_their_readers_walk(session):
    """The lists' newest-first order (overall and within a district), the period counts by date
    received and the review-state counts each have an index, so they read a page's rows rather
    than every row at a million; repeat tables get none of them. A table made before an index
    existed gets it from the migration's step (``add_missing_indexes``)."""
    builders.publish(session, "site_check")
    warehouse.ensure_tables(session.connection(), S1)
    session.commit()

    def indexes(table: str) -> dict[str, list[str]]:
        return {ix["name"]: ix["column_names"]
                for ix in inspect(session.connection()).get_indexes(table) if not ix["unique"]}

    wanted = {"ix_wh_site_check_date": ["visit_date", "_submission_id"],
              "ix_wh_site_check_district": ["district", "visit_date", "_submission_id"],
              "ix_wh_site_check_received": ["_submitted_at"],
              "ix_wh_site_check_review": ["_review_state"]}
    assert {k: v for k, v in indexes(MAIN).items() if k in wanted} == wanted
    assert not set(indexes(PHOTOS)) & set(wanted)
    if session.get_bind().dialect.name == "postgresql":  # empty dates last, as the lists show them
        [date_ix] = [ix for ix in inspect(session.connection()).get_indexes(MAIN)
                     if ix["name"] == "ix_wh_site_check_date"]
        assert date_ix["column_sorting"]["visit_date"] == ("desc", "nulls_last")

    for name in ("ix_wh_site_check_date", "ix_wh_site_check_review"):
        session.connection().exec_driver_sql(f"DROP INDEX {name}")
    warehouse.forget(session.connection())
    assert sorted(warehouse.add_missing_indexes(session.connection())) == [
        "ix_wh_site_check_date", "ix_wh_site_check_review"]
    session.commit()
    assert {k: v for k, v in indexes(MAIN).items() if k in wanted} == wanted
    assert warehouse.add_missing_indexes(session.connection()) == []
