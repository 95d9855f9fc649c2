"""Pulling from KoBoToolbox: paging, incremental and resumable pulls, retries, refusals, edits,
validation statuses, the JSON fallback, and secrets that never leak. Real HTTP to a fake KPI."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pipeline import claims, forms, warehouse
from pipeline.connectors import kobo, runs, xmlmap
from pipeline.connectors.http import Secret
from pipeline.db import make_engine, session_factory
from pipeline.models import AuditEvent, PullRun, Source, utcnow
from pipeline.parse import parse
from pipeline.problems import Problem
from pipeline.schema import FormSchema
from tests import builders, formtools
from tests.connector_helpers import JPEG, OTHER_JPEG, add_source, held_pull, runs_of, served, stored
from tests.connector_helpers import add_visits as _add_visits
from tests.fakes.expected import assert_answers_in_warehouse
from tests.fakes.kobo_server import FakeKobo
from tests.fakes.serve import serving


@pytest.fixture
def fake():
    with served(FakeKobo()) as server:
        yield server


@pytest.fixture
def source(session, fake) -> Source:
    return add_source(session, name="kobo-dhaka", kind="kobo", url=fake.url, secret=fake.token,
                      remote_form=fake.asset)


@pytest.fixture
def waits() -> list[float]:
    return []


def pull(app, session, source, waits, **kwargs) -> PullRun:
    client = kobo.KoboClient(source.url, Secret(source.secret), sleep=waits.append, backoff=0.01,
                             retries=kwargs.pop("retries", 3), max_wait=kwargs.pop("max_wait", 30))
    return kobo.pull(session, app.extensions["blobs"], source, client=client, **kwargs)


def add_visits(fake, count: int, start: int = 1) -> list[str]:
    return _add_visits(fake, count, start, prefix="kobo")


def xml_fetches(fake) -> list[str]:
    return [path for path, args in fake.requests if args.get("format") == "xml"]


def test_kobo_xml_is_stored_as_an_instance_of_our_form_with_its_photo(app, session, fake, source,
                                                                       waits):
    ids = add_visits(fake, 3)
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.updated, run.skipped, run.errors) == ("ok", 3, 0, 0, 0)
    subs = stored(session)
    assert sorted(subs) == ids
    for record_id, iid in zip(sorted(fake.xml), ids, strict=True):
        sub = subs[iid]
        # KoBo names the root after the asset uid and adds formhub/__version__: the answers
        # are moved onto our form's instance.
        assert b"<aSiteVisit1 " in fake.served_xml(record_id)
        assert sub.xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n"
                                  b'<site_visit id="site_visit" version="1"><name>')
        assert b"formhub" not in sub.xml and b"__version__" not in sub.xml
        assert f"<instanceID>{iid}</instanceID>".encode() in sub.xml
        assert (sub.source, sub.source_ref, sub.submitter) == ("kobo", str(record_id), "enumerator1")
        (photo,) = sub.attachments
        assert app.extensions["blobs"].get(photo.sha256) == JPEG
    table = warehouse.main_table(session.connection(), "site_visit")
    names = session.execute(select(table.c.name).order_by(table.c.name)).scalars().all()
    assert names == ["Visitor 1", "Visitor 2", "Visitor 3"]
    assert session.get(Source, source.id).cursor["last_id"] == max(fake.records)


def test_kobo_xml_with_our_form_id_loses_kobos_elements_and_loads(app, session, fake, source,
                                                                   waits):
    fake.kobo_naming = False  # a form first deployed through KoBoCAT keeps its form_id
    ids = add_visits(fake, 2)
    served = fake.served_xml(min(fake.xml))
    assert b'<site_visit xmlns:jr' in served and b"<formhub><uuid>" in served
    assert b"<__version__>" in served and b"<_version_>" in served and b"<rootUuid>" in served
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.loaded, run.failed) == ("ok", 2, 2, 0)
    subs = stored(session)
    for iid in ids:
        sub = subs[iid]
        assert sub.parse_status == "ok"
        assert b"formhub" not in sub.xml and b"_version_" not in sub.xml
        assert f"<rootUuid>{iid}</rootUuid>".encode() in sub.xml
    table = warehouse.main_table(session.connection(), "site_visit")
    assert sorted(session.scalars(select(table.c.name))) == ["Visitor 1", "Visitor 2"]


def test_xml_of_another_server_that_names_our_form_is_stored_exactly(app, session, source):
    xml = builders.site_visit("uuid:plain", name="Plain")
    assert xmlmap.onto_form(xml, source.form.current_version.xml) is xml


def test_incremental_pull_fetches_only_what_is_new(app, session, fake, source, waits):
    add_visits(fake, 3)
    pull(app, session, source, waits, recheck_days=0)
    before, served_before = len(xml_fetches(fake)), fake.xml_served
    add_visits(fake, 2, start=4)
    run = pull(app, session, source, waits, recheck_days=0)
    assert (run.new, run.skipped) == (2, 0)
    assert fake.xml_served - served_before == 2
    # Both XMLs in one request: the data list with format=xml, for just those two.
    (listing,) = xml_fetches(fake)[before:]
    assert listing.endswith("/data/")
    assert [json.loads(args["query"]) for path, args in fake.requests[-6:]
            if args.get("format") == "xml"] == [{"_id": {"$in": [104, 105]}}]
    assert len(stored(session)) == 5
    list_queries = [args["query"] for path, args in fake.requests
                    if path.endswith("/data/") and args.get("format") == "json"]
    assert list_queries[-1] == '{"_id": {"$gt": 103}}'  # resumes after the last one stored


def test_a_pull_cut_halfway_resumes_without_gaps_or_duplicates(app, session, fake, source, waits):
    ids = add_visits(fake, 7)
    fake.down_after_xml = 4  # the server goes down after four submissions: during page two,
    first = pull(app, session, source, waits, page_size=3, retries=1)  # whose XML comes at once
    assert first.status == "failed" and first.new == 3
    assert "could not be reached" in first.message
    assert len(stored(session)) == 3
    fake.down_after_xml = None
    second = pull(app, session, source, waits, page_size=3)
    assert (second.status, second.new, second.skipped) == ("ok", 4, 0)
    # Exactly what one uninterrupted pull stores: each served XML, mapped onto our form, once,
    # with its photo.
    subs = stored(session)
    assert sorted(subs) == ids
    xform = source.form.current_version.xml
    for record_id, iid in zip(sorted(fake.records), ids, strict=True):
        assert subs[iid].xml == xmlmap.onto_form(fake.served_xml(record_id), xform)
        assert [a.name for a in subs[iid].attachments] == [f"p{iid[-1]}.jpg"]
    table = warehouse.main_table(session.connection(), "site_visit")
    names = session.execute(select(table.c.name).order_by(table.c.name)).scalars().all()
    assert names == [f"Visitor {n}" for n in range(1, 8)]
    # Each page's XML was fetched once, except page two's, refused (503) while the server was
    # down and retried, then fetched by the second pull.
    asked = [json.loads(args["query"])["_id"]["$in"] for path, args in fake.requests
             if path.endswith("/data/") and args.get("format") == "xml"]
    assert asked == [[101, 102, 103]] + [[104, 105, 106]] * 3 + [[107]]
    assert fake.xml_served == 7


def test_429_dropped_connections_and_5xx_are_retried(app, session, fake, source, waits):
    ids = add_visits(fake, 2)
    fake.page_faults = ["429", "drop", "503", "500"]
    run = pull(app, session, source, waits, recheck_days=0, retries=4)
    assert (run.status, run.new) == ("ok", 2)
    assert sorted(stored(session)) == ids
    assert waits[0] == 7 and waits[2] == 11  # Retry-After honoured, on 429 and on 503
    assert len(waits) == 4
    capped: list[float] = []
    fake.page_faults = ["429"]
    pull(app, session, source, capped, max_wait=2, recheck_days=0)
    assert capped == [2]  # but never longer than max_wait


def test_a_malformed_page_is_reported_and_nothing_from_it_imported(app, session, fake, source, waits):
    add_visits(fake, 3)
    fake.page_faults = ["malformed"]
    run = pull(app, session, source, waits)
    assert run.status == "failed"
    assert "cannot be read" in run.message and "Nothing from that page" in run.message
    assert stored(session) == {}
    assert session.get(Source, source.id).cursor == {}
    assert pull(app, session, source, waits).new == 3  # the next pull picks them all up
    fake.ignore_query = True  # a server that ignores the query must not make us loop
    add_visits(fake, 1, start=4)
    run = pull(app, session, source, waits)
    assert run.status == "failed" and "not asked for" in run.message


def test_a_refused_token_and_an_unknown_asset_are_clear(app, session, fake, source, waits):
    add_visits(fake, 1)
    source.secret = "wrong-token-value"
    session.commit()
    run = pull(app, session, source, waits)
    assert run.status == "failed"
    assert "refused the API token" in run.message and "wrong-token-value" not in run.message
    source.secret, source.remote_form = fake.token, "aNoSuchAsset"
    session.commit()
    run = pull(app, session, source, waits)
    assert run.status == "failed" and "not found" in run.message
    assert waits == []  # refusals are not retried


def test_edits_and_validation_statuses_are_caught(app, session, fake, source, waits):
    add_visits(fake, 3)
    pull(app, session, source, waits)
    first, second = sorted(fake.records)[:2]
    fake.edit(first, builders.site_visit("uuid:kobo-0001-e1", name="Visitor 1 (corrected)",
                                    photo="p1b.jpg", deprecated_id="uuid:kobo-0001"),
              {"p1b.jpg": OTHER_JPEG})
    fake.validate(second, "validation_status_not_approved")
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.updated) == ("ok", 0, 2)
    subs = stored(session)
    edited = subs["uuid:kobo-0001-e1"]
    assert edited.current and edited.root_id == "uuid:kobo-0001"
    assert not subs["uuid:kobo-0001"].current
    assert subs["uuid:kobo-0002"].review_state == "rejected"
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.submission_id == subs["uuid:kobo-0002"].id)).one()
    assert (event.actor, event.from_state, event.to_state) == ("source:kobo-dhaka", "received", "rejected")
    table = warehouse.main_table(session.connection(), "site_visit")
    rows = dict(session.execute(select(table.c._key, table.c.name)).all())
    assert rows["uuid:kobo-0001"] == "Visitor 1 (corrected)"
    # Nothing changed remotely: the next pull changes nothing, and a local review stands.
    from pipeline.review import set_review
    set_review(session, [subs["uuid:kobo-0002"].id], "approved", None, "supervisor")
    again = pull(app, session, source, waits)
    assert (again.new, again.updated, again.skipped) == (0, 0, 0)
    assert stored(session)["uuid:kobo-0002"].review_state == "approved"


def test_after_a_pause_longer_than_the_window_no_edit_is_missed(app, session, fake, source, waits):
    now = datetime.now(UTC)
    fake.clock = now - timedelta(days=40)  # submitted forty days ago
    add_visits(fake, 2)
    pull(app, session, source, waits)
    # Then the pulls stopped for a month, and twenty days ago one was edited on KoBo: before
    # the usual 7-day window, after the last re-check.
    month_ago = (now - timedelta(days=30)).isoformat(timespec="seconds")
    source.cursor = {**source.cursor, "rechecked_at": month_ago, "full_rechecked_at": month_ago}
    session.commit()
    fake.clock = now - timedelta(days=20)
    fake.edit(sorted(fake.records)[0], builders.site_visit(
        "uuid:kobo-0001-e1", name="Visitor 1 (corrected)", deprecated_id="uuid:kobo-0001"))
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.updated) == ("ok", 0, 1)
    subs = stored(session)
    assert subs["uuid:kobo-0001-e1"].current and not subs["uuid:kobo-0001"].current


def test_old_edits_and_validations_are_caught_by_the_periodic_full_recheck(app, session, fake,
                                                                            source, waits):
    """KoBo keeps no time of an edit or a validation (no ``_last_edited``): a submission older
    than the re-check window is only seen again by the full re-check, every N days."""
    now = datetime.now(UTC)
    fake.clock = now - timedelta(days=60)
    add_visits(fake, 3)
    pull(app, session, source, waits)
    assert "full_rechecked_at" in session.get(Source, source.id).cursor  # the first pull read all
    first, second, _third = sorted(fake.records)
    fake.edit(first, builders.site_visit("uuid:kobo-0001-e1", name="Visitor 1 (late fix)",
                                    deprecated_id="uuid:kobo-0001"))
    fake.validate(second, "validation_status_approved")
    quiet = pull(app, session, source, waits)  # full re-check not due: outside the window
    assert (quiet.status, quiet.new, quiet.updated) == ("ok", 0, 0)
    source.cursor = {**source.cursor, "full_rechecked_at": (
        now - timedelta(days=8)).isoformat(timespec="seconds")}
    session.commit()
    before = len(fake.requests)
    run = pull(app, session, source, waits, full_recheck_days=7)
    assert (run.status, run.new, run.updated) == ("ok", 0, 2)
    subs = stored(session)
    assert subs["uuid:kobo-0001-e1"].current and not subs["uuid:kobo-0001"].current
    assert subs["uuid:kobo-0002"].review_state == "approved"
    listed = [args for path, args in fake.requests[before:] if path.endswith("/data/")]
    assert any(args.get("fields") == json.dumps(kobo.FINGERPRINT_FIELDS) for args in listed)
    cursor = session.get(Source, source.id).cursor
    assert len(cursor["prints"]) == 3
    # Fingerprints kept: the next full re-check reads nothing whole when nothing changed.
    source.cursor = {**cursor, "full_rechecked_at": (now - timedelta(days=8)).isoformat()}
    session.commit()
    before = len(fake.requests)
    again = pull(app, session, source, waits)
    assert (again.new, again.updated) == (0, 0)
    whole = [args for path, args in fake.requests[before:]
             if path.endswith("/data/") and "$in" in args.get("query", "")]
    assert whole == []


def test_the_recheck_window_reaches_back_to_the_previous_recheck():
    now = datetime.now(UTC)

    def days_back(previous):
        since = datetime.fromisoformat(kobo.recheck_since(previous, 7)).replace(tzinfo=UTC)
        return round((now - since) / timedelta(days=1), 3)

    assert days_back(None) == 7
    assert days_back((now - timedelta(days=1)).isoformat()) == 7  # pulled daily: the usual 7
    assert days_back("not a time") == 7
    assert days_back((now - timedelta(days=30)).isoformat()) == 31  # paused: a day before it
    assert days_back((now - timedelta(days=30)).replace(tzinfo=None).isoformat()) == 31


def test_approved_and_on_hold_map_to_review_states(app, session, fake, source, waits):
    fake.add(builders.site_visit("uuid:a"), validation="validation_status_approved")
    fake.add(builders.site_visit("uuid:b"), validation="validation_status_on_hold")
    fake.add(builders.site_visit("uuid:c"))
    pull(app, session, source, waits)
    states = {iid: s.review_state for iid, s in stored(session).items()}
    assert states == {"uuid:a": "approved", "uuid:b": "has_issues", "uuid:c": "received"}


def test_a_submission_from_collect_and_from_kobo_is_stored_once(app, client, session, fake, source,
                                                                waits):
    xml = builders.site_visit("uuid:both-ways", photo="p.jpg")
    key = builders.app_user(session).token
    resp = builders.submit(client, xml, {"p.jpg": JPEG}, via="http", key=key)
    assert resp.status_code == 201
    fake.add(xml, {"p.jpg": JPEG})
    run = pull(app, session, source, waits)
    assert (run.new, run.skipped) == (0, 1)
    (sub,) = stored(session).values()
    assert sub.source == "collect"
    assert xml_fetches(fake) == []  # known instanceID: not even downloaded


def test_a_collect_resend_after_the_kobo_copy_is_accepted_not_refused(app, client, session, fake,
                                                                      source, waits):
    # KoBo rewrites the root element, so its copy's bytes differ from what the phone holds; the
    # phone's later upload of the same instanceID must still get a 201, never a 409 it retries.
    xml = builders.site_visit("uuid:kobo-first", photo="p.jpg")
    fake.add(xml, {"p.jpg": JPEG})
    assert pull(app, session, source, waits).new == 1
    key = builders.app_user(session).token
    resp = builders.submit(client, xml, {"p.jpg": JPEG}, via="http", key=key)
    assert resp.status_code == 201
    (sub,) = stored(session).values()
    assert sub.source == "kobo"
    again = builders.submit(client, xml.replace(b"<name>", b"<name>changed "), via="http", key=key)
    assert again.status_code == 201  # other path: same filled form
    assert len(stored(session)) == 1


def test_without_xml_the_json_record_is_mapped_back_faithfully(app, session, fake, source, waits):
    fake.serve_xml = False
    xml = builders.site_visit("uuid:json-only", name="Nur", photo="p.jpg", snaps=("s0.jpg", "",
                                                                                  "s2.jpg"))
    fake.add(xml, {"p.jpg": JPEG, "s0.jpg": OTHER_JPEG, "s2.jpg": JPEG})
    run = pull(app, session, source, waits)
    assert (run.status, run.new) == ("ok", 1)
    sub = stored(session)["uuid:json-only"]
    assert b'<site_visit id="site_visit" version="1">' in sub.xml
    assert sorted(a.name for a in sub.attachments) == ["p.jpg", "s0.jpg", "s2.jpg"]
    conn = session.connection()
    main = warehouse.main_table(conn, "site_visit")
    assert session.execute(select(main.c.name, main.c.photo)).one() == ("Nur", "p.jpg")
    rows = warehouse.repeat_tables(conn, "site_visit")["wh_site_visit__rows"]
    got = session.execute(select(rows.c.item, rows.c.snap).order_by(rows.c._key)).all()
    assert [tuple(r) for r in got] == [("item 0", "s0.jpg"), ("item 1", None), ("item 2", "s2.jpg")]


def test_the_token_never_appears_in_logs_errors_or_reprs(app, session, fake, source, waits, caplog):
    caplog.set_level(logging.DEBUG)
    add_visits(fake, 2)
    fake.page_faults = ["429", "500"]
    fake.down_after_xml = 1
    run = pull(app, session, source, waits, retries=1)
    assert run.status == "failed"
    client = kobo.client_for(source)
    texts = [caplog.text, run.message or "", repr(client.__dict__), repr(Secret(fake.token))]
    assert "retry" in caplog.text
    assert not [t for t in texts if fake.token in t]


# The JSON and KoBo-XML mappings are faithful: whatever Collect sent, the rows parsed from the
# mapped XML are the rows parsed from the original.
_plain_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>&"), max_size=20,
).filter(lambda s: s == s.strip())
_file_name = st.sampled_from(["", "a.jpg", "1700000000123.jpg", "ছবি.png"])


@settings(max_examples=30, deadline=None)
@given(name=_plain_text, photo=_file_name,
       rows=st.lists(st.tuples(_plain_text, _file_name), max_size=4))
def test_kobo_json_and_kobo_xml_map_back_to_the_same_rows(name, photo, rows):
    xform = builders.built("site_visit").xml
    schema = FormSchema.from_xform(xform)
    original = builders.submission("site_visit", {
        "name": name, "photo": photo, "rows": [{"item": item, "snap": snap} for item, snap in rows],
    }, instance_id="uuid:p1")
    expected = parse(schema, original).rows
    fake = FakeKobo()
    record_id = fake.add(original)
    from_json = xmlmap.kobo_json_to_xml(fake.records[record_id], xform)
    from_kobo_xml = xmlmap.onto_form(fake.served_xml(record_id), xform)
    assert parse(schema, from_json).rows == expected
    assert parse(schema, from_kobo_xml).rows == expected


@functools.cache
def _inspection(copy: int) -> bytes:
    """An inspection filled by ODK's engine (a fresh instanceID per copy; cached across tests)."""
    return formtools.sample_submission("innovation_inspection")


