"""Accounts and ``sangjog app-user``: keys, QR codes in Collect's format, revoking."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy
import png
import pytest
import zxingcpp
from sqlalchemy import select

from pipeline import accounts
from pipeline.models import AppUser, AuditEvent, User
from pipeline.problems import Problem
from sync_server import create_app, qr
from sync_server.cli import cli
from tests import builders
from tests.live_server import ROOT, SERVE

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_passwords_are_argon2_and_verify(session):
    hashed = accounts.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert accounts.verify_password(hashed, "correct horse battery")
    assert not accounts.verify_password(hashed, "wrong horse battery")
    assert not accounts.verify_password("not a hash", "anything")


COSTS = ("PASSWORD_HASH_TIME_COST", "PASSWORD_HASH_MEMORY_MB", "PASSWORD_HASH_PARALLELISM")


@contextmanager
def _server(data: Path, database_url: str | None = None, **settings):
    """An app as ``sangjog`` commands make it, with these settings (and the environment's)."""
    from pipeline.db import writer_for

    made = create_app({"SANGJOG_DATA_DIR": str(data), "SECRET_KEY": "x",
                       **({"DATABASE_URL": database_url} if database_url else {"AUTO_MIGRATE": False}),
                       **settings}, http=False)
    try:
        yield made
    finally:
        writer_for(made.extensions["engine"]).close()
        made.extensions["engine"].dispose()


def _cost(password_hash: str) -> str:
    return password_hash.split("$")[3]


def test_passwords_cost_what_the_settings_say_and_strong_by_default(tmp_path, monkeypatch):
    """argon2id with RFC 9106's second choice unless a deployment says otherwise, in its
    environment or in the app's settings; a cost argon2 cannot run stops the start."""
    for name in COSTS:
        monkeypatch.delenv(name, raising=False)
    with _server(tmp_path):
        assert _cost(accounts.hash_password("correct horse battery")) == "m=65536,t=3,p=4"
    with _server(tmp_path, PASSWORD_HASH_TIME_COST=2, PASSWORD_HASH_MEMORY_MB=2,
                 PASSWORD_HASH_PARALLELISM=1):
        assert _cost(accounts.hash_password("correct horse battery")) == "m=2048,t=2,p=1"
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_MB", "3")
    with _server(tmp_path):
        assert _cost(accounts.hash_password("correct horse battery")) == "m=3072,t=3,p=4"
    for wrong in ({"PASSWORD_HASH_TIME_COST": 0}, {"PASSWORD_HASH_MEMORY_MB": 0},
                  {"PASSWORD_HASH_PARALLELISM": 0}, {"PASSWORD_HASH_TIME_COST": "three"},
                  {"PASSWORD_HASH_MEMORY_MB": 1, "PASSWORD_HASH_PARALLELISM": 129}):
        with pytest.raises(Problem, match="PASSWORD_HASH_") as refused:
            create_app({"SANGJOG_DATA_DIR": str(tmp_path), "AUTO_MIGRATE": False, **wrong})
        assert refused.value.code == "config.bad_setting"


def test_a_mistyped_setting_stops_a_command_with_its_name_not_a_traceback(tmp_path):
    env = {**os.environ, "SANGJOG_DATA_DIR": str(tmp_path), "PASSWORD_HASH_TIME_COST": "three"}
    told = subprocess.run([sys.executable, "-m", "sync_server.cli", "forms", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert told.returncode == 1
    assert "PASSWORD_HASH_TIME_COST = three cannot be used: it must be a whole number" in told.stderr
    assert "Traceback" not in told.stderr
    env["PASSWORD_HASH_TIME_COST"] = "0"
    told = subprocess.run([sys.executable, "-m", "sync_server.cli", "forms", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert told.returncode == 1 and "Traceback" not in told.stderr
    assert "argon2 needs at least 1 pass" in told.stderr


def test_a_password_made_at_another_cost_logs_in_and_is_hashed_again(database_url, tmp_path):
    """A deployment raises the cost: old passwords still work, each hashed at the new cost at
    its user's next login; a wrong password changes nothing."""
    cheap = dict.fromkeys(COSTS, 1)
    with _server(tmp_path, database_url, **cheap) as before, \
            before.extensions["sessions"]() as session:
        accounts.create_user(session, "mina", "correct horse battery", "admin")
        assert _cost(session.scalar(select(User.password_hash))) == "m=1024,t=1,p=1"
    with _server(tmp_path, database_url, **{**cheap, "PASSWORD_HASH_TIME_COST": 2}) as after, \
            after.extensions["sessions"]() as session:
        assert accounts.authenticate(session, "mina", "wrong horse battery") is None
        assert _cost(session.scalar(select(User.password_hash))) == "m=1024,t=1,p=1"
        assert accounts.authenticate(session, "mina", "correct horse battery") is not None
        session.expire_all()
        assert _cost(session.scalar(select(User.password_hash))) == "m=1024,t=2,p=1"
        assert accounts.authenticate(session, "mina", "correct horse battery") is not None


def test_create_user_checks_role_name_and_password(session):
    user = accounts.create_user(session, "admin1", "a long password", "admin")
    assert accounts.authenticate(session, "admin1", "a long password") == user
    assert accounts.authenticate(session, "admin1", "wrong password") is None
    for args, code in [
        (("admin1", "another password", "admin"), "user.exists"),
        (("x", "another password", "emperor"), "user.invalid_role"),
        (("y", "short", "admin"), "user.weak_password"),
        (("u" * 81, "another password", "admin"), "user.invalid"),
    ]:
        with pytest.raises(Problem) as refused:
            accounts.create_user(session, *args)
        assert refused.value.code == code


@pytest.mark.parametrize("name", ["", "   ", "rangpur ict", "rangpur/ict", "<b>mina</b>",
                                  ".mina", "_mina", "-mina", "@mina", "mina!", "mi\nna",
                                  "মিনা", "u" * 81])
def test_user_names_outside_the_rule_are_refused(session, name):
    with pytest.raises(Problem) as refused:
        accounts.create_user(session, name, "a long password", "supervisor")
    assert (refused.value.code, refused.value.status) == ("user.invalid", 400)
    assert "letters (a-z, A-Z), digits, '.', '_', '-' or '@'" in refused.value.message
    assert session.scalar(select(User.id)) is None


def test_user_names_inside_the_rule_are_accepted(session):
    for name in ("mina", "Mina.Akter", "dc_rangpur-1", "mina@dc-rangpur.gov.bd", "7up", "u" * 80):
        user = accounts.create_user(session, name, "a long password", "supervisor")
        assert user.username == name
    assert accounts.create_user(session, "  padded  ", "a long password", "admin").username == \
        "padded"


def test_set_app_user_forms_changes_the_phones_form_list(session, client):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="market_visit", title="Market visit")
    app_user = accounts.create_app_user(session, "team-a", ["site_visit"], actor="admin")

    def listed() -> list[str]:
        response = client.get(f"/key/{app_user.token}/formList")
        assert response.status_code == 200
        return re.findall(r"<formID>([^<]+)</formID>", response.get_data(as_text=True))

    assert listed() == ["site_visit"]
    assert client.get(f"/key/{app_user.token}/formXml/market_visit").status_code == 403
    accounts.set_app_user_forms(session, app_user, ["market_visit"], "admin")
    assert listed() == ["market_visit"]
    assert client.get(f"/key/{app_user.token}/formXml/market_visit").status_code == 200
    assert client.get(f"/key/{app_user.token}/formXml/site_visit").status_code == 403
    accounts.set_app_user_forms(session, app_user, [], "admin")  # every open form
    assert listed() == ["market_visit", "site_visit"]
    with pytest.raises(Problem) as unknown:
        accounts.set_app_user_forms(session, app_user, ["site_visit", "nope", "gone"], "admin")
    assert unknown.value.status == 404
    assert "'gone'" in unknown.value.message and "'nope'" in unknown.value.message
    assert "'site_visit'" not in unknown.value.message
    session.expire_all()
    assert session.get(AppUser, app_user.id).forms == []  # unchanged by the refusal
    assert listed() == ["market_visit", "site_visit"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "app_user.forms")
                             .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.details) for e in events] == [
        ("admin", {"name": "team-a", "before": ["site_visit"], "after": ["market_visit"]}),
        ("admin", {"name": "team-a", "before": ["market_visit"], "after": []}),
    ]
    accounts.revoke_app_user(session, "team-a", actor="admin")
    with pytest.raises(Problem) as revoked:
        accounts.set_app_user_forms(session, app_user, ["site_visit"], "admin")
    assert revoked.value.status == 404


def test_cli_forms_changes_an_app_users_forms(runner, client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="market_visit", title="Market visit")
    assert runner.invoke(cli, args=["app-user", "create", "team-a", "--forms", "site_visit",
                                    "--server-url", "http://h:5000"]).exit_code == 0
    token = session.scalar(select(AppUser.token))

    def listed() -> list[str]:
        body = client.get(f"/key/{token}/formList").get_data(as_text=True)
        return re.findall(r"<formID>([^<]+)</formID>", body)

    changed = runner.invoke(cli, args=["app-user", "forms", "team-a", "--forms", "market_visit"])
    assert changed.exit_code == 0, changed.output
    assert "may now fill: market_visit" in changed.output
    assert listed() == ["market_visit"]
    every = runner.invoke(cli, args=["app-user", "forms", "team-a", "--forms", ""])
    assert every.exit_code == 0 and "all open forms" in every.output
    assert listed() == ["market_visit", "site_visit"]
    unknown = runner.invoke(cli, args=["app-user", "forms", "team-a", "--forms", "site_visit,nope"])
    assert unknown.exit_code != 0 and "'nope'" in unknown.output
    assert listed() == ["market_visit", "site_visit"]
    missing = runner.invoke(cli, args=["app-user", "forms", "team-z", "--forms", ""])
    assert missing.exit_code != 0 and "team-z" in missing.output
    forgotten = runner.invoke(cli, args=["app-user", "forms", "team-a"])  # --forms is required
    assert forgotten.exit_code != 0
    assert listed() == ["market_visit", "site_visit"]


def test_app_user_keys_are_random_and_names_unique_among_active(session):
    builders.publish(session, "site_visit")
    one = accounts.create_app_user(session, "team-a", ["site_visit"], actor="admin")
    assert len(one.token) >= 43 and one.forms == ["site_visit"]
    with pytest.raises(Problem) as duplicate:
        accounts.create_app_user(session, "team-a", [], actor="admin")
    assert duplicate.value.status == 409
    with pytest.raises(Problem) as unknown:
        accounts.create_app_user(session, "team-b", ["no_such_form"], actor="admin")
    assert unknown.value.status == 404
    with pytest.raises(Problem) as too_long:
        accounts.create_app_user(session, "n" * 201, [], actor="admin")
    assert too_long.value.status == 400
    accounts.revoke_app_user(session, "team-a", actor="admin")
    two = accounts.create_app_user(session, "team-a", [], actor="admin")  # the name is free again
    assert two.token != one.token
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["app_user.create", "app_user.revoke", "app_user.create"]


def test_settings_payload_is_collects_format():
    payload = qr.encode_settings(qr.collect_settings("https://s.example/key/abc", "Sangjog (x)"))
    settings = qr.decode_settings(payload)
    assert settings == {
        "general": {"server_url": "https://s.example/key/abc", "form_update_mode": "match_exactly",
                    "autosend": "wifi_and_cellular"},
        "admin": {},
        "project": {"name": "Sangjog (x)"},
    }
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", payload)


def _png_size(path) -> tuple[int, int]:
    width, height, _rows, _info = png.Reader(filename=str(path)).read()
    return width, height


def _scan(path) -> dict:
    """Read the QR code in the PNG back, as Collect's scanner would, and decode the settings."""
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    pixels = numpy.array([list(row)[::planes] for row in rows], dtype=numpy.uint8)
    if info["bitdepth"] == 1:
        pixels = pixels * 255
    (code,) = zxingcpp.read_barcodes(pixels)
    return qr.decode_settings(code.text)


def test_cli_create_prints_the_url_and_writes_a_qr_code(runner, session, tmp_path):
    builders.publish(session, "site_visit")
    out = tmp_path / "team-a.png"
    result = runner.invoke(cli, args=["app-user", "create", "team-a", "--forms", "site_visit",
                                 "--server-url", "http://192.168.1.10:5000/", "-o", str(out)])
    assert result.exit_code == 0, result.output
    token = session.scalar(select(AppUser.token).where(AppUser.name == "team-a"))
    assert f"http://192.168.1.10:5000/key/{token}" in result.output
    width, height = _png_size(out)
    assert width == height and width > 200
    settings = _scan(out)
    assert settings["general"]["server_url"] == f"http://192.168.1.10:5000/key/{token}"
    assert settings["general"]["form_update_mode"] == "match_exactly"
    assert settings["project"]["name"] == "Sangjog (team-a)"


def test_cli_list_never_prints_whole_keys(runner, session):
    builders.publish(session, "site_visit")
    runner.invoke(cli, args=["app-user", "create", "team-a", "--server-url", "http://h:5000"])
    runner.invoke(cli, args=["app-user", "create", "team-b", "--server-url", "http://h:5000"])
    runner.invoke(cli, args=["app-user", "revoke", "team-b"])
    tokens = session.scalars(select(AppUser.token)).all()
    listed = runner.invoke(cli, args=["app-user", "list"]).output
    assert "team-a" in listed and "team-b" not in listed
    everyone = runner.invoke(cli, args=["app-user", "list", "--all"]).output
    assert "team-b" in everyone and "revoked" in everyone
    assert not any(token in everyone for token in tokens)


def test_cli_revoke_stops_the_key_and_qr_rewrites_the_code(runner, client, session, tmp_path):
    builders.publish(session, "site_visit")
    result = runner.invoke(cli, args=["app-user", "create", "team-a", "--server-url", "http://h:5000"])
    assert result.exit_code == 0
    token = session.scalar(select(AppUser.token))
    assert client.get(f"/key/{token}/formList").status_code == 200
    again = tmp_path / "again.png"
    assert runner.invoke(cli, args=["app-user", "qr", "team-a", "-o", str(again)]).exit_code == 0
    assert again.read_bytes().startswith(b"\x89PNG")
    assert runner.invoke(cli, args=["app-user", "revoke", "team-a"]).exit_code == 0
    assert client.get(f"/key/{token}/formList").status_code == 403
    missing = runner.invoke(cli, args=["app-user", "revoke", "team-a"])
    assert missing.exit_code != 0 and "team-a" in missing.output
    assert runner.invoke(cli, args=["app-user", "qr", "team-a", "-o", str(again)]).exit_code != 0


def test_the_real_command_line(tmp_path):
    """``sangjog app-user`` as an admin types it (its own process, no test app around it)."""
    env = {**os.environ, "SANGJOG_DATA_DIR": str(tmp_path), "SECRET_KEY": "cli-test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PYTHONPATH": str(ROOT)}
    env.pop("SERVER_URL", None)

    def sangjog(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", SERVE, *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    created = sangjog("app-user", "create", "field team", "--server-url", "http://10.0.0.2:5000")
    assert created.returncode == 0, created.stderr
    assert "http://10.0.0.2:5000/key/" in created.stdout
    assert (tmp_path / "qr" / "field_team.png").is_file()
    listed = sangjog("app-user", "list")
    assert listed.returncode == 0 and "field team" in listed.stdout


def test_cli_gives_an_app_user_an_area_and_changes_it(runner, session):
    builders.publish(session, "site_visit")
    created = runner.invoke(cli, args=["app-user", "create", "team-r", "--scope", "bd_district:5585",
                                       "--scope", "bd_district:5549", "--server-url", "http://h:5000"])
    assert created.exit_code == 0, created.output
    assert "area: bd_district:5549, bd_district:5585" in created.output
    team = session.scalar(select(AppUser).where(AppUser.name == "team-r"))
    assert team.scope == ["bd_district:5549", "bd_district:5585"]
    assert "bd_district:5549, bd_district:5585" in runner.invoke(cli, args=["app-user", "list"]).output
    changed = runner.invoke(cli, args=["app-user", "scope", "team-r", "--scope", "bd_division:55"])
    assert changed.exit_code == 0 and "may now send for: bd_division:55" in changed.output
    everywhere = runner.invoke(cli, args=["app-user", "scope", "team-r"])
    assert "may now send for: everywhere" in everywhere.output
    session.commit()  # a fresh read
    assert session.get(AppUser, team.id, populate_existing=True).scope == []
    for bad, says in (("district:5585", "is not a scope"), ("bd_district:9999", "not in the location")):
        refused = runner.invoke(cli, args=["app-user", "create", "team-x", "--scope", bad,
                                           "--server-url", "http://h:5000"])
        assert refused.exit_code != 0 and says in refused.output, refused.output
    assert session.scalar(select(AppUser).where(AppUser.name == "team-x")) is None
    audit = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("app_user.%")))
    assert list(audit) == ["app_user.create", "app_user.scope", "app_user.scope"]
