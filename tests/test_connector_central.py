"""Pulling from ODK Central: session auth, the OData feed with nextLink, millisecond boundaries,
resumable pulls, edits and reviews, refusals and secrets. Real HTTP to a fake Central."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from pipeline import warehouse
from pipeline.connectors import central
from pipeline.connectors.http import Secret
from pipeline.models import PullRun, Source
from pipeline.problems import Problem
from tests import builders
from tests.connector_helpers import JPEG, OTHER_JPEG, add_source, held_pull, runs_of, served, stored
from tests.connector_helpers import add_visits as _add_visits
from tests.fakes.central_server import FakeCentral
from tests.fakes.serve import serving


@pytest.fixture
def fake():
    with served(FakeCentral()) as server:
        yield server


@pytest.fixture
def source(session, fake) -> Source:
    return add_source(session, name="central-np", kind="central", url=fake.url,
                      username=fake.email, secret=fake.password,
                      remote_form=f"{fake.project}:{fake.form}")


def pull(app, session, source, **kwargs) -> PullRun:
    waits = kwargs.pop("waits", [])
    client = central.CentralClient(source.url, source.username, Secret(source.secret),
                                   sleep=waits.append, backoff=0.01,
                                   retries=kwargs.pop("retries", 3))
    run = central.pull(session, app.extensions["blobs"], source, client=client, **kwargs)
    run.logins = client.logins  # for the tests' eyes only
    return run


def add_visits(fake, count: int, start: int = 1, **kwargs) -> list[str]:
    return _add_visits(fake, count, start, prefix="central", **kwargs)


def xml_fetches(fake) -> list[str]:
    return [path for path, _args in fake.requests if path.endswith(".xml")]


def test_pull_pages_by_submission_date_and_stores_everything_exactly(app, session, fake, source):
    ids = add_visits(fake, 5)
    fake.set_review(ids[1], "approved")
    fake.set_review(ids[2], "hasIssues")
    run = pull(app, session, source, page_size=2)
    assert (run.status, run.new, run.skipped, run.errors) == ("ok", 5, 0, 0)
    pages = [args for path, args in fake.requests if path.endswith(".svc/Submissions")]
    # Each page asks from the last submission date seen (that row comes back and is dropped);
    # Central's next links are not followed.
    assert len(pages) == 5 and not any("$skiptoken" in p for p in pages)
    assert [p.get("$filter", "")[:29] for p in pages[1:]] == ["__system/submissionDate ge 20"] * 4
    subs = stored(session)
    assert sorted(subs) == ids
    for iid in ids:
        sub = subs[iid]
        assert sub.xml == fake.records[iid].versions[-1].xml
        assert (sub.source, sub.source_ref, sub.submitter) == ("central", iid, "Collect phone 7")
        (photo,) = sub.attachments
        assert app.extensions["blobs"].get(photo.sha256) == JPEG
    assert [subs[i].review_state for i in ids] == [
        "received", "approved", "has_issues", "received", "received"]
    table = warehouse.main_table(session.connection(), "site_visit")
    assert session.scalar(select(table.c.name).where(table.c._key == ids[4])) == "Visitor 5"
    assert run.logins == 1


def test_incremental_pull_takes_only_new_and_drops_the_boundary_row(app, session, fake, source):
    add_visits(fake, 3)
    pull(app, session, source)
    before = len(xml_fetches(fake))
    new = add_visits(fake, 2, start=4)
    run = pull(app, session, source)
    assert (run.new, run.updated, run.skipped) == (2, 0, 0)
    assert len(xml_fetches(fake)) - before == 2
    feed = [args for path, args in fake.requests if path.endswith(".svc/Submissions")
            and args["$orderby"] == "__system/submissionDate asc"][-1]
    # The last row of the first pull comes back (times print to the millisecond) and is dropped.
    assert feed["$filter"].startswith("__system/submissionDate ge ")
    assert sorted(stored(session)) == sorted([*new, "uuid:central-0001", "uuid:central-0002",
                                              "uuid:central-0003"])
    again = pull(app, session, source)
    assert (again.new, again.updated, again.skipped) == (0, 0, 0)


def test_a_pull_cut_halfway_resumes_without_gaps_or_duplicates(app, session, fake, source):
    ids = add_visits(fake, 3)
    # Two submissions in the same millisecond, cut between them: the second must not be lost.
    ids += add_visits(fake, 4, start=4, same_time=True)
    fake.down_after_xml = 4
    first = pull(app, session, source, page_size=3, retries=1)
    assert first.status == "failed" and first.new == 4
    assert "could not be reached" in first.message
    fake.down_after_xml = None
    second = pull(app, session, source, page_size=3)
    assert (second.status, second.new, second.errors) == ("ok", 3, 0)
    subs = stored(session)
    assert sorted(subs) == ids
    assert all(subs[i].xml == fake.records[i].versions[-1].xml for i in ids)
    assert len(xml_fetches(fake)) == 7 + 2  # each once, plus the failed attempt and its retry


def test_edits_and_review_changes_are_caught(app, session, fake, source):
    ids = add_visits(fake, 3)
    pull(app, session, source)
    fake.edit(ids[0], builders.site_visit("uuid:central-0001-v2", name="Visitor 1 (fixed)",
                                     photo="p1b.jpg", deprecated_id=ids[0]),
              {"p1b.jpg": OTHER_JPEG})
    fake.set_review(ids[2], "rejected")
    run = pull(app, session, source)
    assert (run.status, run.new, run.updated) == ("ok", 0, 2)
    subs = stored(session)
    edited = subs["uuid:central-0001-v2"]
    assert edited.current and edited.root_id == ids[0] and edited.review_state == "edited"
    assert [a.name for a in edited.attachments] == ["p1b.jpg"]
    assert not subs[ids[0]].current
    assert subs[ids[2]].review_state == "rejected"
    table = warehouse.main_table(session.connection(), "site_visit")
    assert session.scalar(select(table.c.name).where(table.c._key == ids[0])) == "Visitor 1 (fixed)"
    assert session.scalar(select(table.c._review_state).where(table.c._key == ids[2])) == "rejected"


def test_an_expired_session_logs_in_again_once(app, session, fake, source):
    add_visits(fake, 2)
    pull(app, session, source)
    fake.expire_tokens()
    add_visits(fake, 1, start=3)
    client = central.CentralClient(source.url, source.username, Secret(source.secret))
    client.feed(fake.project, fake.form, {})  # logs in
    fake.expire_tokens()
    run = central.pull(session, app.extensions["blobs"], source, client=client)
    assert (run.status, run.new) == ("ok", 1)
    assert client.logins == 2


def test_a_wrong_password_or_form_is_a_clear_failure(app, session, fake, source):
    add_visits(fake, 1)
    source.secret = "not-the-password"
    session.commit()
    run = pull(app, session, source)
    assert run.status == "failed" and "refused the API token or password" in run.message
    assert "not-the-password" not in run.message
    source.secret, source.remote_form = fake.password, "3:no_such_form"
    session.commit()
    run = pull(app, session, source)
    assert run.status == "failed" and "not found" in run.message
    source.remote_form = "no-colon"
    session.commit()
    run = pull(app, session, source)
    assert run.status == "failed" and "PROJECT_ID:FORM_ID" in run.message
    assert stored(session) == {}


def test_faults_are_retried_and_a_malformed_page_imports_nothing(app, session, fake, source):
    ids = add_visits(fake, 2)
    fake.page_faults = ["malformed"]
    run = pull(app, session, source)
    assert run.status == "failed" and "Nothing from that page" in run.message
    assert stored(session) == {}
    waits: list[float] = []
    fake.page_faults = ["429", "drop", "500"]
    run = pull(app, session, source, waits=waits)
    assert (run.status, run.new) == ("ok", 2)
    assert sorted(stored(session)) == ids
    assert waits[0] == 3 and len(waits) == 3
    fake.ignore_filter = True  # a broken server listing everything whatever is asked
    run = pull(app, session, source)
    assert run.status == "failed" and "which were not asked for" in run.message


def test_malformed_xml_from_the_server_is_not_ok(app, session, fake, source):
    ids = add_visits(fake, 3)
    fake.xml_override[ids[1]] = b"<site_visit id='site_visit'><name>cut"
    run = pull(app, session, source)
    assert (run.status, run.new, run.errors, run.loaded) == ("incomplete", 2, 1, 2)
    assert f"{ids[1]}: The submission is not well-formed XML" in run.message


def test_password_and_token_never_appear_in_logs_or_errors(app, session, fake, source, caplog):
    caplog.set_level(logging.DEBUG)
    add_visits(fake, 2)
    fake.page_faults = ["500"]
    fake.down_after_xml = 1
    client = central.CentralClient(source.url, source.username, Secret(source.secret),
                                   sleep=lambda s: None, retries=1)
    run = central.pull(session, app.extensions["blobs"], source, client=client)
    assert run.status == "failed"
    secrets = [fake.password, *fake.tokens]
    texts = [caplog.text, run.message or "", repr(client.__dict__)]
    assert len(secrets) == 2
    assert not [t for t in texts for s in secrets if s in t]


def test_the_fake_refuses_orderby_with_skiptoken_as_central_does(fake):
    """The stand-in is as strict as central-backend: a client that follows ``@odata.nextLink``
    of an ordered feed gets 501."""
    import requests

    add_visits(fake, 3)
    token = requests.post(f"{fake.url}/v1/sessions", json={
        "email": fake.email, "password": fake.password}, timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    feed = f"{fake.url}/v1/projects/{fake.project}/forms/{fake.form}.svc/Submissions"
    first = requests.get(feed, params={"$orderby": "__system/submissionDate asc", "$top": "2"},
                         headers=auth, timeout=10).json()
    assert [r["__id"] for r in first["value"]] == ["uuid:central-0001", "uuid:central-0002"]
    refused = requests.get(first["@odata.nextLink"], headers=auth, timeout=10)
    assert refused.status_code == 501 and refused.json()["code"] == 501.1
    newest_first = requests.get(feed, params={"$top": "2"}, headers=auth, timeout=10).json()
    assert [r["__id"] for r in newest_first["value"]] == ["uuid:central-0003", "uuid:central-0002"]
    rest = requests.get(newest_first["@odata.nextLink"], headers=auth, timeout=10).json()
    assert [r["__id"] for r in rest["value"]] == ["uuid:central-0001"]
    assert "%24skiptoken=01" in newest_first["@odata.nextLink"]


def test_a_central_form_with_another_form_id_feeds_ours(app, session, source):
    fake = FakeCentral(form="inspection_2025")
    with serving(fake.app) as url:
        source.url, source.remote_form = url, f"{fake.project}:{fake.form}"
        session.commit()
        fake.add(builders.site_visit("uuid:renamed", name="Anis", form_id="inspection_2025"))
        run = pull(app, session, source)
    assert (run.status, run.new, run.errors) == ("ok", 1, 0)
    sub = stored(session)["uuid:renamed"]
    assert b'<site_visit id="site_visit" version="1"><name>Anis</name>' in sub.xml
    table = warehouse.main_table(session.connection(), "site_visit")
    assert session.scalar(select(table.c.name)) == "Anis"


def test_edits_after_a_cut_off_first_pull_are_still_caught(app, session, fake, source):
    ids = add_visits(fake, 4)
    fake.down_after_xml = 2
    assert pull(app, session, source, retries=0).status == "failed"
    fake.down_after_xml = None
    fake.set_review(ids[0], "approved")  # stored by the cut-off pull, reviewed afterwards
    run = pull(app, session, source)
    assert (run.status, run.new, run.updated) == ("ok", 2, 1)
    assert stored(session)[ids[0]].review_state == "approved"


def test_a_second_pull_of_the_same_form_waits_for_the_first(app, session, fake, source):
    ids = add_visits(fake, 3)
    with held_pull(app, fake, source, lambda s, src: pull(app, s, src)) as first:
        with pytest.raises(Problem) as refused:
            pull(app, session, source)
        assert (refused.value.code, refused.value.status) == ("source.pull_running", 409)
        assert "A pull of central-np has been running since" in refused.value.message
        assert runs_of(session, source) == [("running", None)]  # nothing recorded
        run = first.finish()
    assert (run.status, run.new, run.errors) == ("ok", 3, 0)
    assert sorted(stored(session)) == ids
    assert len(xml_fetches(fake)) == 3
    again = pull(app, session, source)
    assert (again.status, again.new, again.skipped) == ("ok", 0, 0)


def test_a_file_damaged_on_its_way_is_not_stored_and_is_fetched_again(app, session, fake,
                                                                       source):
    ids = add_visits(fake, 3)
    # Same length (the Content-Length matches), one byte changed: only Central's MD5 (the
    # ETag) tells.
    bad = bytearray(JPEG)
    bad[len(bad) // 2] ^= 0xFF
    fake.damaged_files["p2.jpg"] = bytes(bad)
    run = pull(app, session, source)
    assert (run.status, run.new, run.loaded, run.failed) == ("incomplete", 2, 2, 1)
    assert "p2.jpg" in run.message and "MD5" in run.message and ids[1] in run.message
    assert sorted(stored(session)) == [ids[0], ids[2]]  # nothing of it stored
    assert session.get(Source, source.id).cursor["damaged"] == [ids[1]]
    del fake.damaged_files["p2.jpg"]
    again = pull(app, session, source)
    assert (again.status, again.new, again.failed) == ("ok", 1, 0)
    (photo,) = stored(session)[ids[1]].attachments
    assert app.extensions["blobs"].get(photo.sha256) == JPEG
    assert session.get(Source, source.id).cursor["damaged"] == []
    feed = [args for path, args in fake.requests if path.endswith(".svc/Submissions")]
    assert f"__id eq '{ids[1]}'" in [args.get("$filter") for args in feed]
