"""Uploads are answered once stored and loaded into the warehouse in batches moments later.

The batch loader must give exactly the rows one-at-a-time loading gives (edits, failures and
all); the server's loader thread must load what arrives; readers must see every acknowledged
upload even when the loader has not run; two loaders at once must never write a row twice.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline import loader, warehouse
from pipeline.db import Writer, make_engine, session_factory, upgrade
from pipeline.ingest import Incoming, accept
from pipeline.models import Submission
from sync_server import background_loader
from sync_server.cli import cli
from tests import builders
from tests.builders import CHECK_V1 as V1
from tests.builders import SITE_CHECK_ANSWERS as ANSWERS

site_check = partial(builders.submission, "site_check")  # a site_check submission's XML

RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _rows(session: Session) -> list[tuple[Any, ...]]:
    """Every warehouse row of the test form: main rows, then photo rows."""
    conn = session.connection()
    main = warehouse.main_table(conn, "site_check")
    photos = warehouse.repeat_tables(conn, "site_check")["wh_site_check__photos"]
    result = [tuple(r) for r in session.execute(select(main).order_by(main.c._key))]
    result += [tuple(r) for r in session.execute(select(photos).order_by(photos.c._key))]
    session.commit()
    return result


def _status(session: Session) -> dict[str, tuple[str, str | None]]:
    result = {s.instance_id: (s.parse_status, s.parse_error_code)
              for s in session.scalars(select(Submission))}
    session.commit()
    return result


def _uploads() -> list[bytes]:
    """Forty uploads: plain ones, a bad answer, an edit chain (in and out of order)."""
    xml = [site_check({**ANSWERS, "progress": str(i)}, instance_id=f"uuid:p{i}") for i in range(36)]
    xml.append(site_check({"progress": "ten"}, instance_id="uuid:bad"))
    xml.append(site_check({"progress": "99", "photos": [{"caption": "after"}]},
                          instance_id="uuid:p1-edit",
                          deprecated_id="uuid:p1"))
    xml.append(site_check({"progress": "50"}, instance_id="uuid:late-edit",
                          deprecated_id="uuid:late"))
    xml.append(site_check({"progress": "5"}, instance_id="uuid:late"))
    return xml


def test_batch_loading_gives_the_rows_of_one_at_a_time_loading(app, session, database_url):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    for xml in _uploads():
        accept(session, blobs, Incoming(xml, received_at=RECEIVED), load=False)
    assert set(_status(session).values()) == {("pending", None)}
    done = loader.load_pending(session, limit=25)
    assert done.seen == 25
    while loader.load_pending(session, limit=25).seen:
        pass
    batched, statuses = _rows(session), _status(session)
    assert statuses["uuid:bad"] == ("failed", "submission.unparsable")
    assert all(s == ("ok", None) for iid, s in statuses.items() if iid != "uuid:bad")

    if database_url.startswith("postgresql"):
        return  # one database per test there; the SQLite run compares with inline loading
    # The same uploads, each loaded as it arrives, in a second database.
    engine = make_engine(database_url.replace(".db", "-inline.db"))
    upgrade(engine)
    with session_factory(engine)() as inline:
        builders.publish(inline, "site_check", version=V1)
        for xml in _uploads():
            accept(inline, blobs, Incoming(xml, received_at=RECEIVED))
        assert _rows(inline) == batched
        assert _status(inline) == statuses
    engine.dispose()


def test_an_edit_and_its_original_pending_together_show_one_row(app, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    accept(session, blobs, Incoming(site_check(ANSWERS, instance_id="uuid:o1")), load=False)
    accept(session, blobs, Incoming(site_check({"progress": "75"}, instance_id="uuid:o2",
                                               deprecated_id="uuid:o1")), load=False)
    loader.load_pending(session)
    main = warehouse.main_table(session.connection(), "site_check")
    rows = session.execute(select(main.c._key, main.c.progress, main.c._edits)).all()
    assert [tuple(r) for r in rows] == [("uuid:o1", 75, 1)]


def test_what_changes_between_parsing_and_writing_is_read_again(app, session):
    """A batch is parsed before its write turn; while it waits for the turn a reader loads one
    of it and a late original moves another to its own root. The write skips the first and
    parses the second again under its new key. (The other process acts while the batch waits
    for its turn: a writer whose turn lets it act first.)"""
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    for xml in (site_check(ANSWERS, instance_id="uuid:x1"),
                site_check({"progress": "75", "photos": [{"caption": "after"}]},
                           instance_id="uuid:e2",
                           deprecated_id="uuid:e1")):
        accept(session, blobs, Incoming(xml), load=False)
    x1 = session.scalar(select(Submission.id).where(Submission.instance_id == "uuid:x1"))
    session.commit()
    engine = make_engine(app.config["DATABASE_URL"])
    meanwhile: list[int] = []

    class AnotherProcessActsFirst(Writer):
        @contextlib.contextmanager
        def turn(self) -> Iterator[None]:
            if not meanwhile:  # the first batch, parsed and waiting for its turn
                meanwhile.append(1)
                with session_factory(engine)() as other:
                    loader.load_pending(other, up_to=x1)  # another reader's catch-up
                    accept(other, blobs,
                           Incoming(site_check({"progress": "5"}, instance_id="uuid:e1")),
                           load=False)
            with super().turn():
                yield

    done = loader.load_pending(session, writer=AnotherProcessActsFirst(session.get_bind()))
    engine.dispose()
    assert meanwhile == [1]
    assert (done.ok, done.seen) == (1, 1)  # only e2: x1 was loaded, e1 came after the read
    main = warehouse.main_table(session.connection(), "site_check")
    photos = warehouse.repeat_tables(session.connection(), "site_check")["wh_site_check__photos"]
    rows = session.execute(select(main.c._key, main.c.progress).order_by(main.c._key)).all()
    assert [tuple(r) for r in rows] == [("uuid:e1", 75), ("uuid:x1", int(ANSWERS["progress"]))]
    e2_photos = session.execute(select(photos.c._key, photos.c._parent_key)
                                .where(photos.c.caption == "after")).all()
    assert [tuple(r) for r in e2_photos] == [("uuid:e1/photos[1]", "uuid:e1")]
    session.commit()
    loader.load_pending(session)
    assert set(_status(session).values()) == {("ok", None)}


def test_two_loaders_at_once_write_each_row_once(app, session, database_url):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    for i in range(120):
        accept(session, blobs, Incoming(site_check(ANSWERS, instance_id=f"uuid:c{i}")), load=False)
    engine = make_engine(database_url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with session_factory(engine)() as mine:
                while loader.load_pending(mine, limit=7).seen:
                    pass
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    assert not errors
    main = warehouse.main_table(session.connection(), "site_check")
    assert session.scalar(select(func.count()).select_from(main)) == 120
    assert session.scalar(select(func.count(func.distinct(main.c._key)))) == 120
    assert set(_status(session).values()) == {("ok", None)}


def _upload(client, key: str, iid: str):
    xml = builders.site_visit(iid)
    return builders.submit(client, xml, via="http", key=key)


def test_the_server_answers_first_and_its_loader_thread_loads(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    for i in range(5):
        assert _upload(client, key, f"uuid:t{i}").status_code == 201
    builders.wait_loaded(session)  # nobody read a page: the loader's thread loaded them
    assert set(_status(session).values()) == {("ok", None)}


def test_pages_load_what_is_still_pending_before_reading(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    background_loader.stop(app)  # as if the loader were far behind
    assert _upload(client, key, "uuid:r1").status_code == 201
    assert _status(session) == {"uuid:r1": ("pending", None)}
    # Collect's own requests read no warehouse: they never wait for loading.
    assert client.get(f"/key/{key}/formList").status_code == 200
    assert _status(session) == {"uuid:r1": ("pending", None)}
    # Any page a person opens (here the login page) sees every acknowledged upload.
    assert client.get("/login").status_code == 200
    assert _status(session) == {"uuid:r1": ("ok", None)}


def test_pipeline_follow_loads_and_stops_by_itself(app, runner, session):
    builders.publish(session, "site_check", version=V1)
    blobs = app.extensions["blobs"]
    background_loader.stop(app)
    for i in range(3):
        accept(session, blobs, Incoming(site_check(ANSWERS, instance_id=f"uuid:f{i}")), load=False)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    result = runner.invoke(cli, args=["pipeline", "follow", "--interval", "0.05", "--stop-after", "0.3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 loaded"
    assert set(_status(session).values()) == {("ok", None)}
    # Stopped, it leaves Ctrl-C and SIGTERM to whoever ran it, as they were.
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers


def test_an_upload_after_the_database_dropped_the_kept_connection_is_stored(
        app, client, session, backend):
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot drop a connection")
    from sqlalchemy import text

    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    assert _upload(client, key, "uuid:k1").status_code == 201
    session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    session.commit()
    assert _upload(client, key, "uuid:k2").status_code == 201  # on a fresh connection
    assert set(_status(session)) == {"uuid:k1", "uuid:k2"}