def test_a_real_form_round_trips_through_kobo_xml_and_kobo_json(app, session, waits):
    built = formtools.built_forms()["innovation_inspection"]
    version = forms.publish(session, built, None, formtools.static_media("innovation_inspection"),
                            "test").version
    photos = {"desk.jpg": JPEG, "queue.jpg": OTHER_JPEG, "signature.png": JPEG + b"sig"}
    fake = FakeKobo(asset="aInspection7", repeats=("photos",))
    with serving(fake.app) as url:
        src = Source(name="kobo-inspections", kind="kobo", url=url, secret=fake.token,
                     remote_form=fake.asset, form_id=version.form_id)
        session.add(src)
        session.commit()
        fake.add(_inspection(1), photos)
        assert pull(app, session, src, waits).new == 1  # through KoBo's XML
        fake.serve_xml = False
        fake.add(_inspection(2), photos)
        assert pull(app, session, src, waits).new == 1  # through KoBo's JSON
    subs = stored(session)
    for xml in (_inspection(1), _inspection(2)):
        iid = builders.instance_id_of(xml)
        blobs = app.extensions["blobs"]
        assert {a.name: blobs.get(a.sha256) for a in subs[iid].attachments} == photos
        assert_answers_in_warehouse(session, "innovation_inspection", iid)


