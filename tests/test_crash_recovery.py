"""A server killed mid-upload loses nothing it answered 201 for, and every retry succeeds.

The real server (``sangjog serve --workers 2``, gunicorn, with its loader process) runs in a
subprocess; several clients upload submissions with photos over real HTTP while the whole
process group gets SIGKILL.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.db import session_factory
from pipeline.models import Submission
from pipeline.storage import BlobStore
from tests import builders
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

CLIENTS = 6
PER_CLIENT = 25


def _upload(port: int, key: str, planned: tuple[bytes, str, bytes]) -> int | None:
    """The HTTP status, or None when the connection failed (server down or killed)."""
    xml, name, photo = planned
    return builders.submit(port, xml, {name: photo}, via="http", key=key,
                           query="deviceID=collect:crash", timeout=10)


@pytest.fixture
def prepared(tmp_path: Path):
    """A migrated SQLite warehouse with the form and an app user, outside any Flask app."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine, key = builders.database_for_phones(url, "crash-phone")
    yield url, key, engine
    engine.dispose()


def test_sigkill_mid_upload_loses_nothing_acknowledged(prepared, tmp_path):
    url, key, engine = prepared
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Each submission has its own photo (~150 kB) so uploads are still in flight at the kill.
    planned = {}
    for c in range(CLIENTS):
        for n in range(PER_CLIENT):
            iid = f"uuid:crash-{c}-{n}"
            photo = hashlib.sha256(iid.encode()).digest() * 4700
            xml = builders.site_visit(iid, photo=f"{c}-{n}.jpg")
            planned[iid] = (xml, f"{c}-{n}.jpg", photo)
    acknowledged: set[str] = set()
    lock = threading.Lock()
    a_third_acknowledged = threading.Event()  # the moment to cut the power

    server = LiveServer(url, data_dir, workers=2).start()
    try:
        # Real HTTP answers carry the headers Collect checks, Date included.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("HEAD", f"/key/{key}/submission")
        head = conn.getresponse()
        assert head.status == 204
        assert head.getheader("Date") and head.getheader("X-OpenRosa-Version") == "1.0"
        assert head.getheader("X-OpenRosa-Accept-Content-Length") == str(100 * 1024 * 1024)
        conn.close()

        def client(c: int) -> None:
            for n in range(PER_CLIENT):
                iid = f"uuid:crash-{c}-{n}"
                if _upload(server.port, key, planned[iid]) == 201:
                    with lock:
                        acknowledged.add(iid)
                        if len(acknowledged) >= CLIENTS * PER_CLIENT // 3:
                            a_third_acknowledged.set()

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        a_third_acknowledged.wait(60)
        server.kill()  # power cut while the clients keep sending
        for t in threads:
            t.join(timeout=120)
        assert 0 < len(acknowledged) < len(planned), "the kill should land mid-way"

        _assert_complete(engine, data_dir, planned, acknowledged)

        server = LiveServer(url, data_dir, workers=2, port=server.port).start()
        for iid in sorted(set(planned) - acknowledged):  # Collect retries what got no 201
            assert _upload(server.port, key, planned[iid]) == 201, iid
        for iid in sorted(acknowledged)[:10]:  # and a resend of a stored one is still a 201
            assert _upload(server.port, key, planned[iid]) == 201
        # The restarted server's loader process loads everything, what the kill left pending
        # included, without any page being opened.
        with session_factory(engine)() as session:
            builders.wait_loaded(session, timeout=30)
        followers = _followers(server.process.pid)
        assert len(followers) == 1
        # ``sangjog serve --workers N`` runs waitress inside gunicorn's workers (whole requests
        # reach the app: a phone killed mid-upload holds a connection, never a thread).
        assert "Using worker: sync_server.http_worker.WaitressWorker" in server.log.read_text()
    finally:
        server.stop()
    assert not any(_alive(pid) for pid in followers), "the loader process outlived the server"
    _assert_complete(engine, data_dir, planned, set(planned))
    log = server.log.read_text()
    assert "/submission" in log and key not in log  # the access log never shows the key
    with session_factory(engine)() as session:
        assert len(session.scalars(select(Submission.id)).all()) == len(planned)


def _followers(group: int) -> list[int]:
    """Process ids of ``sangjog pipeline follow`` in the server's process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(fields[2]) == group and b"pipeline follow" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _assert_complete(engine, data_dir: Path, planned, instance_ids: set[str]) -> None:
    """Each of ``instance_ids`` is stored with its exact XML and its photo's exact bytes."""
    blobs = BlobStore(data_dir / "blobs")
    with session_factory(engine)() as session:
        stored = {s.instance_id: s for s in session.scalars(select(Submission))}
        for iid in instance_ids:
            xml, name, photo = planned[iid]
            submission = stored.get(iid)
            assert submission is not None, f"{iid} was acknowledged but is missing"
            assert submission.xml == xml
            assert [(a.name, a.size) for a in submission.attachments] == [(name, len(photo))]
            assert blobs.get(submission.attachments[0].sha256) == photo
