"""Web sessions as an attacker holding a copied cookie tries them: after logout, a new password,
disabling or an admin's "sign out everywhere", the copy opens nothing; the cookie itself says
nothing readable."""

from __future__ import annotations

import base64
import binascii
import contextlib
from datetime import timedelta

import pytest

from pipeline import accounts, web_sessions
from sync_server.cli import cli
from tests import builders

pytestmark = pytest.mark.usefixtures("fast_hashing")


def cookie(client) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def with_cookie(app, value: str):
    thief = app.test_client()
    thief.set_cookie("session", value, domain="localhost")
    return thief


def opens_dashboard(client) -> bool:
    response = client.get("/dashboard")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, world):
    victim = builders.login(app.test_client(), "sup_rangpur")
    copied = cookie(victim)
    assert opens_dashboard(with_cookie(app, copied))
    token = builders.csrf(victim.get("/dashboard").get_data(as_text=True))
    assert victim.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not opens_dashboard(with_cookie(app, copied))
    assert not opens_dashboard(victim)


def test_logout_ends_only_that_browsers_session(app, world):
    office, home = (builders.login(app.test_client(), "sup_rangpur") for _ in range(2))
    token = builders.csrf(office.get("/dashboard").get_data(as_text=True))
    office.post("/logout", data={"csrf_token": token})
    assert not opens_dashboard(office)
    assert opens_dashboard(home)


def test_disable_and_sign_out_everywhere_end_every_session_at_once(app, world, db, runner):
    admin = builders.login(app.test_client(), "admin")
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    copies = [cookie(builders.login(app.test_client(), "sup_rangpur")) for _ in range(3)]
    assert all(opens_dashboard(with_cookie(app, c)) for c in copies)
    response = admin.post("/admin/users/sup_rangpur/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert not any(opens_dashboard(with_cookie(app, c)) for c in copies)
    assert opens_dashboard(admin)  # only that user's sessions

    again = cookie(builders.login(app.test_client(), "sup_rangpur"))
    admin.post("/admin/users/sup_rangpur/active", data={"csrf_token": token, "active": "0"})
    admin.post("/admin/users/sup_rangpur/active", data={"csrf_token": token, "active": "1"})
    assert not opens_dashboard(with_cookie(app, again))  # enabling does not bring it back

    once_more = cookie(builders.login(app.test_client(), "sup_rangpur"))
    result = runner.invoke(cli, args=["user", "sign-out", "sup_rangpur"])
    assert result.exit_code == 0 and "signed out of 1 session" in result.output
    assert not opens_dashboard(with_cookie(app, once_more))


def test_a_new_password_set_by_an_admin_ends_every_session(app, world, db, runner):
    copied = cookie(builders.login(app.test_client(), "sup_rangpur"))
    result = runner.invoke(cli, args=["user", "passwd", "sup_rangpur", "--password",
                                      "a brand new secret"])
    assert result.exit_code == 0, result.output
    assert not opens_dashboard(with_cookie(app, copied))


def test_a_session_ends_after_its_lifetime(app, world, db):
    user = accounts.authenticate(db, "sup_rangpur", builders.PASSWORD)
    live = web_sessions.start(db, user)
    stale = web_sessions.start(db, user, lifetime=timedelta(seconds=-1))
    assert web_sessions.user_for(db, live).username == "sup_rangpur"
    assert web_sessions.user_for(db, stale) is None
    assert web_sessions.user_for(db, "made-up") is None


def test_the_cookie_is_sealed_and_says_nothing_readable(app, world):
    admin = builders.login(app.test_client(), "admin")
    token = builders.csrf(admin.get("/admin/users").get_data(as_text=True))
    # A generated password is flashed once: it travels in the cookie until the next page.
    admin.post("/admin/users", data={"csrf_token": token, "username": "rafi",
                                     "role": "supervisor", "scope": ["bd_district:5585"]})
    value = cookie(admin)
    readable = value.encode()
    for chunk in value.replace("-", "+").replace("_", "/").split("."):
        with contextlib.suppress(binascii.Error, ValueError):
            readable += base64.b64decode(chunk + "=" * (-len(chunk) % 4))
    for secret in (b"user_id", b"admin", b"password", b"csrf", b"rafi", b"_flashes", b"lang"):
        assert secret not in readable.lower(), secret
    # A cookie changed by one character, or one signed the old way, is no session at all.
    forged = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert not opens_dashboard(with_cookie(app, forged))
    assert "Their password (shown once)" in admin.get("/admin/users").get_data(as_text=True)
