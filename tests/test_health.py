"""``/healthz`` (open, 200 or 503, no details) and ``/metrics`` (Prometheus, behind a token;
counters summed over every worker of ``sangjog serve``)."""

from __future__ import annotations

import http.client
import re
import subprocess

import pytest

from pipeline.models import PullRun
from tests import builders
from tests.pg import unreachable_url

TOKEN = "metrics-token-for-tests"


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else None


def test_a_healthy_server_says_ok_and_nothing_else(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "ok\n"
    assert resp.headers["Cache-Control"] == "no-store"


def _unhealthy(resp) -> None:
    assert resp.status_code == 503
    assert resp.get_data(as_text=True) == "unavailable\n"  # which check failed is only logged


def test_a_backlog_over_the_bound_or_a_full_disk_is_unhealthy(app, client, session, caplog):
    from sync_server import background_loader

    background_loader.stop(app)  # the upload below stays pending
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    assert builders.submit(client, builders.site_visit(), via="http", key=key).status_code == 201
    app.config["HEALTH_MAX_BACKLOG"] = 1
    assert client.get("/healthz").status_code == 200
    app.config["HEALTH_MAX_BACKLOG"] = 0
    _unhealthy(client.get("/healthz"))
    assert "loader backlog" in caplog.text
    app.config["HEALTH_MAX_BACKLOG"] = 5000
    app.config["HEALTH_MIN_FREE_MB"] = 10 ** 12  # more than any disk has
    _unhealthy(client.get("/healthz"))
    assert "disk free" in caplog.text


def test_an_attachment_store_that_takes_no_file_is_unhealthy(app, client, caplog):
    blobs = app.extensions["blobs"].root
    blobs.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["chattr", "+i", str(blobs)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the kernel refuses chattr +i here ({exc})")
    try:
        _unhealthy(client.get("/healthz"))
    finally:
        subprocess.run(["chattr", "-i", str(blobs)], check=True)
    assert "attachment store" in caplog.text
    assert client.get("/healthz").status_code == 200


def test_a_database_out_of_reach_is_unhealthy(tmp_path, caplog):
    from sync_server import background_loader, create_app

    app = create_app({"TESTING": True, "SANGJOG_DATA_DIR": str(tmp_path / "data"),
                      "SECRET_KEY": "x", "AUTO_MIGRATE": False,
                      "DATABASE_URL": unreachable_url()})
    background_loader.stop(app)
    try:
        _unhealthy(app.test_client().get("/healthz"))
    finally:
        app.extensions["engine"].dispose()
    assert "database" in caplog.text


def test_metrics_need_the_token(app, client):
    assert client.get("/metrics").status_code == 404  # no token set: no metrics at all
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401 and "sangjog" not in wrong.get_data(as_text=True)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_count_uploads_responses_backlog_pulls_and_disk(app, client, session):
    from sync_server import background_loader

    background_loader.stop(app)
    app.config["METRICS_TOKEN"] = TOKEN
    auth = {"Authorization": f"Bearer {TOKEN}"}
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    before = client.get("/metrics", headers=auth).get_data(as_text=True)
    created = _sample(before, "sangjog_uploads_total", outcome="created") or 0
    refused = _sample(before, "sangjog_uploads_total", outcome="refused") or 0
    ok = _sample(before, "sangjog_http_responses_total", code="201") or 0
    for i in range(2):
        resp = builders.submit(client, builders.site_visit(f"uuid:m{i}"), via="http", key=key)
        assert resp.status_code == 201
    resent = builders.submit(client, builders.site_visit("uuid:m0"), via="http", key=key)
    assert resent.status_code == 201
    assert builders.submit(client, b"<broken", via="http", key=key).status_code == 400
    session.add_all([PullRun(kind="kobo", status="ok"), PullRun(kind="kobo", status="ok"),
                     PullRun(kind="central", status="failed")])
    session.commit()
    text = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert _sample(text, "sangjog_uploads_total", outcome="created") == created + 2
    assert (_sample(text, "sangjog_uploads_total", outcome="duplicate") or 0) >= 1
    assert _sample(text, "sangjog_uploads_total", outcome="refused") == refused + 1
    assert _sample(text, "sangjog_http_responses_total", code="201") == ok + 3
    assert _sample(text, "sangjog_loader_backlog") == 2
    assert _sample(text, "sangjog_loader_lag_seconds") >= 0
    assert _sample(text, "sangjog_pull_runs_total", kind="kobo", outcome="ok") == 2
    assert _sample(text, "sangjog_pull_runs_total", kind="central", outcome="failed") == 1
    assert _sample(text, "sangjog_disk_free_bytes") > 0
    assert client.get("/dashboard").status_code in (200, 302)  # a reader catches the loader up
    after = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert _sample(after, "sangjog_loader_backlog") == 0


@pytest.mark.slow
def test_metrics_sum_every_worker_of_the_server(tmp_path):
    """Two workers answer uploads and scrapes in turn: every scrape counts all the uploads."""
    from tests.live_server import LiveServer

    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    engine, key = builders.database_for_phones(url)
    engine.dispose()
    server = LiveServer(url, tmp_path, workers=2)
    server.env["METRICS_TOKEN"] = TOKEN
    with server:
        for i in range(12):  # a new connection each: the workers take them in turn
            assert builders.submit(server.port, builders.site_visit(f"uuid:w{i}"), via="http",
                                   key=key) == 201
        counts = set()
        for _ in range(6):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            text = conn.getresponse().read().decode()
            conn.close()
            counts.add(_sample(text, "sangjog_uploads_total", outcome="created"))
    assert counts == {12.0}
    assert (tmp_path / "metrics").is_dir()  # the workers' counts live in the data folder