def test_an_edit_without_deprecated_id_is_linked_through_its_root_uuid(app, session, fake, source,
                                                                       waits):
    add_visits(fake, 1)
    pull(app, session, source, waits)
    (record_id,) = fake.records
    fake.edit(record_id, builders.site_visit("uuid:kobo-0001-e2", name="Visitor 1 (again)"))
    run = pull(app, session, source, waits)
    assert (run.new, run.updated) == (0, 1)
    subs = stored(session)
    assert subs["uuid:kobo-0001-e2"].root_id == "uuid:kobo-0001"
    assert subs["uuid:kobo-0001-e2"].current and not subs["uuid:kobo-0001"].current
    assert b"<deprecatedID>uuid:kobo-0001</deprecatedID>" in subs["uuid:kobo-0001-e2"].xml


def test_a_photo_missing_from_a_collect_upload_is_completed_from_kobo(app, client, session, fake,
                                                                     source, waits):
    xml = builders.site_visit("uuid:half-sent", photo="p.jpg")
    key = builders.app_user(session).token
    resp = builders.submit(client, xml, via="http", key=key, incomplete=True)
    assert resp.status_code == 201
    fake.add(xml, {"p.jpg": JPEG})
    run = pull(app, session, source, waits)
    assert (run.new, run.updated, run.errors) == (0, 1, 0)
    (sub,) = stored(session).values()
    assert sub.xml == xml and sub.source == "collect"
    assert [a.name for a in sub.attachments] == ["p.jpg"]


