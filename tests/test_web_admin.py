"""Admins' pages: publishing XLSForms (errors by sheet and row), form states, web users and
their areas, app users with Collect QR codes, and sync health."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from pipeline import accounts
from pipeline.models import AppUser, Form, PullRun, Source, Submission, User, utcnow
from sync_server import qr
from tests import builders
from tests.admin_pages import upload, xlsform
from tests.builders import RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
ADMIN_PAGES = ("/admin/forms", "/admin/users", "/admin/app-users",
               "/admin/places/local-levels.json")


def test_only_admins_reach_admin_pages(app, people, admin):
    supervisor = builders.login(app.test_client(), "sup_rangpur")
    for page in ADMIN_PAGES:
        assert admin.get(page).status_code == 200, page
        assert supervisor.get(page).status_code == 403, page
    # Sync health: supervisors see it for their areas (tests/test_web_sync_health.py)
    assert admin.get("/admin/health").status_code == 200
    assert supervisor.get("/admin/health").status_code == 200
    assert app.test_client().get("/admin/forms").status_code == 302


def test_broken_xlsform_shows_errors_by_sheet_and_row(people, admin, db):
    broken = xlsform([["text", "name", "Name"], ["select_one colours", "colour", "Colour"]],
                     [["sizes", "s", "Small"]])
    response = upload(admin, broken)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "web_check.xlsx was not published" in html
    assert "<td>survey</td><td>3</td>" in html and "colours" in html
    assert db.scalar(select(Form).where(Form.xml_form_id == "web_check")) is None


def test_upload_publishes_a_version_then_states_change(people, admin, db):
    good = xlsform([["text", "visitor", "Visitor"]])
    response = upload(admin, good)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = admin.get("/admin/forms").get_data(as_text=True)
    assert "Published web_check version 1." in page
    form = db.scalar(select(Form).where(Form.xml_form_id == "web_check"))
    assert [v.version for v in form.versions] == ["1"] and form.versions[0].published_by == "admin"
    clash = upload(admin, xlsform([["integer", "visitors", "Visitors"]]))
    assert clash.status_code == 409 and "raise the version" in clash.get_data(as_text=True)
    token = builders.csrf(page)
    admin.post("/admin/forms/web_check/state", data={"state": "closing", "csrf_token": token})
    db.rollback()
    assert db.scalar(select(Form.state).where(Form.xml_form_id == "web_check")) == "closing"
    bad = admin.post("/admin/forms/web_check/state", data={"state": "gone", "csrf_token": token})
    assert bad.status_code == 400


def test_create_user_with_generated_password_and_change_access(app, people, admin, db):
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    response = admin.post("/admin/users", data={
        "csrf_token": token, "username": "mina", "display_name": "Mina Akter",
        "role": "district_officer", "scope": [f"bd_district:{RANGPUR}"], "password": ""})
    assert response.status_code == 302
    page = admin.get("/admin/users").get_data(as_text=True)
    password = page.split("(shown once): ")[1].split("<")[0].strip()
    assert "Rangpur" in page and "Mina Akter" in page
    mina = builders.login(app.test_client(), "mina", password)
    assert mina.get("/dashboard").status_code == 200
    nowhere = admin.post("/admin/users", data={"csrf_token": token, "username": "rafi",
                                               "role": "supervisor", "password": ""})
    assert nowhere.status_code == 400 and "at least one district" in nowhere.get_data(as_text=True)
    unknown = admin.post("/admin/users", data={"csrf_token": token, "username": "rafi",
                                               "role": "supervisor", "scope": ["bd_district:9999"]})
    assert unknown.status_code == 400 and "not in the location lists" in unknown.get_data(as_text=True)
    admin.post("/admin/users/mina/access", data={"csrf_token": token, "role": "supervisor",
                                                 "scope": ["bd_division:55"]})
    db.rollback()
    user = db.scalar(select(User).where(User.username == "mina"))
    assert (user.role, user.scope) == ("supervisor", ["bd_division:55"])
    admin.post("/admin/users/mina/active", data={"csrf_token": token, "active": "0"})
    assert mina.get("/dashboard").status_code == 302  # logged out at once
    itself = admin.post("/admin/users/admin/active", data={"csrf_token": token, "active": "0"})
    assert itself.status_code == 400


def test_app_user_qr_code_and_revoke(world, admin, db):
    token = builders.csrf(admin.get("/admin/app-users").get_data(as_text=True))
    response = admin.post("/admin/app-users", data={"csrf_token": token, "name": "Rangpur team",
                                                    "forms": ["innovation_inspection"]})
    assert response.status_code == 302
    app_user = db.scalar(select(AppUser).where(AppUser.name == "Rangpur team"))
    assert app_user.forms == ["innovation_inspection"]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/key/{app_user.token}" in page
    # Its forms by title, not by id, here and in the list (and in Bengali for a Bengali reader).
    assert "Innovation project inspection" in page and "innovation_inspection<" not in page
    listed = admin.get("/admin/app-users").get_data(as_text=True).split("<tbody>")[1]
    assert "<summary>Innovation project inspection</summary>" in listed
    admin.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "উদ্ভাবন প্রকল্প পরিদর্শন" in bengali
    admin.post("/language", data={"lang": "en", "csrf_token": token})
    png = admin.get(f"/admin/app-users/{app_user.id}/qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert png.data == qr.app_user_qr("http://localhost", app_user.token, "Sangjog · Rangpur team")
    unknown = admin.post("/admin/app-users", data={"csrf_token": token, "name": "x",
                                                   "forms": ["no_such_form"]})
    assert unknown.status_code == 404
    admin.post(f"/admin/app-users/{app_user.id}/revoke", data={"csrf_token": token})
    db.rollback()
    assert db.get(AppUser, app_user.id).revoked_at is not None
    assert admin.get(f"/admin/app-users/{app_user.id}/qr.png").status_code == 404
    assert admin.get(f"/key/{app_user.token}/formList").status_code == 403


def test_sync_health_lists_failures_and_pull_runs(world, admin, db):
    failed = db.get(Submission, world.first(RANGPUR))
    failed.parse_status, failed.parse_error_code = "failed", "submission.unparsable"
    failed.parse_error = "progress 'lots' is not a number"
    form = db.scalar(select(Form).where(Form.xml_form_id == "innovation_inspection"))
    source = Source(name="kobo-rangpur", kind="kobo", url="http://127.0.0.1:9/", secret="s3cret",
                    remote_form="aBcD", form_id=form.id)
    db.add(source)
    db.flush()
    db.add(PullRun(source_id=source.id, kind="kobo", status="failed", finished_at=utcnow(),
                   new=3, errors=1, message="KoBo answered 502 Bad Gateway"))
    db.commit()
    html = admin.get("/admin/health").get_data(as_text=True)
    assert "progress &#39;lots&#39; is not a number" in html
    assert "submission.unparsable" in html
    assert "kobo-rangpur" in html and "KoBo answered 502 Bad Gateway" in html
    assert "3 new, 0 updated, 1 errors" in html
    assert "s3cret" not in html
    assert '<span class="badge run-failed">failed</span>' in html
    assert '<span class="badge run-ok">read</span>' in html
    admin.post("/language", data={"lang": "bn", "csrf_token": builders.csrf(html)})
    bengali = admin.get("/admin/health").get_data(as_text=True)
    assert '<span class="badge run-failed">ব্যর্থ</span>' in bengali  # the pull run
    assert '<span class="badge run-ok">পড়া হয়েছে</span>' in bengali  # a submission read


def test_add_user_and_app_user_forms_keep_what_was_typed_after_an_error(world, admin):
    """A refused new user keeps its role and areas; a refused app user its name and forms."""
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    taken = admin.post("/admin/users", data={
        "csrf_token": token, "username": "sup_rangpur", "display_name": "Second Rangpur",
        "role": "supervisor", "scope": [f"bd_district:{RANGPUR}", "bd_division:55"]})
    assert taken.status_code == 409
    form = taken.get_data(as_text=True).split('id="new-user"')[1]
    assert 'value="Second Rangpur"' in form
    assert re.search(r'<option value="supervisor"\s+selected>', form)
    assert not re.search(r'<option value="district_officer"\s+selected>', form)
    assert re.search(rf'<option value="bd_district:{RANGPUR}"\s+selected>', form)
    assert re.search(r'<option value="bd_division:55"\s+selected>', form)
    assert len(re.findall(r"\sselected>", form)) == 3

    token = builders.csrf(admin.get("/admin/app-users").get_data(as_text=True))
    long_name = "Rangpur team " + "x" * 200
    refused = admin.post("/admin/app-users", data={"csrf_token": token, "name": long_name,
                                                    "forms": ["hl_ballot", "hl_nomination"]})
    assert refused.status_code == 400
    form = refused.get_data(as_text=True).split('id="new-app-user"')[1]
    assert f'value="{long_name}"' in form
    assert re.search(r'value="hl_ballot"\s+checked>', form)
    assert re.search(r'value="hl_nomination"\s+checked>', form)
    assert len(re.findall(r"\schecked>", form)) == 2


def test_areas_read_as_words_in_the_readers_language(world, admin):
    """The People page names areas, never codes or English level names in Bengali."""
    english = admin.get("/admin/users").get_data(as_text=True)
    assert "Rangpur (division)" in english  # sup_division's area
    assert re.search(r'<option value="\*"\s*>All areas</option>', english)
    token = builders.csrf(english)
    admin.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = admin.get("/admin/users").get_data(as_text=True)
    assert "রংপুর (বিভাগ)" in bengali
    assert re.search(r'<option value="\*"\s*>সব এলাকা</option>', bengali)
    assert "অ্যাডমিন · সব এলাকা" in bengali
    assert "(division)" not in bengali and "(province)" not in bengali
    assert " · *" not in bengali


def test_refused_new_users_explain_themselves_in_the_readers_language(world, admin):
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    admin.post("/language", data={"lang": "bn", "csrf_token": token})
    nowhere = admin.post("/admin/users", data={"csrf_token": token, "username": "rafi",
                                               "role": "supervisor"})
    html = nowhere.get_data(as_text=True)
    assert nowhere.status_code == 400
    assert "অন্তত একটি জেলা, বিভাগ বা প্রদেশ দিন" in html and "Give the user" not in html
    short = admin.post("/admin/users", data={"csrf_token": token, "username": "rafi",
                                             "role": "supervisor", "password": "short",
                                             "scope": [f"bd_district:{RANGPUR}"]})
    assert "পাসওয়ার্ডে অন্তত 10টি অক্ষর থাকতে হবে।" in short.get_data(as_text=True)


def test_a_file_that_is_no_workbook_is_refused_with_one_clear_sentence(people, admin, db):
    response = upload(admin, b"PK but not really a zip", "broken.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "broken.xlsx was not published" in html
    assert html.count("could not be read as an XLSForm workbook") == 1  # not again in a table
    assert "<th>Sheet</th>" not in html.split('id="form-errors"')[1].split("</div>")[0]


def test_a_user_whose_name_has_a_slash_can_still_be_managed(world, admin, db):
    """A name made before the user name rule may hold any character; the People page's own
    links must still reach every one of them."""
    db.add(User(username="rangpur/ict cell", display_name="rangpur/ict cell",
                password_hash=accounts.hash_password(builders.PASSWORD), role="supervisor",
                scope=[f"bd_district:{RANGPUR}"]))
    db.commit()
    html = admin.get("/admin/users").get_data(as_text=True)
    token = builders.csrf(html)
    actions = re.findall(r'action="(/admin/users/rangpur[^"]*/(?:access|active))"', html)
    assert len(actions) == 2, actions
    access, active = sorted(actions)
    assert admin.post(access, data={"csrf_token": token, "role": "district_officer",
                                    "scope": ["bd_division:55"]}).status_code == 302
    assert admin.post(active, data={"csrf_token": token, "active": "0"}).status_code == 302
    db.rollback()
    user = db.scalar(select(User).where(User.username == "rangpur/ict cell"))
    assert (user.role, user.scope, user.active) == ("district_officer", ["bd_division:55"], False)


def test_a_user_name_outside_the_rule_is_refused_and_the_form_keeps_its_input(world, admin, db):
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    for name in ("rangpur ict", "rangpur/ict", "<b>mina</b>", ".mina"):
        refused = admin.post("/admin/users", data={
            "csrf_token": token, "username": name, "display_name": "Mina Akter",
            "role": "supervisor", "scope": [f"bd_district:{RANGPUR}"]})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400, name
        assert "letters (a-z, A-Z), digits, &#39;.&#39;, &#39;_&#39;, &#39;-&#39; or &#39;@&#39;" \
            in html
        form = html.split('id="new-user"')[1]
        assert 'value="Mina Akter"' in form
        assert re.search(r'<option value="supervisor"\s+selected>', form)
        assert re.search(rf'<option value="bd_district:{RANGPUR}"\s+selected>', form)
    assert 'value="rangpur ict"' in admin.post("/admin/users", data={
        "csrf_token": token, "username": "rangpur ict", "role": "supervisor",
        "scope": [f"bd_district:{RANGPUR}"]}).get_data(as_text=True).split('id="new-user"')[1]
    assert "&lt;b&gt;mina" in html or ".mina" in html  # escaped, never markup
    assert "<b>mina</b>" not in html
    db.rollback()
    assert db.scalar(select(User.id).where(User.display_name == "Mina Akter")) is None
    admin.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = admin.post("/admin/users", data={"csrf_token": token, "username": "mina akter",
                                               "role": "supervisor",
                                               "scope": [f"bd_district:{RANGPUR}"]})
    assert bengali.status_code == 400
    assert "শুরু হয় বর্ণ বা অঙ্ক দিয়ে" in bengali.get_data(as_text=True)
    admin.post("/language", data={"lang": "en", "csrf_token": token})
    good = admin.post("/admin/users", data={"csrf_token": token, "username": "mina.akter@dc-rangpur",
                                            "role": "supervisor", "password": builders.PASSWORD,
                                            "scope": [f"bd_district:{RANGPUR}"]})
    assert good.status_code == 302


def _forms_of_row(html: str, app_user_id: int) -> str:
    return html.split(f'id="app-user-forms-{app_user_id}"')[1].split("</form>")[0]


def _form_list(client, token: str) -> list[str]:
    response = client.get(f"/key/{token}/formList")
    assert response.status_code == 200
    return re.findall(r"<formID>([^<]+)</formID>", response.get_data(as_text=True))


def test_admin_changes_an_app_users_forms(world, admin, db):
    app_user = accounts.create_app_user(db, "Gazipur team", ["hl_ballot"], actor="admin")
    app_user_id, key = app_user.id, app_user.token
    assert _form_list(admin, key) == ["hl_ballot"]
    html = admin.get("/admin/app-users").get_data(as_text=True)
    row = _forms_of_row(html, app_user_id)
    assert f'action="/admin/app-users/{app_user_id}/forms"' in html
    assert re.search(r'value="hl_ballot"\s+checked>', row) and len(re.findall(r"\schecked>", row)) == 1
    assert "Innovation project inspection" in row  # titles, not ids
    token = builders.csrf(html)
    url = f"/admin/app-users/{app_user_id}/forms"

    # No CSRF token: refused, nothing changes.
    assert admin.post(url, data={"forms": ["hl_nomination"]}).status_code == 400
    assert _form_list(admin, key) == ["hl_ballot"]

    changed = admin.post(url, data={"csrf_token": token,
                                    "forms": ["hl_nomination", "innovation_inspection"]})
    assert changed.status_code == 302
    assert "The forms of Gazipur team are changed" in admin.get("/admin/app-users").get_data(
        as_text=True)
    assert _form_list(admin, key) == ["hl_nomination", "innovation_inspection"]
    db.rollback()
    assert db.scalar(select(AppUser.forms).where(AppUser.id == app_user_id)) == ["hl_nomination", "innovation_inspection"]

    # An unknown form: refused by name, the row's choices kept as they were sent.
    refused = admin.post(url, data={"csrf_token": token, "forms": ["hl_ballot", "no_such_form"]})
    assert refused.status_code == 404
    html = refused.get_data(as_text=True)
    assert "no_such_form" in html
    row = _forms_of_row(html, app_user_id)
    assert re.search(r'value="hl_ballot"\s+checked>', row) and len(re.findall(r"\schecked>", row)) == 1
    assert re.search(rf'<details open>\s*<summary>[^<]*</summary>\s*<form method="post" '
                     rf'action="{url}"', html)
    assert _form_list(admin, key) == ["hl_nomination", "innovation_inspection"]

    # None ticked: every open form.
    assert admin.post(url, data={"csrf_token": token}).status_code == 302
    listed = _form_list(admin, key)
    assert {"hl_ballot", "hl_nomination", "innovation_inspection"} <= set(listed)
    assert len(listed) == 5

    # In Bengali, the choices are the forms' Bengali titles.
    admin.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = _forms_of_row(admin.get("/admin/app-users").get_data(as_text=True), app_user_id)
    assert "উদ্ভাবন প্রকল্প পরিদর্শন" in bengali and "ফরম সংরক্ষণ" in bengali
    admin.post("/language", data={"lang": "en", "csrf_token": token})

    # A revoked app user's forms cannot be changed.
    accounts.revoke_app_user(db, "Gazipur team", actor="admin")
    assert admin.post(url, data={"csrf_token": token, "forms": ["hl_ballot"]}).status_code == 404
    db.rollback()
    assert db.scalar(select(AppUser.forms).where(AppUser.id == app_user_id)) == []


def test_app_user_area_on_the_people_page(world, admin, db):
    token = builders.csrf(admin.get("/admin/app-users").get_data(as_text=True))
    response = admin.post("/admin/app-users", data={"csrf_token": token, "name": "Rangpur team",
                                                    "scope": [f"bd_district:{RANGPUR}"]})
    assert response.status_code == 302
    app_user = db.scalar(select(AppUser).where(AppUser.name == "Rangpur team"))
    assert app_user.scope == [f"bd_district:{RANGPUR}"]
    listed = admin.get("/admin/app-users").get_data(as_text=True).split("<tbody>")[1]
    assert "<summary>Rangpur</summary>" in listed
    admin.post(f"/admin/app-users/{app_user.id}/scope",
               data={"csrf_token": token, "scope": ["bd_division:55"]})
    db.commit()  # a fresh read
    assert db.get(AppUser, app_user.id, populate_existing=True).scope == ["bd_division:55"]
    assert "<summary>Rangpur (division)</summary>" in admin.get("/admin/app-users").get_data(
        as_text=True)
    unknown = admin.post(f"/admin/app-users/{app_user.id}/scope",
                         data={"csrf_token": token, "scope": ["bd_district:9999"]})
    assert unknown.status_code == 400
    admin.post(f"/admin/app-users/{app_user.id}/scope", data={"csrf_token": token})
    db.commit()
    assert db.get(AppUser, app_user.id, populate_existing=True).scope == []
    assert "<summary>All areas</summary>" in admin.get("/admin/app-users").get_data(as_text=True)


def test_pull_now_runs_a_source_in_the_background_for_admins_only(app, world, admin, db):
    import time

    from tests.connector_helpers import served
    from tests.fakes.kobo_server import FakeKobo

    form = builders.publish(db, "site_visit").form
    with served(FakeKobo()) as fake:
        fake.add(builders.site_visit("uuid:from-the-page"))
        source = Source(name="kobo-web", kind="kobo", url=fake.url, secret=fake.token,
                        remote_form=fake.asset, form_id=form.id)
        db.add(source)
        db.commit()
        page = admin.get("/admin/health").get_data(as_text=True)
        assert "Pull now" in page
        supervisor = builders.login(app.test_client(), "sup_rangpur")
        own = supervisor.get("/", follow_redirects=True).get_data(as_text=True)
        refused = supervisor.post(f"/admin/sources/{source.id}/pull",
                                  data={"csrf_token": builders.csrf(own)})
        assert refused.status_code == 403 and not db.scalars(select(PullRun)).all()
        started = admin.post(f"/admin/sources/{source.id}/pull",
                             data={"csrf_token": builders.csrf(page)}, follow_redirects=True)
        assert "Pulling kobo-web in the background" in started.get_data(as_text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded polling for the background run
            db.rollback()
            run = db.scalar(select(PullRun).where(PullRun.source_id == source.id))
            if run is not None and run.status != "running":
                break
            time.sleep(0.05)
        assert (run.status, run.new, run.loaded) == ("ok", 1, 1)
        html = admin.get("/admin/health").get_data(as_text=True)
        assert "1 new, 0 updated, 0 errors; 1 loaded, 0 not loaded" in html
        # A pull already holding the source: no second one is started.
        source = db.get(Source, source.id)
        source.pull_run_id, source.pull_heartbeat = run.id, utcnow()
        db.commit()
        busy = admin.post(f"/admin/sources/{source.id}/pull",
                          data={"csrf_token": builders.csrf(html)}, follow_redirects=True)
        assert "A pull of kobo-web is already running." in busy.get_data(as_text=True)
        db.rollback()
        assert len(db.scalars(select(PullRun)).all()) == 1
