"""Two app servers on one PostgreSQL and one S3 bucket, as behind a load balancer.

Each ``sangjog serve`` has its own data folder and loader; they share ``DATABASE_URL``,
``BLOB_STORE`` and ``SECRET_KEY``. Concurrent clients post to both, resending the same instances
to both; then one server is killed with -9 while more arrive. Every acknowledged submission is
stored exactly once, loaded into the warehouse exactly once, its photo is in the bucket, and a
web login made on one server is valid on the other. Both start together on an empty database:
migrations run once. ``sangjog export schedule`` started on both at once builds each
workbook once, and the Downloads page of the other server lists and serves it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from pipeline import accounts
from pipeline.db import make_engine, session_factory
from pipeline.domain import tables
from pipeline.models import Attachment, Submission
from pipeline.storage import S3BlobStore
from tests import builders
from tests.live_server import ROOT, SERVE, LiveServer

pytestmark = pytest.mark.slow

CLIENTS = 4
PER_CLIENT = 15


def test_two_servers_share_one_database_and_bucket(backend, database_url, s3_server, tmp_path):
    if backend != "postgresql":
        pytest.skip("several app servers share PostgreSQL; SQLite is one machine's")
    bucket = s3_server.new_bucket()
    servers = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        server = LiveServer(database_url, folder, workers=1)
        server.env.update({"BLOB_STORE": f"s3://{bucket}/attachments",
                           "BLOB_STORE_ENDPOINT_URL": s3_server.url})
        servers.append(server)
    # Both start at once on the template's migrated copy; a migration race would fail one start.
    starting = [threading.Thread(target=s.start) for s in servers]
    for t in starting:
        t.start()
    for t in starting:
        t.join(timeout=90)
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            builders.publish(session, "site_visit")
            key = accounts.create_app_user(session, "phone", [], actor="test").token
            accounts.create_user(session, "boss", "correct horse battery", "admin", ["*"])
        planned = {}
        for c in range(CLIENTS):
            for n in range(PER_CLIENT):
                iid = f"uuid:two-{c}-{n}"
                photo = hashlib.sha256(iid.encode()).digest() * 500
                planned[iid] = (builders.site_visit(iid, photo=f"{c}-{n}.jpg"),
                                {f"{c}-{n}.jpg": photo})
        acknowledged: set[str] = set()
        lock = threading.Lock()
        killed = threading.Event()

        def client(c: int) -> None:
            for n in range(PER_CLIENT):
                iid = f"uuid:two-{c}-{n}"
                # Each instance goes to both servers (a resend through the balancer), in turn.
                for server in (servers[(c + n) % 2], servers[(c + n + 1) % 2]):
                    if server is servers[0] and killed.is_set():
                        continue
                    if builders.submit(server.port, *planned[iid], via="http", key=key) == 201:
                        with lock:
                            acknowledged.add(iid)
                if c == 0 and n == PER_CLIENT // 2:
                    servers[0].kill()  # -9 mid-run: its loader may hold a batch
                    killed.set()

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert len(acknowledged) >= CLIENTS * PER_CLIENT * 3 // 4

        with session_factory(engine)() as session:
            deadline = time.monotonic() + 60  # the surviving loader picks up everything
            while True:
                pending = session.scalar(select(func.count()).select_from(Submission)
                                         .where(Submission.parse_status != "ok"))
                session.rollback()
                if not pending or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert pending == 0
            stored = dict(session.execute(select(Submission.instance_id, func.count())
                                          .group_by(Submission.instance_id)).all())
            assert acknowledged <= set(stored), "an acknowledged submission was lost"
            assert set(stored.values()) == {1}, "a submission was stored twice"
            main = tables.table(session, "site_visit")
            rows = dict(session.execute(select(main.c._key, func.count())
                                        .group_by(main.c._key)).all())
            assert set(rows.values()) == {1}, "a submission was loaded twice"
            assert len(rows) == len(stored), "a stored submission is missing from the warehouse"
            store = S3BlobStore(f"s3://{bucket}/attachments", endpoint_url=s3_server.url)
            for digest in session.scalars(select(Attachment.sha256)):
                assert store.exists(digest)

        # A login on one server is valid on the other (sessions live in the database).
        survivor = servers[1]
        other = LiveServer(database_url, tmp_path / "a", workers=1)
        other.env.update(servers[0].env)
        other.start()
        servers.append(other)
        web = requests.Session()
        page = web.get(f"http://127.0.0.1:{survivor.port}/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = web.post(f"http://127.0.0.1:{survivor.port}/login", timeout=10, data={
            "username": "boss", "password": "correct horse battery", "csrf_token": token},
            allow_redirects=False)
        assert done.status_code == 302
        there = web.get(f"http://127.0.0.1:{other.port}/admin/forms", timeout=10,
                        allow_redirects=False)
        assert there.status_code == 200 and "site_visit" in there.text

        # Cron starts the scheduled export on both servers: one builds, both list it.
        with session_factory(engine)() as session:
            inspection(session, store)
        cron = [subprocess.Popen([sys.executable, "-c", SERVE, "export", "schedule", "--period",
                                  "2026-08"], cwd=ROOT, env=server.env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
                for server in (survivor, other)]
        said = [job.communicate(timeout=120)[0] for job in cron]
        assert [job.returncode for job in cron] == [0, 0], said
        built = [out for out in said if "1 district workbooks for 2026-08 in en" in out]
        idle = [out for out in said if "nothing to do" in out]
        assert len(built) == 1 and len(idle) == 1, said
        name = "sangjog-dinajpur-5527-2026-08-en.xlsx"
        for server in (survivor, other):
            listed = web.get(f"http://127.0.0.1:{server.port}/downloads", timeout=10)
            assert name in listed.text
            got = web.get(f"http://127.0.0.1:{server.port}/downloads/files/{name}", timeout=30)
            assert got.status_code == 200 and got.content[:2] == b"PK"
    finally:
        for server in servers:
            server.stop()
        engine.dispose()


def inspection(session, store) -> None:
    """One inspection in Dinajpur in August 2026 (the real form, filled by ODK's engine)."""
    from datetime import UTC, datetime

    from pipeline import forms
    from tests import formtools
    from tests.builders import DINAJPUR, sample, vary

    form_id = "innovation_inspection"
    forms.publish(session, formtools.built_forms()[form_id],
                  (formtools.XLSFORMS / f"{form_id}.xlsx").read_bytes(),
                  formtools.static_media(form_id), "test")
    xml = vary(sample(form_id), "uuid:two-inspection", division="55", district=DINAJPUR,
               upazila="552710")
    builders.submit(session, xml, {"signature.png": b"png", "desk.jpg": b"jpg"}, blobs=store,
                    submitter="phone", received_at=datetime(2026, 8, 10, tzinfo=UTC))
    session.commit()
