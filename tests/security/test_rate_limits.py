"""Password guessing as an attacker tries it: through Collect's door (HTTP Basic) and the login
page, per user name and per address, across worker processes. Collect's first request without
credentials (the 401 challenge) never counts."""

from __future__ import annotations

import base64
import http.client
from pathlib import Path

import pytest

from pipeline import accounts
from pipeline.db import make_engine, session_factory
from pipeline.throttle import Limit
from tests import builders
from tests.builders import PASSWORD
from tests.live_server import LiveServer

pytestmark = pytest.mark.usefixtures("fast_hashing")


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def form_list(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.get("/formList", headers=basic(username, password),
                      environ_base={"REMOTE_ADDR": address})


def login(client, username: str, password: str, address: str = "10.0.0.1"):
    token = builders.csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def test_wrong_basic_passwords_per_user_name_get_429_with_retry_after(app, client, world):
    app.config["LOGIN_FAILURES_PER_USER"] = "5 per 10 minutes"
    statuses = [form_list(client, "sup_rangpur", f"guess {i}").status_code for i in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    blocked = form_list(client, "sup_rangpur", PASSWORD)  # even the right one waits now
    assert blocked.status_code == 429
    assert 590 <= int(blocked.headers["Retry-After"]) <= 600
    assert "Too many wrong passwords" in blocked.get_data(as_text=True)
    # The name is counted however it is typed; other users are not held up.
    assert form_list(client, "SUP_Rangpur", PASSWORD).status_code == 429
    assert form_list(client, "sup_division", PASSWORD).status_code == 200


def test_the_challenge_without_credentials_never_counts(app, client, world):
    app.config["LOGIN_FAILURES_PER_USER"] = "2 per 10 minutes"
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "2 per 10 minutes"
    for _ in range(30):
        challenge = client.get("/formList", environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert challenge.status_code == 401 and "WWW-Authenticate" in challenge.headers
    assert form_list(client, "sup_rangpur", PASSWORD).status_code == 200


def test_an_address_is_limited_across_user_names_with_room_for_an_office(app, client, world):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "8 per 10 minutes"
    names = [f"phone{i:02d}" for i in range(8)]
    assert [form_list(client, n, "wrong").status_code for n in names] == [401] * 8
    assert form_list(client, "sup_rangpur", PASSWORD).status_code == 429
    assert form_list(client, "sup_rangpur", PASSWORD, address="10.0.0.2").status_code == 200


def test_web_logins_and_collect_count_together(app, client, world):
    app.config["LOGIN_FAILURES_PER_USER"] = "4 per 10 minutes"
    assert login(client, "sup_rangpur", "wrong one").status_code == 401
    assert login(client, "sup_rangpur", "wrong two").status_code == 401
    assert form_list(client, "sup_rangpur", "wrong three").status_code == 401
    assert form_list(client, "sup_rangpur", "wrong four").status_code == 401
    refused = login(client, "sup_rangpur", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert form_list(client, "sup_rangpur", PASSWORD).status_code == 429


@pytest.mark.parametrize("text, limit", [("10 per 15 minutes", Limit(10, 900)),
                                         ("100 per hour", Limit(100, 3600)),
                                         ("5/minute", Limit(5, 60))])
def test_limits_are_read_as_written(text, limit):
    assert Limit.parse(text) == limit


@pytest.mark.parametrize("text", ["", "ten per minute", "0 per minute", "5 per fortnight"])
def test_a_mistyped_limit_is_refused(text):
    with pytest.raises(ValueError):
        Limit.parse(text)


def test_two_worker_processes_share_one_count(database_url: str, tmp_path: Path):
    """Two server processes on one database: failures sent to either count for both."""
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        accounts.create_user(session, "mina", "the right password", "supervisor",
                             ["bd_district:5585"])
    engine.dispose()
    servers = [LiveServer(database_url, tmp_path / f"w{i}", workers=1) for i in range(2)]
    for i, server in enumerate(servers):
        (tmp_path / f"w{i}").mkdir()
        server.env["LOGIN_FAILURES_PER_USER"] = "6 per hour"
    with servers[0], servers[1]:
        statuses = []
        for attempt in range(10):
            server = servers[attempt % 2]
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/formList", headers=basic("mina", f"guess {attempt}"))
            response = conn.getresponse()
            response.read()
            statuses.append((response.status, response.getheader("Retry-After")))
            conn.close()
    assert [s for s, _ in statuses] == [401] * 6 + [429] * 4
    assert all(int(after) > 3000 for status, after in statuses if status == 429)
