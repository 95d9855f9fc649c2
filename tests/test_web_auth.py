"""Logging in and out, password changes, CSRF, the login rate limit, the UI language, and the
``sangjog user`` / ``sangjog setup`` commands."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pipeline import accounts
from pipeline.models import AuditEvent, User
from sync_server.cli import cli
from tests import builders

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_pages_need_a_login(client):
    response = client.get("/forms/innovation_inspection/submissions?district=5585")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/forms/innovation_inspection/")


def test_login_then_logout(client, people, db):
    page = client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert [name for name, _ in page.headers].count("X-Frame-Options") == 1
    response = builders.login(client, "sup_rangpur").get("/dashboard")
    assert response.status_code == 200
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    user = db.scalar(select(User).where(User.username == "sup_rangpur"))
    db.refresh(user)
    assert user.last_login_at is not None
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(client, people):
    token = builders.csrf(client.get("/login").get_data(as_text=True))
    for username, password in (("sup_rangpur", "not the password"), ("nobody", "whatever12345")):
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": token})
        assert response.status_code == 401
        assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_disabled_user_cannot_log_in_and_is_logged_out(client, people, runner):
    builders.login(client, "sup_rangpur")
    result = runner.invoke(cli, args=["user", "disable", "sup_rangpur"])
    assert result.exit_code == 0, result.output
    assert client.get("/dashboard").status_code == 302
    token = builders.csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "sup_rangpur",
                                           "password": builders.PASSWORD, "csrf_token": token})
    assert response.status_code == 401


def test_post_without_csrf_token_is_refused(client, people):
    response = client.post("/login", data={"username": "sup_rangpur",
                                           "password": builders.PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_openrosa_is_exempt_from_csrf(client):
    # Collect never has a CSRF token: it gets the OpenRosa answer (a 401 challenge), not a 400.
    response = client.post("/submission", data={})
    assert response.status_code == 401
    assert "CSRF" not in response.get_data(as_text=True)


def test_login_after_a_crafted_next_stays_on_this_site(client, people):
    token = builders.csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "sup_rangpur",
                                           "password": builders.PASSWORD, "csrf_token": token,
                                           "next": "//evil.example/steal"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_attempts_are_rate_limited(app, client, people):
    app.config["LOGIN_FAILURES_PER_USER"] = "3 per minute"
    token = builders.csrf(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"username": "sup_rangpur", "password": "wrong password",
                                    "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    # Even the right password waits for the window to pass.
    response = client.post("/login", data={"username": "sup_rangpur",
                                           "password": builders.PASSWORD, "csrf_token": token})
    assert response.status_code == 429


def test_password_change_logs_out_other_sessions(app, people):
    mine, other = app.test_client(), app.test_client()
    builders.login(mine, "sup_rangpur")
    builders.login(other, "sup_rangpur")
    token = builders.csrf(mine.get("/account/password").get_data(as_text=True))
    refused = mine.post("/account/password", data={"current": "wrong", "new": "x" * 12,
                                                   "again": "x" * 12, "csrf_token": token})
    assert refused.status_code == 400
    short = mine.post("/account/password", data={"current": builders.PASSWORD, "new": "short",
                                                 "again": "short", "csrf_token": token})
    assert short.status_code == 400 and "at least 10" in short.get_data(as_text=True)
    done = mine.post("/account/password", data={"current": builders.PASSWORD,
                                                "new": "a brand new secret", "again":
                                                "a brand new secret", "csrf_token": token})
    assert done.status_code == 302
    assert mine.get("/dashboard").status_code == 200
    assert other.get("/dashboard").status_code == 302
    builders.login(other, "sup_rangpur", "a brand new secret")


def test_language_switch_shows_bengali(client, people, db):
    builders.login(client, "sup_rangpur")
    assert "Dashboard" in client.get("/dashboard").get_data(as_text=True)
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    response = client.post("/language", data={"lang": "bn", "next": "/dashboard",
                                              "csrf_token": token})
    assert response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="bn">' in page
    assert "ড্যাশবোর্ড" in page
    # Remembered for the user, so the next login is in Bengali too.
    user = db.scalar(select(User).where(User.username == "sup_rangpur"))
    db.refresh(user)
    assert user.language == "bn"


def test_user_commands(runner, db):
    session = db
    created = runner.invoke(cli, args=["user", "create", "rita", "--role", "district_officer",
                                  "--scope", "bd_district:5585", "--scope", "bd_district:5549"])
    assert created.exit_code == 0, created.output
    password = created.output.split("Password: ")[1].strip()
    assert accounts.authenticate(session, "rita", password) is not None
    listed = runner.invoke(cli, args=["user", "list"])
    assert "rita\tdistrict_officer\tbd_district:5549,bd_district:5585\tactive" in listed.output
    bad = runner.invoke(cli, args=["user", "create", "sam", "--role", "supervisor",
                              "--scope", "bd_district:99999"])
    assert bad.exit_code != 0 and "is not a scope" in bad.output
    nowhere = runner.invoke(cli, args=["user", "create", "sam", "--role", "supervisor"])
    assert nowhere.exit_code != 0 and "at least one district" in nowhere.output
    changed = runner.invoke(cli, args=["user", "passwd", "rita", "--password", "another password"])
    assert changed.exit_code == 0
    session.rollback()  # end the read transaction: see what the command committed
    assert accounts.authenticate(session, "rita", "another password") is not None
    assert runner.invoke(cli, args=["user", "disable", "rita"]).exit_code == 0
    session.rollback()  # end the read transaction: see what the command committed
    assert accounts.authenticate(session, "rita", "another password") is None
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.create", "user.password", "user.disable"]


def test_setup_publishes_new_forms_and_creates_the_first_admin(runner, db, tmp_path):
    from tests import formtools

    session = db
    formtools.publish_all(session)
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    (forms_dir / "innovation_inspection.xlsx").write_bytes(
        (formtools.XLSFORMS / "innovation_inspection.xlsx").read_bytes())
    (forms_dir / "broken.xlsx").write_bytes(b"this is not a spreadsheet")
    result = runner.invoke(cli, args=["setup", "--forms", str(forms_dir)])
    assert result.exit_code == 0, result.output
    assert "innovation_inspection.xlsx: already published" in result.output
    assert "broken.xlsx: NOT published" in result.output
    password = result.output.split("Password:")[1].split()[0]
    assert "User name: admin" in result.output and "/login" in result.output
    admin = accounts.authenticate(session, "admin", password)
    assert admin is not None and admin.role == "admin" and admin.scope == ["*"]
    again = runner.invoke(cli, args=["setup", "--forms", str(forms_dir)])
    assert "An admin exists" in again.output and "Password:" not in again.output


def test_setup_explains_an_empty_registry_and_imports_the_sample_when_asked(runner, db, tmp_path):
    from pipeline.domain.projects import list_projects

    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    told = runner.invoke(cli, args=["setup", "--forms", str(forms_dir)])  # not a terminal: no question
    assert told.exit_code == 0, told.output
    assert "registry is empty" in told.output and "sangjog projects import" in told.output
    assert "not in the list" in told.output and "Projects page" in told.output
    db.rollback()
    assert list_projects(db) == []
    sample = runner.invoke(cli, args=["setup", "--forms", str(forms_dir), "--sample-projects"])
    assert "Sample registry imported: 16 projects." in sample.output
    db.rollback()
    assert len(list_projects(db)) == 16
    quiet = runner.invoke(cli, args=["setup", "--forms", str(forms_dir)])
    assert "registry is empty" not in quiet.output  # said only while it is empty


def test_user_create_refuses_a_name_outside_the_rule(runner, db):
    for name in ("rangpur ict", "rangpur/ict", "<mina>", "-mina"):
        refused = runner.invoke(cli, args=["user", "create", "--role", "supervisor",
                                           "--scope", "bd_district:5585",
                                           "--password", builders.PASSWORD, "--", name])
        assert refused.exit_code != 0, name
        assert "letters (a-z, A-Z), digits, '.', '_', '-' or '@'" in refused.output
    assert db.scalar(select(User.id)) is None
    good = runner.invoke(cli, args=["user", "create", "rita.das@dc-rangpur", "--role", "supervisor",
                                    "--scope", "bd_district:5585", "--password", builders.PASSWORD])
    assert good.exit_code == 0, good.output