def test_answers_to_fields_we_do_not_have_are_refused_not_dropped(app, session, fake, source,
                                                                 waits):
    extra = builders.site_visit("uuid:extra").replace(b"<name>", b"<surprise>!</surprise><name>")
    fake.add(extra)
    fake.add(builders.site_visit("uuid:fine"))
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.errors) == ("incomplete", 1, 1)
    assert "uuid:extra" in run.message and "(surprise)" in run.message
    assert sorted(stored(session)) == ["uuid:fine"]
    fake.serve_xml = False  # the same through KoBo's JSON
    fake.add(extra.replace(b"uuid:extra", b"uuid:extra-json"))
    run = pull(app, session, source, waits)
    assert (run.new, run.errors) == (0, 2)  # the re-check meets the first one again
    assert "uuid:extra-json" in run.message


# One pull per source at a time: two real pulls, the first held mid-way in another thread (with
# its own engine, as another process would have).

def _pull_in(app, waits):
    return lambda session, source: pull(app, session, source, waits)


def test_a_second_pull_of_the_same_source_is_refused_while_the_first_runs(app, session, fake,
                                                                          source, waits):
    ids = add_visits(fake, 3)
    with held_pull(app, fake, source, _pull_in(app, waits)) as first:
        with pytest.raises(Problem) as refused:
            pull(app, session, source, waits)
        assert (refused.value.code, refused.value.status) == ("source.pull_running", 409)
        assert re.fullmatch(r"A pull of kobo-dhaka has been running since \d\d:\d\d UTC "
                            r"\(0 min\) by \S+ on \S+ \(process \d+\), last heard of \d+ s "
                            r"ago; wait for it to finish, or if it is gone, take the source over "
                            r"with 'sangjog pull --force'\.", refused.value.message)
        # The refused pull recorded nothing, and did not mark the running one as cut off.
        assert runs_of(session, source) == [("running", None)]
        run = first.finish()
    assert (run.status, run.new, run.errors) == ("ok", 3, 0)
    assert sorted(stored(session)) == ids
    assert fake.xml_served == 3  # each submission downloaded once
    assert session.get(Source, source.id).pull_run_id is None  # released
    assert pull(app, session, source, waits).status == "ok"  # the next pull may start


