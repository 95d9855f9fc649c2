"""``sangjog serve`` keeps app-user keys out of request logs (they are passwords in the URL)."""

from __future__ import annotations

import http.client
import os

from sync_server.http_worker import redact


def test_keys_are_masked_in_request_lines():
    line = "POST /key/Zk3_-q9aB/submission?deviceID=collect:1 HTTP/1.1"
    assert redact(line) == "POST /key/…/submission?deviceID=collect:1 HTTP/1.1"
    assert redact("GET /formList HTTP/1.1") == "GET /formList HTTP/1.1"


def test_the_server_answers_collect_with_its_headers(tmp_path):
    """``sangjog serve`` (its default: one worker) over real HTTP: Date and OpenRosa headers, no
    key in the request log, no development-server warning, its pid file in the data folder."""
    from pipeline import accounts
    from pipeline.db import make_engine, session_factory, upgrade
    from tests.live_server import LiveServer

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        key = accounts.create_app_user(session, "serve-phone", [], actor="test").token
    engine.dispose()
    # What a server killed mid-upload leaves (the pid is past any kernel's pid_max).
    leftover = tmp_path / "blobs" / "ab" / "cd" / ".incoming-999999999-k3j4"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a photo")
    # A pid file left by a crash whose number now belongs to another process (after a reboot).
    (tmp_path / "server.pid").write_text(f"{os.getppid()}\n")
    with LiveServer(url, tmp_path, workers=1) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("HEAD", f"/key/{key}/submission")
        resp = conn.getresponse()
        conn.close()
        pid_file = (tmp_path / "server.pid").read_text()
        assert int(pid_file) == server.process.pid  # gunicorn's master, in the data folder
    assert resp.status == 204
    assert resp.getheader("Date") and resp.getheader("X-OpenRosa-Version") == "1.0"
    log = server.log.read_text()
    assert "/key/…/submission" in log and key not in log
    assert "development server" not in log.lower()
    assert "WaitressWorker" in log  # the production server, in the default mode too
    assert not leftover.exists()


def test_only_the_temporary_files_of_stopped_writers_are_removed(tmp_path):
    from pipeline.storage import BlobStore

    blobs = BlobStore(tmp_path)
    digest = blobs.put(b"a photo")
    folder = blobs.path(digest).parent
    mine = folder / f".incoming-{os.getpid()}-writing"  # a writer still at work
    dead = folder / ".incoming-999999999-abandoned"
    unnamed = folder / ".incoming-abandoned"  # the naming before writers were named
    for path in (mine, dead, unnamed):
        path.write_bytes(b"part")
    assert blobs.remove_leftovers() == 2
    assert mine.exists() and not dead.exists() and not unnamed.exists()
    assert blobs.get(digest) == b"a photo"


