"""Every role × every data endpoint × own and other district: a user sees, counts, opens and
downloads exactly the rows of their own area, whatever URL they type."""

from __future__ import annotations

import io
import re
import uuid

import openpyxl
import pytest
from sqlalchemy import func, select

from pipeline import accounts
from pipeline.models import AuditEvent, ScheduledExport
from tests import builders
from tests.builders import KURIGRAM, RANGPUR, VISIBLE

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"
NAMES = {RANGPUR: ("rangpur-5585", "Badarganj"), KURIGRAM: ("kurigram-5549", "Bhurungamari")}
REVIEWERS = {"admin", "sup_division", "sup_rangpur"}


def test_every_role_sees_exactly_its_own_districts(app, world, db, blobs):
    # As `sangjog export schedule` keeps them: in the attachment store, named by a row with the
    # area each covers (Rangpur is a district and a division).
    for slug, area in (("rangpur-5585", f"bd_district:{RANGPUR}"),
                       ("kurigram-5549", f"bd_district:{KURIGRAM}"),
                       ("rangpur-55", "bd_division:55"), ("dhaka-30", "bd_division:30"),
                       ("all", "*")):
        content = b"scheduled " + slug.encode()
        db.add(ScheduledExport(name=f"sangjog-{slug}-2026-Q3-en.xlsx", area=area, period="2026-Q3",
                               lang="en", sha256=blobs.put(content), size=len(content)))
    db.commit()
    for username, visible in VISIBLE.items():
        client = builders.login(app.test_client(), username)
        listing = client.get(LIST).get_data(as_text=True)
        token = builders.csrf(listing)
        shown = {int(i) for i in re.findall(r'href="/submissions/(\d+)[?"]', listing)}
        assert shown == {i for d in visible for i in world.submissions[d]}, username
        count = client.get(f"{LIST}/count", headers={"Accept": "application/json"}).get_json()
        assert count["count"] == 2 * len(visible), username
        dashboard = client.get("/dashboard").get_data(as_text=True)
        projects = client.get("/projects").get_data(as_text=True)
        downloads = client.get("/downloads").get_data(as_text=True)
        # A district's officer never gets the workbook of the division around it.
        division_file = "sangjog-rangpur-55-2026-Q3-en.xlsx"
        assert (division_file in downloads) == (username in ("admin", "sup_division")), username
        assert ("sangjog-dhaka-30-" in downloads) == (username == "admin"), username
        assert ("sangjog-all-" in downloads) == (username == "admin"), username
        for district in (RANGPUR, KURIGRAM):
            own = district in visible
            slug, upazila = NAMES[district]
            case = f"{username} on {slug}"
            target = world.first(district)
            # Asking for the other district by filter shows nothing either.
            filtered = client.get(f"{LIST}?district={district}").get_data(as_text=True)
            assert bool(re.search(f'href="/submissions/{target}[?"]', filtered)) == own, case
            assert client.get(f"/submissions/{target}").status_code == (200 if own else 404), case
            photo = client.get(f"/attachments/{target}/desk.jpg")
            assert photo.status_code == (200 if own else 404), case
            assert (photo.data == builders.picture()) == own, case
            thumb = client.get(f"/attachments/{target}/queue.jpg?size=thumb")
            assert thumb.status_code == (200 if own else 404), case
            assert (upazila in dashboard) == own, case
            assert (builders.PROJECT[district] in projects) == own, case
            scheduled = f"sangjog-{slug}-2026-Q3-en.xlsx"
            assert (scheduled in downloads) == own, case
            fetched = client.get(f"/downloads/files/{scheduled}")
            assert fetched.status_code == (200 if own else 404), case
            assert (fetched.data == f"scheduled {slug}".encode()) == own, case
            area = f"bd_district:{district}"
            export = client.get(f"/downloads/export?area={area}&period=2026-Q4&lang=en&format=xlsx")
            if not own:
                assert export.status_code == 403, case
            comment = client.post(f"/submissions/{target}/review",
                                  data={"state": "comment", "comment": f"seen by {username}",
                                        "csrf_token": token})
            expected = (302 if own else 404) if username in REVIEWERS else 403
            assert comment.status_code == expected, case
    comments = set(db.scalars(select(AuditEvent.comment).where(
        AuditEvent.action == "submission.comment")))
    assert comments == {f"seen by {u}" for u in REVIEWERS}


