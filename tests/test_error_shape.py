"""One error catalogue, one shape per audience: OpenRosa XML, JSON, HTML."""

from __future__ import annotations

from defusedxml import ElementTree

from pipeline import problems


def _add_failing_routes(app):
    def closed(**_kwargs):
        raise problems.form_closed("hl_ballot")

    def crash():
        raise RuntimeError("boom")

    app.add_url_rule("/key/<token>/closed", "closed_openrosa", closed)
    app.add_url_rule("/api/v1/closed", "closed_api", closed)
    app.add_url_rule("/closed", "closed_page", closed)
    app.add_url_rule("/api/v1/crash", "crash_api", crash)


def test_openrosa_clients_get_an_openrosa_message(app, client):
    _add_failing_routes(app)
    resp = client.get("/key/abc/closed")
    assert resp.status_code == 409
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    root = ElementTree.fromstring(resp.data)
    assert root.tag == "{http://openrosa.org/http/response}OpenRosaResponse"
    message = root.find("{http://openrosa.org/http/response}message")
    assert "hl_ballot" in message.text and "closed" in message.text


def test_api_clients_get_json_with_the_code(app, client):
    _add_failing_routes(app)
    resp = client.get("/api/v1/closed")
    assert resp.status_code == 409
    assert resp.get_json() == {
        "code": "form.closed",
        "status": 409,
        "message": "Form 'hl_ballot' is closed and accepts no submissions.",
    }


def test_people_get_a_page_with_the_message(app, client):
    _add_failing_routes(app)
    resp = client.get("/closed")
    assert resp.status_code == 409
    assert resp.mimetype == "text/html"
    assert b"is closed and accepts no submissions" in resp.data
    assert b"form.closed" in resp.data


def test_an_unexpected_error_keeps_the_shape_and_hides_the_trace(app, client):
    _add_failing_routes(app)
    resp = client.get("/api/v1/crash")
    assert resp.status_code == 500
    body = resp.get_json()
    assert body["code"] == "server.error"
    assert "boom" not in resp.get_data(as_text=True)


def test_unknown_urls_are_problems_too(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.get_json()["code"] == "resource.not_found"


def test_a_crash_under_an_app_user_key_never_logs_the_key(app, client, caplog):
    def crash(**_kwargs):
        raise RuntimeError("boom")

    app.add_url_rule("/key/<token>/crash", "crash_key", crash)
    resp = client.get("/key/SECRET-TOKEN-123/crash")
    assert resp.status_code == 500
    assert "SECRET-TOKEN-123" not in caplog.text
    assert "/key/…/crash" in caplog.text
