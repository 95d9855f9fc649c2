"""One error catalogue, one shape per audience: OpenRosa XML, JSON, HTML."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from defusedxml import ElementTree
from sqlalchemy.exc import OperationalError

from pipeline import problems
from pipeline.db import is_transient, make_engine
from tests.pg import unreachable_url


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


def _locked_sqlite(tmp_path):
    """A real 'database is locked': another connection holds the write lock, no waiting."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(f"sqlite:///{path}")
    return holder, engine


def _write_now(engine):
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.commit()


def test_transient_database_errors_are_told_apart(tmp_path):
    holder, engine = _locked_sqlite(tmp_path)
    try:
        with pytest.raises(OperationalError) as locked:
            _write_now(engine)
        assert is_transient(locked.value)
        holder.close()
        with pytest.raises(OperationalError) as missing, engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
        assert not is_transient(missing.value)  # a fault to fix, not to retry
    finally:
        holder.close()
        engine.dispose()
    unreachable = make_engine(unreachable_url())
    with pytest.raises(OperationalError) as refused, unreachable.connect():
        pass
    assert is_transient(refused.value)
    assert not is_transient(RuntimeError("boom"))


def test_the_drivers_own_errors_and_a_full_disk_are_transient_too(tmp_path):
    """``BEGIN IMMEDIATE`` and ``COPY`` run straight on the driver: its errors come unwrapped."""
    holder, _engine = _locked_sqlite(tmp_path)
    waiting = sqlite3.connect(tmp_path / "busy.db", timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            waiting.execute("BEGIN IMMEDIATE")
        assert is_transient(locked.value)
        with pytest.raises(sqlite3.OperationalError) as missing:
            waiting.execute("SELECT * FROM no_such_table")
        assert not is_transient(missing.value)
    finally:
        waiting.close()
        holder.close()
        _engine.dispose()
    assert is_transient(OSError(errno.ENOSPC, "No space left on device"))
    assert is_transient(OSError(errno.EROFS, "Read-only file system"))
    assert not is_transient(FileNotFoundError(errno.ENOENT, "gone"))


@pytest.mark.parametrize("cause", ["locked", "unreachable"])
def test_a_database_out_of_reach_is_a_503_to_try_again(app, client, caplog, tmp_path, cause):
    holder, engine = _locked_sqlite(tmp_path)
    if cause == "unreachable":
        engine = make_engine(unreachable_url())
    app.add_url_rule("/key/<token>/busy", "busy_key", lambda **_kw: _write_now(engine))
    try:
        resp = client.get("/key/SECRET-TOKEN-456/busy")
    finally:
        holder.close()
        engine.dispose()
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "30"
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    message = ElementTree.fromstring(resp.data).findtext("{http://openrosa.org/http/response}message")
    assert "nothing was saved" in message and "again" in message
    assert "SECRET-TOKEN-456" not in caplog.text


@pytest.mark.parametrize(("language", "title"), [("en", "Try again in a minute"),
                                                   ("bn", "এক মিনিট পরে আবার চেষ্টা করুন")])
def test_people_are_told_to_come_back_when_the_database_is_away(app, client, language, title):
    engine = make_engine(unreachable_url())
    app.add_url_rule("/busy-page", "busy_page", lambda: _write_now(engine))
    try:
        resp = client.get("/busy-page", headers={"Accept-Language": language})
    finally:
        engine.dispose()
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page
    assert "server.database_unavailable" in page
