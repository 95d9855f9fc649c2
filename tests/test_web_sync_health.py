"""Sync health for admins and supervisors: the latest time a submission arrived, when each
phone was last seen, and failed submissions opened (raw XML, reason, files), retried and
dismissed, each inside the reader's areas only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from pipeline import accounts, loader
from pipeline.models import AppUser, AuditEvent, Submission
from tests import builders
from tests.admin_pages import failed_submission
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_last_received_is_the_latest_time_not_the_highest_id(app, world, db):
    newest, older = world.submissions[RANGPUR][-1], world.first(RANGPUR)
    db.execute(update(Submission).where(Submission.id == newest)
               .values(received_at=datetime(2026, 11, 24, 6, 0, tzinfo=UTC)))
    db.execute(update(Submission).where(Submission.id == older)
               .values(received_at=datetime(2026, 12, 2, 6, 0, tzinfo=UTC)))
    db.execute(update(Submission).where(Submission.id.not_in([newest, older]))
               .values(received_at=datetime(2026, 11, 1, 6, 0, tzinfo=UTC)))
    db.commit()
    for who in ("admin", "sup_rangpur"):
        html = builders.login(app.test_client(), who).get("/admin/health").get_data(as_text=True)
        tile = html.split('id="last-received">')[1].split("</span>")[0]
        assert tile.startswith("Dec 2, 2026"), (who, tile)


def test_a_phone_is_seen_at_most_once_a_minute(app, world, db):
    holder = accounts.create_app_user(db, "Rangpur phone 1", [], "admin")
    client = app.test_client()
    assert client.get(f"/key/{holder.token}/formList").status_code == 200
    db.rollback()
    db.expire_all()
    first = db.get(AppUser, holder.id).last_seen_at
    assert first is not None
    engine = app.extensions["engine"]
    assert accounts.seen(engine, holder.id) is False  # within the minute: no write at all
    accounts.forget_seen()  # another worker, or this one a minute later
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    assert accounts.seen(engine, holder.id, now=first + timedelta(seconds=30)) is False
    accounts.forget_seen()
    assert accounts.seen(engine, holder.id, now=first + timedelta(seconds=61)) is True
    html = builders.login(app.test_client(), "admin").get("/admin/health").get_data(as_text=True)
    seen = html.split('id="last-seen"')[1]
    assert "Rangpur phone 1" in seen and "never" not in seen.split("</tr>")[1]


def test_failed_submission_opens_with_raw_xml_reason_and_files(app, world, db, blobs):
    failed = failed_submission(db, blobs, RANGPUR)
    admin = builders.login(app.test_client(), "admin")
    health = admin.get("/admin/health").get_data(as_text=True)
    assert f'href="/admin/health/submissions/{failed}"' in health.split('id="failed"')[1]
    page = admin.get(f"/admin/health/submissions/{failed}").get_data(as_text=True)
    assert "&lt;extra&gt;x&lt;/extra&gt;" in page  # the raw XML, exactly as it came
    assert "is not in form" in page.split('id="reason"')[1]
    assert "desk.jpg" in page and "collect:abc123" in page
    seen = admin.get("/admin/health").get_data(as_text=True).split('id="last-seen"')[1]
    assert "collect:abc123" in seen and "phone-7" in seen


def test_retry_loads_a_fixed_submission_and_says_why_one_still_fails(app, world, db, blobs):
    fixed = world.first(KURIGRAM)
    db.execute(update(Submission).where(Submission.id == fixed)
               .values(parse_status="failed", parse_error_code="warehouse.write_failed",
                       parse_error="the disk was full"))
    db.commit()
    still = failed_submission(db, blobs, RANGPUR)
    admin = builders.login(app.test_client(), "admin")
    token = builders.csrf(admin.get(f"/admin/health/submissions/{fixed}").get_data(as_text=True))
    loaded = admin.post(f"/admin/health/submissions/{fixed}/retry", data={"csrf_token": token})
    assert loaded.status_code == 302 and loaded.location.endswith(f"/submissions/{fixed}")
    refused = admin.post(f"/admin/health/submissions/{still}/retry", data={"csrf_token": token},
                         follow_redirects=True).get_data(as_text=True)
    assert "still does not load" in refused and "is not in form" in refused
    db.rollback()
    db.expire_all()
    assert db.get(Submission, fixed).parse_status == "ok"
    assert db.get(Submission, still).parse_status == "failed"
    actors = db.scalars(select(AuditEvent.actor).where(AuditEvent.action == "submission.retry"))
    assert sorted(actors) == ["admin", "admin"]
    dismissed = admin.post(f"/admin/health/submissions/{still}/dismiss",
                           data={"csrf_token": token})
    assert dismissed.status_code == 302
    db.rollback()
    db.expire_all()
    assert db.get(Submission, still).parse_status == "dismissed"
    health = admin.get("/admin/health").get_data(as_text=True)
    assert f"/admin/health/submissions/{still}" not in health.split('id="failed"')[1].split(
        "</section>")[0]
    again = admin.post(f"/admin/health/submissions/{still}/dismiss", data={"csrf_token": token})
    assert again.status_code == 409  # only a failed one can be dismissed


def test_web_and_pulls_share_one_retry(app, world, db, blobs, monkeypatch):
    """The page's Retry is ``loader.retry``, the function pulls use for what they could not
    load (tests/test_sources_cli.py checks the pull's side)."""
    failed = failed_submission(db, blobs, RANGPUR)
    calls = []
    monkeypatch.setattr(loader, "retry", lambda s, ids, **kw: calls.append((list(ids), kw)))
    admin = builders.login(app.test_client(), "admin")
    token = builders.csrf(admin.get("/admin/health").get_data(as_text=True))
    admin.post(f"/admin/health/submissions/{failed}/retry", data={"csrf_token": token})
    assert calls == [([failed], {"actor": "admin"})]


def test_a_supervisor_sees_and_retries_only_their_areas_failures(app, world, db, blobs):
    mine, theirs = failed_submission(db, blobs, RANGPUR), failed_submission(db, blobs, KURIGRAM)
    supervisor = builders.login(app.test_client(), "sup_rangpur")
    html = supervisor.get("/admin/health").get_data(as_text=True)
    failed = html.split('id="failed"')[1].split("</section>")[0]
    assert f"/admin/health/submissions/{mine}" in failed
    assert f"/admin/health/submissions/{theirs}" not in failed
    assert "kobo" not in html.lower() and 'id="last-seen"' not in html  # admins' sections
    recent = re.findall(r"/submissions/(\d+)", html.split("</section>")[-2])
    assert recent and all(int(i) in world.submissions[RANGPUR] or int(i) == mine for i in recent)
    token = builders.csrf(html)
    assert supervisor.get(f"/admin/health/submissions/{mine}").status_code == 200
    for door in ("", "/retry", "/dismiss"):
        path = f"/admin/health/submissions/{theirs}{door}"
        answer = (supervisor.get(path) if not door
                  else supervisor.post(path, data={"csrf_token": token}))
        assert answer.status_code == 404, door
    db.rollback()
    db.expire_all()
    assert db.get(Submission, theirs).parse_status == "failed"
    assert not db.scalars(select(AuditEvent).where(AuditEvent.submission_id == theirs,
                                                   AuditEvent.action.like("submission.%"))).all()
    assert supervisor.post(f"/admin/health/submissions/{mine}/dismiss",
                           data={"csrf_token": token}).status_code == 302


def test_district_officers_and_strangers_get_no_door(app, world, db, blobs):
    failed = failed_submission(db, blobs, RANGPUR)
    officer = builders.login(app.test_client(), "do_rangpur")
    token = builders.csrf(officer.get("/dashboard").get_data(as_text=True))
    assert officer.get("/admin/health").status_code == 403
    assert officer.get(f"/admin/health/submissions/{failed}").status_code == 403
    for door in ("/retry", "/dismiss"):
        answer = officer.post(f"/admin/health/submissions/{failed}{door}",
                              data={"csrf_token": token})
        assert answer.status_code == 403, door
    stranger = app.test_client()
    assert stranger.get(f"/admin/health/submissions/{failed}").status_code == 302  # to login
    db.rollback()
    db.expire_all()
    assert db.get(Submission, failed).parse_status == "failed"



def test_a_supervisor_pages_through_all_their_areas_failures(app, world, db, blobs, monkeypatch):
    """More failures than a page holds, others' in between: Next walks every one of the
    reader's, newest first, each once, and Previous walks back; none of another area's."""
    from sync_server.web import admin

    monkeypatch.setattr(admin, "FAILED_SHOWN", 2)
    monkeypatch.setattr(admin, "FAILED_BATCH", 2)  # a page filled from several reads
    mine, theirs = [], []
    for district in (RANGPUR, KURIGRAM, KURIGRAM, RANGPUR, KURIGRAM, RANGPUR, RANGPUR, KURIGRAM):
        (mine if district == RANGPUR else theirs).append(failed_submission(db, blobs, district))
    same = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # ties on arrival: newest id first
    db.execute(update(Submission).where(Submission.id.in_(mine[:2] + theirs))
               .values(received_at=same))
    db.execute(update(Submission).where(Submission.id.in_(mine[2:]))
               .values(received_at=same - timedelta(hours=1)))
    db.commit()
    expected = sorted(mine[:2], reverse=True) + sorted(mine[2:], reverse=True)
    supervisor = builders.login(app.test_client(), "sup_rangpur")

    def failed(path: str) -> tuple[list[int], str | None, str | None]:
        html = supervisor.get(path).get_data(as_text=True)
        section = html.split('id="failed"')[1].split("</section>")[0]
        ids = [int(i) for i in dict.fromkeys(re.findall(r"/admin/health/submissions/(\d+)\"",
                                                        section))]
        links = {rel: href.replace("&amp;", "&") for rel, href in
                 re.findall(r'rel="(prev|next)" href="([^"]+)"', section)}
        return ids, links.get("prev"), links.get("next")

    pages, path, back = [], "/admin/health", []
    while path:
        ids, prev, path = failed(path)
        pages.append(ids)
        back.append(prev)
    assert pages == [expected[:2], expected[2:4]] and back[0] is None
    assert failed(back[1]) == (expected[:2], None, f"/admin/health?before={expected[1]}#failed")
    html = supervisor.get("/admin/health").get_data(as_text=True)
    assert re.search(r'<span class="num">4</span><span class="label">Submissions that could not',
                     html)
    # A cursor from another area starts from the first page, as the lists do.
    assert failed(f"/admin/health?before={theirs[0]}")[0] == expected[:2]
