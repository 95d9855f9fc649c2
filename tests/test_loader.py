"""The loader: stored submissions reach the warehouse; bad ones are flagged and block nothing."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from pipeline import loader, rebuild, warehouse
from pipeline.db import begin_write
from pipeline.ingest import Incoming, accept
from pipeline.models import Submission
from pipeline.schema import ColumnSpec, schema_for
from tests import builders, formtools
from tests.builders import CHECK_V1 as V1
from tests.builders import CHECK_V2 as V2
from tests.builders import SITE_CHECK_ANSWERS as ANSWERS

site_check = partial(builders.submission, "site_check")  # a site_check submission's XML


def main_rows(session: Session) -> list[dict[str, Any]]:
    table = warehouse.main_table(session.connection(), "site_check")
    result = [dict(r._mapping) for r in session.execute(select(table).order_by(table.c._submission_id))]
    session.commit()
    return result


def stored(session: Session, instance_id: str) -> Submission:
    sub = session.scalar(select(Submission).where(Submission.instance_id == instance_id))
    assert sub is not None
    return sub


def test_an_accepted_submission_becomes_warehouse_rows(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    outcome = accept(session, blobs, Incoming(
        site_check(ANSWERS, instance_id="uuid:l1", name="Rahima"),
        files={"site.jpg": b"jpeg", "a.jpg": b"jpeg-a"}, submitter="phone-1", device_id="dev-9"))
    assert outcome.status == "created"
    [row] = main_rows(session)
    assert (row["_key"], row["progress"], row["_submitter"], row["_device_id"],
            row["_instance_name"], row["_attachments_expected"], row["_attachments_present"]) == (
        "uuid:l1", 40, "phone-1", "dev-9", "Rahima", 3, 2)
    assert stored(session, "uuid:l1").parse_status == "ok"
    # The missing photo arrives later: the row counts it.
    accept(session, blobs, Incoming(site_check(ANSWERS, instance_id="uuid:l1", name="Rahima"),
                                    files={"b.jpg": b"jpeg-b"}))
    assert main_rows(session)[0]["_attachments_present"] == 3


def test_a_bad_submission_is_flagged_and_the_others_still_load(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"progress": "10"}, instance_id="uuid:g1")))
    outcome = accept(session, blobs, Incoming(site_check({"progress": "ten"},
                                                         instance_id="uuid:b1")))
    accept(session, blobs, Incoming(site_check({"progress": "20"}, instance_id="uuid:g2")))
    assert outcome.status == "created"  # stored: nothing is lost
    bad = stored(session, "uuid:b1")
    assert bad.parse_status == "failed" and bad.parse_error_code == "submission.unparsable"
    assert "/data/progress" in (bad.parse_error or "")
    assert [r["_key"] for r in main_rows(session)] == ["uuid:g1", "uuid:g2"]


def test_an_edit_shows_the_current_version_under_the_original_key(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check(ANSWERS, instance_id="uuid:o1")))
    outcome = accept(session, blobs, Incoming(
        site_check({"progress": "75", "photos": [{"caption": "new"}]}, instance_id="uuid:o2",
                   deprecated_id="uuid:o1")))
    assert outcome.status == "edited"
    [row] = main_rows(session)
    assert (row["_key"], row["progress"], row["_edits"], row["_review_state"]) == (
        "uuid:o1", 75, 1, "edited")
    assert row["_submission_id"] == stored(session, "uuid:o2").id
    photos = warehouse.repeat_tables(session.connection(), "site_check")["wh_site_check__photos"]
    assert [r.caption for r in session.execute(select(photos))] == ["new"]


def _photo_rows(session: Session) -> list[tuple[str, str, str, int]]:
    photos = warehouse.repeat_tables(session.connection(), "site_check")["wh_site_check__photos"]
    result = [(r._key, r._parent_key, r.caption, r._submission_id)
              for r in session.execute(select(photos).order_by(photos.c._key))]
    session.commit()
    return result


def test_an_original_arriving_after_its_edit_leaves_the_edit_under_the_original_key(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"progress": "75", "photos": [{"caption": "new"}]},
                                               instance_id="uuid:e2", deprecated_id="uuid:e1")))
    assert [r["_key"] for r in main_rows(session)] == ["uuid:e2"]
    outcome = accept(session, blobs, Incoming(site_check(ANSWERS, instance_id="uuid:e1")))
    assert outcome.status == "created"
    edit = stored(session, "uuid:e2")
    [row] = main_rows(session)
    assert (row["_key"], row["progress"], row["_edits"], row["_submission_id"]) == (
        "uuid:e1", 75, 1, edit.id)
    assert _photo_rows(session) == [("uuid:e1/photos[1]", "uuid:e1", "new", edit.id)]
    assert stored(session, "uuid:e1").parse_status == "ok"
    # A rebuild from the raw store writes the same row.
    rebuild.rebuild(session, "site_check")
    assert [(r["_key"], r["_edits"], r["_submission_id"]) for r in main_rows(session)] == [
        ("uuid:e1", 1, edit.id)]
    # An edit of the edit, in order now, keeps the original key.
    accept(session, blobs, Incoming(site_check({"progress": "90"}, instance_id="uuid:e3",
                                               deprecated_id="uuid:e2")))
    assert [(r["_key"], r["progress"], r["_edits"]) for r in main_rows(session)] == [
        ("uuid:e1", 90, 2)]
    assert _photo_rows(session) == []


@pytest.mark.parametrize("order", ["BAC", "BCA", "ACB", "CAB", "CBA"])
def test_a_chain_arriving_in_any_order_shows_one_row_under_the_original_key(app, session, order):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    xml = {"A": site_check({"progress": "1", "photos": [{"caption": "a"}]}, instance_id="uuid:A"),
           "B": site_check({"progress": "2", "photos": [{"caption": "b"}]}, instance_id="uuid:B",
                           deprecated_id="uuid:A"),
           "C": site_check({"progress": "3", "photos": [{"caption": "c"}]}, instance_id="uuid:C",
                           deprecated_id="uuid:B")}
    for letter in order:
        accept(session, blobs, Incoming(xml[letter]))
    last = stored(session, "uuid:C").id
    assert [(r["_key"], r["progress"], r["_edits"], r["_submission_id"])
            for r in main_rows(session)] == [("uuid:A", 3, 2, last)]
    assert _photo_rows(session) == [("uuid:A/photos[1]", "uuid:A", "c", last)]


def test_a_late_original_keeps_the_loaded_version_when_the_current_one_failed(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"progress": "2"}, instance_id="uuid:m2",
                                               deprecated_id="uuid:m1")))
    accept(session, blobs, Incoming(site_check({"progress": "x"}, instance_id="uuid:m3",
                                               deprecated_id="uuid:m2")))
    assert stored(session, "uuid:m3").parse_status == "failed"
    accept(session, blobs, Incoming(site_check({"progress": "1"}, instance_id="uuid:m1")))
    assert [(r["_key"], r["progress"], r["_edits"], r["_submission_id"])
            for r in main_rows(session)] == [("uuid:m1", 2, 2, stored(session, "uuid:m2").id)]


def test_versions_share_tables_and_old_data_stays(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"progress": "3", "score": "2.5"},
                                               instance_id="uuid:v1")))
    builders.publish(session, "site_check", version=V2)
    accept(session, blobs, Incoming(site_check({"progress": "4.5", "obstacles": "rain"},
                                               instance_id="uuid:v2",
                                               version=V2)))
    accept(session, blobs, Incoming(site_check({"progress": "6"}, instance_id="uuid:v1b")))
    found = [(r["_key"], r["_form_version"], r["progress"], r["score"], r["obstacles"])
             for r in main_rows(session)]
    assert found == [("uuid:v1", V1, 3.0, 2.5, None), ("uuid:v2", V2, 4.5, None, "rain"),
                     ("uuid:v1b", V1, 6.0, None, None)]


def test_pending_submissions_are_processed_later(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    # Stored but never loaded, as after a crash between the two steps.
    accept(session, blobs, Incoming(site_check({"progress": "1"}, instance_id="uuid:p1")),
           load=False)
    accept(session, blobs, Incoming(site_check({"progress": "x"}, instance_id="uuid:p2")),
           load=False)
    assert stored(session, "uuid:p1").parse_status == "pending"
    session.commit()
    result = loader.load_pending(session)
    assert (result.ok, result.failed) == (1, 1)
    assert [r["_key"] for r in main_rows(session)] == ["uuid:p1"]
    assert loader.load_pending(session).ok == 0  # nothing left pending
    assert loader.load_pending(session, include_failed=True).failed == 1


def test_an_older_version_loaded_late_never_replaces_the_current_one(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    first = accept(session, blobs, Incoming(site_check({"progress": "1"}, instance_id="uuid:k1")),
                   load=False)
    edit = accept(session, blobs, Incoming(
        site_check({"progress": "2"}, instance_id="uuid:k2", deprecated_id="uuid:k1")), load=False)
    assert (first.submission_id, edit.submission_id) == (1, 2)
    assert loader.load_pending(session).ok == 2  # the edit (current) first, then its original
    [row] = main_rows(session)
    assert (row["_key"], row["progress"], row["_edits"]) == ("uuid:k1", 2, 1)
    assert stored(session, "uuid:k1").parse_status == "ok"


def test_load_never_raises_for_an_unknown_version(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({}, instance_id="uuid:u1")), load=False)
    session.execute(Submission.__table__.update().values(form_version="gone"))
    session.commit()
    assert loader.load_pending(session).failed == 1  # flagged, never raised
    sub = stored(session, "uuid:u1")
    session.refresh(sub)
    assert (sub.parse_status, sub.parse_error_code) == ("failed", "form.version_not_found")


# ---- the five real forms, filled by ODK's own engine ------------------------------------------

@pytest.fixture(scope="module")
def engine_filled() -> dict[str, bytes]:
    return {form_id: formtools.sample_submission(form_id) for form_id in formtools.FORM_IDS}


def _expected(column: ColumnSpec, value: Any) -> dict[str, Any]:
    """The warehouse value(s) an answer given to the engine should become."""
    if column.type == "geopoint":
        return dict(zip([n for n, _ in column.sql_columns()], map(float, value.split()), strict=True))
    if isinstance(value, list):
        return {column.name: " ".join(value) if column.type == "rank" else set(value)}
    convert = {"int": int, "decimal": float, "date": date.fromisoformat}.get(column.type, str)
    return {column.name: convert(value)}


def test_real_forms_filled_by_the_odk_engine_land_as_answered(app, session, engine_filled):
    formtools.publish_all(session)
    blobs = app.extensions["blobs"]
    for form_id, xml in engine_filled.items():
        outcome = accept(session, blobs, Incoming(xml, files={"signature.png": b"png"}))
        sub = stored(session, outcome.submission.instance_id)
        assert sub.parse_status == "ok", (form_id, sub.parse_error)
        schema = schema_for(session, form_id, sub.form_version)
        conn = session.connection()
        tables = {warehouse.main_table(conn, form_id).name: warehouse.main_table(conn, form_id),
                  **warehouse.repeat_tables(conn, form_id)}
        for path, value in formtools.SAMPLE_ANSWERS[form_id]:
            match = re.fullmatch(r"/data/(\w+)\[(\d+)\]/(\w+)", path)
            if match:
                repeat, position, name = match.groups()
                table = tables[f"wh_{form_id}__{repeat}"]
                key = f"{sub.root_id}/{repeat}[{position}]"
                column = schema.table(table.name).column(name)
            else:
                table, key = tables[f"wh_{form_id}"], sub.root_id
                column = schema.field(path)
            row = session.execute(select(table).where(table.c._key == key)).one()._mapping
            for name, want in _expected(column, value).items():
                got = set(row[name].split()) if isinstance(want, set) else row[name]
                assert got == want, (form_id, path, name)
        session.commit()
    # The example queries in docs/warehouse.md run on these tables.
    docs = (Path(__file__).resolve().parent.parent / "docs" / "warehouse.md").read_text("utf-8")
    for block in re.findall(r"```sql\n(.*?)```", docs, re.S):
        for statement in filter(str.strip, block.split(";")):
            assert session.execute(text(statement)).all() is not None
    session.commit()


def test_a_warehouse_changed_behind_its_back_is_repaired_on_the_next_try(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"photo": "a.jpg"}, instance_id="uuid:w1")))
    session.execute(text("ALTER TABLE wh_site_check DROP COLUMN photo"))
    session.commit()
    accept(session, blobs, Incoming(site_check({"photo": "b.jpg"}, instance_id="uuid:w2")))
    assert stored(session, "uuid:w2").parse_status == "ok"
    assert [r["photo"] for r in main_rows(session)] == [None, "b.jpg"]


def test_rows_the_database_refuses_are_flagged_and_retried_later(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check({"progress": "5"}, instance_id="uuid:c1")))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("CREATE TRIGGER small BEFORE INSERT ON wh_site_check "
                             "WHEN NEW.progress > 100 BEGIN SELECT RAISE(ABORT, 'too big'); END"))
    else:
        session.execute(text("ALTER TABLE wh_site_check ADD CONSTRAINT small CHECK (progress <= 100)"))
    session.commit()
    accept(session, blobs, Incoming(site_check({"progress": "500"}, instance_id="uuid:c2")))
    accept(session, blobs, Incoming(site_check({"progress": "50"}, instance_id="uuid:c3")))
    refused = stored(session, "uuid:c2")
    assert (refused.parse_status, refused.parse_error_code) == ("failed", loader.WRITE_FAILED)
    assert [r["_key"] for r in main_rows(session)] == ["uuid:c1", "uuid:c3"]
    session.execute(text("DROP TRIGGER small" if session.get_bind().dialect.name == "sqlite"
                         else "ALTER TABLE wh_site_check DROP CONSTRAINT small"))
    session.commit()
    assert loader.load_pending(session, include_failed=True).ok == 1
    assert [r["progress"] for r in main_rows(session)] == [5, 500, 50]


def test_a_load_racing_another_process_creating_the_tables_still_lands(app, session):
    builders.publish(session, "site_check", version=V1)
    stored_sub = accept(session, app.extensions["blobs"],
                               Incoming(site_check({"progress": "7"},
                                                   instance_id="uuid:race")), load=False).submission
    schema = schema_for(session, "site_check", V1)
    session.commit()
    # Another worker is creating the form's tables and has not committed yet.
    other = app.extensions["sessions"]()
    begin_write(other)
    warehouse.ensure_tables(other.connection(), schema)
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(_load_in_own_session(app, stored_sub.id)))
    with _waiting_writer(app, session) as waiting:
        worker.start()
        waiting()  # the load is held up by the uncommitted tables before they are committed
    other.commit()
    other.close()
    worker.join(timeout=60)
    assert results == [True]
    assert [r["progress"] for r in main_rows(session)] == [7]


@contextlib.contextmanager
def _waiting_writer(app, session: Session, timeout: float = 30.0):
    """Yields a function that returns once another connection waits for the test's open write:
    on PostgreSQL a backend waiting on a lock; on SQLite a transaction beginning in another
    thread (BEGIN IMMEDIATE then waits for the writer to commit). Bounded by ``timeout``."""
    engine = app.extensions["engine"]
    began = threading.Event()
    main = threading.get_ident()

    def on_begin(conn) -> None:
        if threading.get_ident() != main:
            began.set()

    def waiting() -> None:
        if engine.dialect.name == "sqlite":
            assert began.wait(timeout), "the load never began"
            return
        deadline = time.monotonic() + timeout
        while True:
            waiters = session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
            session.rollback()
            if waiters:
                return
            assert time.monotonic() < deadline, "the load never waited for the tables"
            time.sleep(0.01)

    event.listen(engine, "begin", on_begin, insert=True)  # before the BEGIN that waits
    try:
        yield waiting
    finally:
        event.remove(engine, "begin", on_begin)


def _load_in_own_session(app, submission_id: int) -> bool:
    own = app.extensions["sessions"]()
    try:
        return loader.load_pending(own, up_to=submission_id).ok == 1
    finally:
        own.close()
