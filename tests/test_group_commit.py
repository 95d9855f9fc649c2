"""SQLite group commit: uploads queued together are committed together, each with its own
answer; a refused upload refuses only itself; a failing transaction fails no bystander."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from pipeline import rawstore
from pipeline.ingest import Incoming
from pipeline.models import Submission
from pipeline.problems import Problem
from sync_server.group_commit import GroupWriter
from tests import collect


@pytest.fixture
def writer(app, session, backend):
    if backend != "sqlite":
        pytest.skip("group commit is for SQLite's single writer")
    collect.publish_site_visit(session)
    return GroupWriter(app)


def _upload(iid: str, form_id: str = "site_visit") -> tuple[Incoming, rawstore.Envelope]:
    xml = collect.submission_xml(iid, form_id=form_id)
    return Incoming(xml=xml, submitter="phone"), rawstore.read_envelope(xml)


def _all_at_once(writer: GroupWriter, uploads) -> list[object]:
    """Store every upload from its own thread, released together; each thread's result."""
    results: list[object] = [None] * len(uploads)
    start = threading.Barrier(len(uploads))

    def run(i: int) -> None:
        incoming, envelope = uploads[i]
        start.wait(timeout=30)
        try:
            results[i] = writer.store(incoming, envelope, {})
        except Exception as exc:  # the thread's answer, as the request would get it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(uploads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_uploads_each_get_their_own_answer(writer, session, monkeypatch):
    real = rawstore.store_rows

    def slow_first(conn, incoming, envelope, digests, **options):
        if envelope.instance_id == "uuid:g0":
            time.sleep(0.2)  # the others queue meanwhile and go together in the next batch
        return real(conn, incoming, envelope, digests, **options)

    monkeypatch.setattr(rawstore, "store_rows", slow_first)
    uploads = [_upload(f"uuid:g{i}") for i in range(12)]
    uploads.append(_upload("uuid:g3"))  # the same instance twice: stored once
    uploads.append(_upload("uuid:nowhere", form_id="no_such_form"))
    results = _all_at_once(writer, uploads)
    statuses = [r.status if not isinstance(r, Exception) else r for r in results]
    assert [s for i, s in enumerate(statuses[:12]) if i != 3] == ["created"] * 11
    assert {statuses[3], statuses[12]} == {"created", "duplicate"}  # whichever came first
    assert isinstance(results[13], Problem) and results[13].status == 404
    stored = session.scalars(select(Submission.instance_id)).all()
    assert sorted(stored) == sorted(f"uuid:g{i}" for i in range(12))
    assert writer.largest_batch > 1


def test_a_failing_transaction_fails_only_its_own_upload(writer, session, monkeypatch):
    real = rawstore.store_rows

    def broken_for_one(conn, incoming, envelope, digests, **options):
        if envelope.instance_id == "uuid:bad":
            raise RuntimeError("disk trouble")  # not a refusal: the whole transaction fails
        if envelope.instance_id == "uuid:ok0":
            time.sleep(0.2)  # the others queue meanwhile and go together in the next batch
        return real(conn, incoming, envelope, digests, **options)

    monkeypatch.setattr(rawstore, "store_rows", broken_for_one)
    # Every upload through the transaction (an upload alone could take the one-statement way).
    monkeypatch.setattr(rawstore, "_store_in_one_statement", lambda *args: None)
    uploads = [_upload(f"uuid:ok{i}") for i in range(6)] + [_upload("uuid:bad")]
    results = _all_at_once(writer, uploads)
    assert [r.status for r in results[:6]] == ["created"] * 6
    assert isinstance(results[6], RuntimeError)
    stored = session.scalars(select(Submission.instance_id)).all()
    assert sorted(stored) == sorted(f"uuid:ok{i}" for i in range(6))
    assert writer.largest_batch > 1