def test_pulls_of_different_sources_run_side_by_side(app, session, fake, source, waits):
    ids = add_visits(fake, 2)
    with served(FakeKobo(asset="aOtherAsset9")) as other_fake:
        other = add_source(session, name="kobo-sylhet", kind="kobo", url=other_fake.url,
                           secret=other_fake.token, remote_form=other_fake.asset)
        other_ids = [builders.site_visit(f"uuid:sylhet-{n}") for n in range(2)]
        for xml in other_ids:
            other_fake.add(xml)
        with held_pull(app, fake, source, _pull_in(app, waits)) as first:
            beside = pull(app, session, other, waits)
            assert (beside.status, beside.new) == ("ok", 2)
            run = first.finish()
    assert (run.status, run.new) == ("ok", 2)
    assert sorted(stored(session)) == sorted([*ids, "uuid:sylhet-0", "uuid:sylhet-1"])


def test_a_pull_that_died_holding_its_source_is_taken_over_after_the_timeout(app, session,
                                                                             fake, source, waits):
    add_visits(fake, 2)
    # A pull whose process was killed: its run still says running, its claim was never released.
    dead = PullRun(kind="kobo", source_id=source.id, status="running",
                   started_at=utcnow() - runs.CLAIM_TIMEOUT * 3)
    session.add(dead)
    session.flush()
    source.pull_run_id = dead.id
    source.pull_heartbeat = utcnow() - runs.CLAIM_TIMEOUT / 2  # not quiet long enough yet
    session.commit()
    with pytest.raises(Problem, match="running since"):
        pull(app, session, source, waits)
    assert runs_of(session, source) == [("running", None)]
    source.pull_heartbeat = utcnow() - runs.CLAIM_TIMEOUT - timedelta(seconds=1)
    session.commit()
    run = pull(app, session, source, waits)
    assert (run.status, run.new) == ("ok", 2)
    (status, message), _ = runs_of(session, source)
    assert status == "failed" and message.startswith("Interrupted before it finished")
    assert session.get(Source, source.id).pull_run_id is None


