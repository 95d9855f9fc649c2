"""Forms in a browser: ``/f/<form>`` for logged-in web users and public links ``/l/<token>``.

Both are doors like Collect's, so each rule is tried as an attacker would: a district officer
(read-only) and a supervisor outside their area at ``/f``; a link's area, upazila, hourly limit,
revocation and expiry at ``/l``; and the media each hands out. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pipeline import links
from pipeline.models import FormLink, Submission
from sync_server.cli import cli
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")

KALIGANJ, KAPASIA = "303334", "303336"  # two upazilas of Gazipur district (3033)


def _nomination(title: str, upazila: str = KALIGANJ) -> bytes:
    return builders.vary(builders.sample("hl_nomination"), f"uuid:{uuid.uuid4()}",
                         practice_title=title, upazila=upazila)


def _ballot(upazila: str = KALIGANJ, district: str = "3033", division: str = "30") -> bytes:
    return builders.vary(builders.sample("hl_ballot"), f"uuid:{uuid.uuid4()}", division=division,
                         district=district, upazila=upazila)


def _post(client, url: str, xml: bytes, **headers):
    return builders.submit(client, xml, via="http", url=url,
                           headers={"Accept": "application/json", **headers})


def _stored(db, source: str) -> list[Submission]:
    db.rollback()
    return list(db.scalars(select(Submission).where(Submission.source == source)))


def _workshop(db, blobs):
    for title, upazila in (("Open budget meeting", KALIGANJ), ("Tax fair", KALIGANJ),
                           ("Kapasia's own practice", KAPASIA)):
        builders.submit(db, _nomination(title, upazila), blobs=blobs)


# ---- public links ----

def test_a_workshop_link_serves_its_form_with_the_workshop_filled_in_and_only_its_candidates(
        client, world, db, blobs):
    _workshop(db, blobs)
    link = links.create(db, "hl_ballot", by="admin", upazila=KALIGANJ,
                        workshop_date=date(2026, 11, 20))
    page = client.get(f"/l/{link.token}")
    assert page.status_code == 200
    assert "wasm-unsafe-eval" in page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"].split("style-src")[0]
    assert f"/l/{link.token}/form.xml" in page.get_data(as_text=True)

    xml = client.get(f"/l/{link.token}/form.xml").get_data(as_text=True)
    assert f"<upazila>{KALIGANJ}</upazila>" in xml
    assert "<district>3033</district>" in xml and "<division>30</division>" in xml

    media = client.get(f"/l/{link.token}/media/ballot_candidates.csv")
    assert media.status_code == 200
    rows = list(csv.DictReader(io.StringIO(media.get_data(as_text=True))))
    titles = {r["label_en"].split(" — ")[-1] for r in rows}
    assert titles == {"Open budget meeting", "Tax fair"}, "another upazila's candidates leaked"
    assert client.get(f"/l/{link.token}/media/other.csv").status_code == 404


def test_a_link_takes_submissions_of_its_upazila_only_and_marks_their_source(client, world, db):
    link = links.create(db, "hl_ballot", by="admin", upazila=KALIGANJ)
    ok = _post(client, f"/l/{link.token}/submission", _ballot())
    assert ok.status_code == 201, ok.get_data(as_text=True)
    other_upazila = _post(client, f"/l/{link.token}/submission", _ballot(upazila=KAPASIA))
    assert other_upazila.status_code == 403
    assert "Kaliganj" in other_upazila.get_json()["message"]
    other_district = _post(client, f"/l/{link.token}/submission",
                           _ballot(upazila="558503", district=RANGPUR, division="55"))
    assert other_district.status_code == 403
    other_form = _post(client, f"/l/{link.token}/submission", _nomination("Sneaked in"))
    assert other_form.status_code == 403
    stored = _stored(db, "link")
    assert len(stored) == 1 and stored[0].source_ref == f"link:{link.id}"


def test_a_link_is_limited_per_hour_for_every_worker(app, client, world, db):
    app.config["LINK_SUBMISSIONS_PER_HOUR"] = 2
    link = links.create(db, "hl_ballot", by="admin", upazila=KALIGANJ)
    codes = [_post(client, f"/l/{link.token}/submission", _ballot()).status_code
             for _ in range(3)]
    assert codes == [201, 201, 429]
    refused = _post(client, f"/l/{link.token}/submission", _ballot())
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    assert len(_stored(db, "link")) == 2
    # The window is in the database: a new hour (as another worker would see it) opens it again.
    db.get(FormLink, link.id, populate_existing=True).window_start -= timedelta(hours=2)
    db.commit()
    assert _post(client, f"/l/{link.token}/submission", _ballot()).status_code == 201


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_revoked_or_expired_link_answers_410_at_every_address(client, world, db, how):
    link = links.create(db, "hl_ballot", by="admin", upazila=KALIGANJ)
    if how == "revoked":
        links.revoke(db, str(link.id))
    else:
        db.get(FormLink, link.id).expires_at = links.utcnow() - timedelta(minutes=1)
        db.commit()
    base = f"/l/{link.token}"
    for url in (base, f"{base}/form.xml", f"{base}/media/ballot_candidates.csv"):
        assert client.get(url).status_code == 410, url
    assert _post(client, f"{base}/submission", _ballot()).status_code == 410
    assert client.get("/l/not-a-token").status_code == 404
    assert _stored(db, "link") == []


def test_link_commands_create_list_and_revoke(runner, world, db):
    made = runner.invoke(cli, args=["link", "create", "hl_nomination", "--upazila", KALIGANJ,
                               "--date", "2026-11-20", "--expires", "2026-12-31",
                               "--server-url", "https://hlp.example.org"])
    assert made.exit_code == 0, made.output
    token = re.search(r"https://hlp\.example\.org/l/(\S+)", made.output).group(1)
    listed = runner.invoke(cli, args=["link", "list"])
    assert "hl_nomination" in listed.output and "bd_district:3033" in listed.output
    assert f"upazila {KALIGANJ} on 2026-11-20" in listed.output and "until 2026-12-31" in listed.output
    bad = runner.invoke(cli, args=["link", "create", "hl_nomination", "--upazila", "999999"])
    assert bad.exit_code != 0 and "no upazila" in bad.output
    link_id = db.scalar(select(FormLink.id).where(FormLink.token == token))
    assert runner.invoke(cli, args=["link", "revoke", str(link_id)]).exit_code == 0
    assert runner.invoke(cli, args=["link", "list"]).output.strip() == "No form links."


# ---- logged-in web users: /f/<form> ----

def test_web_users_fill_only_forms_their_role_collects_and_only_inside_their_area(
        client, world, db):
    builders.login(client, "do_rangpur")
    for url in ("/f/hl_ballot", "/f/hl_ballot/form.xml", "/f/hl_ballot/media/ballot_candidates.csv"):
        assert client.get(url).status_code == 403, url
    page = client.get("/dashboard")
    token = builders.csrf(page.get_data(as_text=True))
    refused = _post(client, "/f/hl_ballot/submission",
                    _ballot(upazila="558503", district=RANGPUR, division="55"), **{"X-CSRFToken": token})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})

    builders.login(client, "sup_rangpur")
    page = client.get("/f/hl_ballot")
    assert page.status_code == 200
    token = builders.csrf(page.get_data(as_text=True))
    outside = _post(client, "/f/hl_ballot/submission", _ballot(), **{"X-CSRFToken": token})
    assert outside.status_code == 403, outside.get_data(as_text=True)
    no_csrf = _post(client, "/f/hl_ballot/submission",
                    _ballot(upazila="558503", district=RANGPUR, division="55"))
    assert no_csrf.status_code == 400
    inside = _post(client, "/f/hl_ballot/submission",
                   _ballot(upazila="558503", district=RANGPUR, division="55"),
                   **{"X-CSRFToken": token})
    assert inside.status_code == 201, inside.get_data(as_text=True)
    stored = _stored(db, "web")
    assert len(stored) == 1 and stored[0].submitter == "sup_rangpur"


def test_the_browser_form_media_hold_only_the_users_area(client, world, db, blobs):
    for district, upazila, division in ((RANGPUR, "558503", "55"), (KURIGRAM, "554906", "55")):
        builders.submit(db, builders.vary(
            builders.sample("hl_nomination"), f"uuid:{uuid.uuid4()}", division=division,
            district=district, upazila=upazila, practice_title=f"Practice of {district}"),
            blobs=blobs)
    builders.login(client, "sup_rangpur")
    media = client.get("/f/hl_ballot/media/ballot_candidates.csv").get_data(as_text=True)
    assert f"Practice of {RANGPUR}" in media and f"Practice of {KURIGRAM}" not in media


def test_anonymous_visitors_are_sent_to_log_in_and_cannot_send(client, world, db):
    assert client.get("/f/hl_ballot").status_code == 302
    assert client.get("/f/hl_ballot/form.xml").status_code == 302
    assert _post(client, "/f/hl_ballot/submission", _ballot()).status_code in (400, 401)
    assert _stored(db, "web") == []


def test_admins_make_and_withdraw_links_on_the_forms_page_and_others_cannot(client, world, db):
    builders.login(client, "sup_division")
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    refused = client.post("/admin/links", data={"csrf_token": token, "form_id": "hl_ballot"})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})

    builders.login(client, "admin")
    page = client.get("/admin/forms").get_data(as_text=True)
    assert 'href="/f/hl_ballot"' in page
    token = builders.csrf(page)
    made = client.post("/admin/links", data={
        "csrf_token": token, "form_id": "hl_ballot", "upazila": KALIGANJ,
        "workshop_date": "2026-11-20", "expires": "2026-12-31"}, follow_redirects=True)
    assert made.status_code == 200
    link = db.scalar(select(FormLink))
    assert (link.upazila, link.workshop_date, link.created_by) == (
        KALIGANJ, date(2026, 11, 20), "admin")
    assert f"/l/{link.token}" in made.get_data(as_text=True)
    bad = client.post("/admin/links", data={"csrf_token": token, "form_id": "hl_ballot",
                                            "upazila": "999999"}, follow_redirects=True)
    assert "no upazila with the code 999999" in bad.get_data(as_text=True)
    client.post(f"/admin/links/{link.id}/revoke", data={"csrf_token": token})
    assert client.get(f"/l/{link.token}").status_code == 410
    assert f"/l/{link.token}" not in client.get("/admin/forms").get_data(as_text=True)