def test_district_workbook_holds_only_its_district(app, world):
    client = builders.login(app.test_client(), "do_rangpur")
    response = client.get(f"/downloads/export?area=bd_district:{RANGPUR}&period=2026-Q4"
                          "&lang=bn&format=xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "sangjog-rangpur-5585-2026-Q4-bn.xlsx" in disposition
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    sheet = book["Inspections"]
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert builders.PROJECT[RANGPUR] in text or "ভ্রাম্যমাণ ভূমি রেকর্ড ডেস্ক" in text
    assert builders.PROJECT[KURIGRAM] not in text and "কুড়িগ্রাম" not in text
    badarganj = [r for r in sheet.iter_rows(values_only=True) if "বদরগঞ্জ" in r]  # in Bengali
    assert len(badarganj) == len(world.submissions[RANGPUR])
    zipped = client.get(f"/downloads/export?area=bd_district:{RANGPUR}&period=2026-Q4"
                        "&lang=en&format=csv&form=innovation_inspection")
    assert zipped.status_code == 200
    assert "sangjog-rangpur-5585-2026-Q4-innovation_inspection.zip" in zipped.headers["Content-Disposition"]
    import zipfile

    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        main = archive.read("innovation_inspection.csv").decode("utf-8")
    assert main.count(builders.PROJECT[RANGPUR]) == 2 and builders.PROJECT[KURIGRAM] not in main
    other = client.get(f"/downloads/export?area=bd_district:{KURIGRAM}&period=2026-Q4"
                       "&lang=en&format=csv&form=innovation_inspection")
    assert other.status_code == 403


def test_ballot_top_five_shows_only_in_its_district(app, world, db, blobs):
    keys = [str(uuid.uuid4()) for _ in range(3)]
    builders.add_workshop(db, blobs, {keys[0]: "Ward meetings every quarter",
                                     keys[1]: "Open budget board", keys[2]: "Tax by mobile"},
                         [[keys[0], keys[1]], [keys[0]], [keys[0], keys[2]]])
    accounts.create_user(db, "do_gazipur", builders.PASSWORD, "district_officer",
                         ["bd_district:3033"])
    gazipur = builders.login(app.test_client(), "do_gazipur").get("/dashboard")
    html = gazipur.get_data(as_text=True)
    top = re.search(r'<ol class="topfive">(.*?)</ol>', html, re.S).group(1)
    assert top.index("Ward meetings every quarter") < top.index("Open budget board")
    assert "3 ballots" in html and "<strong>3</strong>" in top
    for username in ("do_rangpur", "sup_rangpur"):
        other = builders.login(app.test_client(), username).get("/dashboard").get_data(as_text=True)
        assert "Ward meetings every quarter" not in other, username
        assert "No ballots counted in this period." in other, username


def test_refusals_are_pages_of_the_site_in_the_readers_language(app, world):
    """Another district's submission (404) or an admin page (403) answers inside the usual
    layout, in Bengali for a Bengali reader, with a way back."""
    client = builders.login(app.test_client(), "do_rangpur")
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"lang": "bn", "csrf_token": token})
    other = client.get(f"/submissions/{world.first(KURIGRAM)}")
    assert other.status_code == 404
    html = other.get_data(as_text=True)
    assert "<h1>পাওয়া যায়নি</h1>" in html and "শুরুর পাতায় ফিরে যান" in html
    assert 'class="mainnav"' in html and 'class="langswitch"' in html  # the site's own page
    assert "Not found" not in html and "Back to the start page" not in html
    assert "resource.not_found" in html
    admin_only = client.get("/admin/users")
    assert admin_only.status_code == 403
    assert "<h1>অনুমতি নেই</h1>" in admin_only.get_data(as_text=True)
    english = app.test_client().get("/nowhere")  # nobody logged in: English, no menu
    assert english.status_code == 404 and "<h1>Not found</h1>" in english.get_data(as_text=True)


def test_an_error_page_that_cannot_be_drawn_falls_back_to_the_plain_one(app, monkeypatch):
    from sync_server import errors

    def broken(*_args, **_kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(errors, "render_template", broken)
    resp = app.test_client().get("/nowhere")
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "<h1>Not found</h1>" in html and "resource.not_found" in html


@pytest.mark.parametrize("path", [
    "/submissions/99999999999999999999999", "/submissions/2147483648",
    "/attachments/99999999999999999999999/desk.jpg", "/admin/app-users/99999999999999999999999",
    "/admin/app-users/99999999999999999999999/qr.png",
])
def test_an_id_too_big_for_the_database_is_not_found(app, world, path):
    admin = builders.login(app.test_client(), "admin")
    assert admin.get(path).status_code == 404


def test_list_and_bulk_review_shrug_off_ids_that_are_no_ids(app, world, db):
    sup = builders.login(app.test_client(), "sup_rangpur")
    listing_page = "/forms/innovation_inspection/submissions"
    for arg in ("after=99999999999999999999999", "before=99999999999999999999999", "after=²",
                "before=-3"):
        assert sup.get(f"{listing_page}?{arg}").status_code == 200, arg
    token = builders.csrf(sup.get(listing_page).get_data(as_text=True))
    events = db.scalar(select(func.count(AuditEvent.id)))
    refused = sup.post(f"{listing_page}/review", data={
        "csrf_token": token, "state": "approved", "ids": ["99999999999999999999999", "²"]})
    assert refused.status_code == 302
    assert "Select at least one submission to review." in sup.get(listing_page).get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(AuditEvent.id))) == events


def test_a_form_posted_without_its_session_token_says_what_to_do(app, world):
    """A review page left open across a logout posts no valid CSRF token: the answer says to
    reload and try again, not only Flask-WTF's technical sentence."""
    sup = builders.login(app.test_client(), "sup_rangpur")
    resp = sup.post(f"/submissions/{world.first(RANGPUR)}/review",
                    data={"state": "approved", "csrf_token": "stale"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "reload the page and try again" in html


def test_a_download_that_cannot_be_made_returns_to_the_form_with_the_choices(app, world):
    officer = builders.login(app.test_client(), "do_rangpur")
    resp = officer.get(f"/downloads/export?area=bd_district:{RANGPUR}&period=next+spring"
                       "&lang=bn&format=csv&form=hl_ballot")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "is not a period" in html and 'class="flash flash-error"' in html
    assert 'value="next spring"' in html  # the period as typed, to correct
    assert re.search(r'value="bn"\s+checked', html) and re.search(r'value="csv"\s+checked', html)
    assert re.search(r'<option value="hl_ballot"\s+selected>', html)
    assert re.search(rf'<option value="bd_district:{RANGPUR}"\s+selected>', html)
    no_form = officer.get(f"/downloads/export?area=bd_district:{RANGPUR}&period=2026-Q4"
                          "&lang=en&format=csv&form=")
    assert no_form.status_code == 400 and "No form with id" in no_form.get_data(as_text=True)
    other = officer.get(f"/downloads/export?area=bd_district:{KURIGRAM}&period=2026-Q4"
                        "&lang=en&format=xlsx")
    assert other.status_code == 403  # another district stays a refusal