def _claimed_by(session, source, claimed_by: str) -> PullRun:
    """A pull holding ``source`` with a fresh heartbeat, owned by ``claimed_by``."""
    held = PullRun(kind="kobo", source_id=source.id, status="running",
                   started_at=utcnow() - timedelta(minutes=7))
    session.add(held)
    session.flush()
    source.pull_run_id, source.pull_heartbeat, source.pull_owner = held.id, utcnow(), claimed_by
    session.commit()
    return held


def test_a_claim_whose_process_is_gone_is_taken_over_at_once(app, session, fake, source, waits):
    import subprocess
    import sys

    add_visits(fake, 1)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    host, boot, _pid, _user = claims.owner().split(" ")  # this machine, since its last boot
    _claimed_by(session, source, f"{host} {boot} {ended.stdout.strip()} alice")  # kill -9'd
    run = pull(app, session, source, waits)
    assert (run.status, run.new) == ("ok", 1)
    assert runs_of(session, source)[0][0] == "failed"
    _claimed_by(session, source, f"{host} another-boot-before-a-reboot {os.getpid()} alice")
    assert pull(app, session, source, waits).status == "ok"


def test_a_live_claim_says_who_and_since_when_and_force_takes_it(app, session, fake, source,
                                                                  waits):
    add_visits(fake, 1)
    _claimed_by(session, source, "field-laptop - 4242 alice")  # another machine: never judged
    with pytest.raises(Problem) as refused:
        pull(app, session, source, waits)
    message = refused.value.message
    assert re.search(r"running since \d\d:\d\d UTC \(7 min\) by alice on field-laptop "
                     r"\(process 4242\), last heard of \d+ s ago", message)
    assert "sangjog pull --force" in message
    run = kobo.pull(session, app.extensions["blobs"], source, force=True,
                    client=kobo.KoboClient(source.url, Secret(source.secret), sleep=waits.append))
    assert (run.status, run.new) == ("ok", 1)
    assert session.get(Source, source.id).pull_owner is None  # released at the end


