"""The one-statement path for plain new uploads stores what the usual path stores, and refuses
nothing less: a key not given the form, a revoked key, a closed form, a resend, an edit and a
late original all still get the usual path's answer once the form version is known to it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from pipeline import accounts, caches, forms, rawstore_fastpath
from pipeline.ingest import Incoming, accept
from pipeline.models import Submission
from tests import builders

RECEIVED = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
_COMPARED = ("root_id", "deprecated_id", "current", "form_id", "form_version", "source",
             "source_ref", "submitter", "device_id", "received_at", "review_state",
             "attachments_expected", "parse_status")


def _post(client, key: str, xml: bytes) -> int:
    return builders.submit(client, xml, via="http", key=key).status_code


def _stored(session, instance_id: str) -> Submission | None:
    session.rollback()
    return session.scalar(select(Submission).where(Submission.instance_id == instance_id))


def test_both_paths_store_the_same_row(app, session, monkeypatch):
    """The one statement's public entry is watched (and still run) to see which upload it stored."""
    inserted: list[int | None] = []  # what each run of the one statement stored
    one_statement = rawstore_fastpath.try_insert

    def counted(conn, params):
        inserted.append(one_statement(conn, params))
        return inserted[-1]

    monkeypatch.setattr(rawstore_fastpath, "try_insert", counted)
    builders.publish(session, "site_visit")
    team = accounts.key_holder(session.get_bind(), builders.app_user(session, "team").token)
    caches.clear_all()  # the first upload of a version takes the usual path
    rows, ids = [], []
    for iid in ("uuid:usual", "uuid:one-statement"):
        xml = builders.site_visit(iid, photo="site.jpg", snaps=("a.jpg",))
        outcome = accept(session, app.extensions["blobs"], Incoming(
            xml=xml, device_id="collect:7", received_at=RECEIVED), by=team, load=False)
        assert outcome.status == "created"
        stored = _stored(session, iid)
        assert stored.xml == xml and stored.root_id == iid
        rows.append({c: getattr(stored, c) for c in _COMPARED if c != "root_id"})
        ids.append(stored.id)
    assert inserted == [ids[1]]  # the first took the usual path, the second the one statement
    assert rows[0] == rows[1]
    assert rows[1]["submitter"] == "team" and rows[1]["attachments_expected"] == 2


def test_refusals_and_special_cases_still_get_the_usual_answer(client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="market", title="Market")
    everything = builders.app_user(session, "everything").token
    market_only = builders.app_user(session, "market-only", forms=("market",)).token
    spare = builders.app_user(session, "spare").token
    # Both versions become known to the one-statement path.
    assert _post(client, everything, builders.site_visit("uuid:w1")) == 201
    assert _post(client, everything, builders.site_visit("uuid:w2", form_id="market")) == 201
    assert _post(client, everything, builders.site_visit("uuid:w3")) == 201

    assert _post(client, market_only, builders.site_visit("uuid:not-given")) == 403
    assert _post(client, market_only,
                 builders.site_visit("uuid:given", form_id="market")) == 201
    # A resend is answered as one and stored once; other bytes under the same id conflict.
    assert _post(client, everything, builders.site_visit("uuid:w3")) == 201
    assert _post(client, everything, builders.site_visit("uuid:w3", name="Other")) == 409
    # An edit and a late original go through the usual path's chain.
    assert _post(client, everything,
                 builders.site_visit("uuid:w4", deprecated_id="uuid:w3", name="Edited")) == 201
    assert _post(client, everything,
                 builders.site_visit("uuid:l2", deprecated_id="uuid:l1", name="Later")) == 201
    assert _post(client, everything, builders.site_visit("uuid:l1")) == 201
    accounts.revoke_app_user(session, "everything", actor="test")
    assert _post(client, everything, builders.site_visit("uuid:revoked")) == 403
    forms.set_state(session, "site_visit", "closed", actor="test")
    assert _post(client, spare, builders.site_visit("uuid:closed")) == 409

    for refused in ("uuid:not-given", "uuid:revoked", "uuid:closed"):
        assert _stored(session, refused) is None, refused
    w3, w4 = _stored(session, "uuid:w3"), _stored(session, "uuid:w4")
    assert (w3.current, w4.current, w4.root_id) == (False, True, "uuid:w3")
    l1, l2 = _stored(session, "uuid:l1"), _stored(session, "uuid:l2")
    assert (l1.current, l2.current, l2.root_id) == (False, True, "uuid:l1")
    assert session.query(Submission).filter(Submission.instance_id == "uuid:w3").count() == 1