def test_a_slow_pull_taken_over_stops_without_moving_the_cursor(app, session, fake, source, waits,
                                                              monkeypatch):
    ids = add_visits(fake, 3)
    with held_pull(app, fake, source, _pull_in(app, waits)) as slow:
        monkeypatch.setattr(runs, "CLAIM_TIMEOUT", timedelta(0))  # it has gone quiet too long
        newer = pull(app, session, source, waits)
        assert (newer.status, newer.new) == ("ok", 3)
        monkeypatch.setattr(runs, "CLAIM_TIMEOUT", timedelta(minutes=15))
        cursor = dict(session.get(Source, source.id).cursor)
        run = slow.finish()
    assert run.status == "failed" and run.new == 0
    assert "another pull took the source over" in run.message
    session.rollback()
    assert session.get(Source, source.id).cursor == cursor  # the newer pull's, untouched
    assert sorted(stored(session)) == ids
    assert pull(app, session, source, waits).status == "ok"


def test_of_pulls_claiming_a_source_at_the_same_moment_exactly_one_wins(app, session, source):
    engines = [make_engine(app.config["DATABASE_URL"]) for _ in range(4)]
    barrier = threading.Barrier(len(engines), timeout=15)
    outcomes: list[object] = []

    def claim(engine) -> None:
        with session_factory(engine)() as own:
            mine = own.get(Source, source.id)
            barrier.wait()
            try:
                outcomes.append(runs.start(own, "kobo", mine).row.id)
            except Problem as problem:
                outcomes.append(problem.code)

    threads = [threading.Thread(target=claim, args=(e,), daemon=True) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.dispose()
    assert len(outcomes) == len(engines)
    (winner,) = [o for o in outcomes if isinstance(o, int)]
    assert outcomes.count("source.pull_running") == len(engines) - 1
    assert runs_of(session, source) == [("running", None)]
    session.refresh(source)
    assert source.pull_run_id == winner


def test_a_truncated_picture_is_not_stored_and_is_fetched_again(app, session, fake, source,
                                                                 waits):
    ids = add_visits(fake, 3)
    fake.truncated_files = {"p2.jpg"}  # KoBo gives no size or sum: the picture must decode
    run = pull(app, session, source, waits)
    assert (run.status, run.new, run.loaded, run.failed) == ("incomplete", 2, 2, 1)
    assert "p2.jpg" in run.message and "does not decode" in run.message
    assert sorted(stored(session)) == [ids[0], ids[2]]
    assert session.get(Source, source.id).cursor["damaged"] == ["102"]
    fake.truncated_files = set()
    again = pull(app, session, source, waits)
    assert (again.status, again.new, again.failed) == ("ok", 1, 0)
    (photo,) = stored(session)[ids[1]].attachments
    assert app.extensions["blobs"].get(photo.sha256) == JPEG
    assert session.get(Source, source.id).cursor["damaged"] == []


def test_kobos_xml_list_is_split_into_each_submission_byte_for_byte():
    one = builders.submission("a", {"x": "&"}, instance_id="uuid:1")  # as Collect sent it
    # as KoBo keeps one (no namespaces, a plain meta), a shape the builder does not make:
    two = b'<a id="a"><x>&amp;</x><meta><instanceID>uuid:2</instanceID></meta></a>'
    body = (b'<?xml version="1.0" encoding="utf-8"?><root><count>2</count><next></next>'
            b"<previous></previous><results>" + one + two + b"</results></root>")
    assert xmlmap.kobo_listing(body) == {"uuid:1": one, "uuid:2": two}
    with pytest.raises(ValueError):
        xmlmap.kobo_listing(b'<!DOCTYPE r [<!ENTITY e "x">]><root><results/></root>')
