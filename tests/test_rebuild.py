"""``sangjog pipeline rebuild / process / status``: a rebuild gives back identical rows."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from pipeline import warehouse
from pipeline.ingest import Incoming, accept
from sync_server.cli import cli
from tests import builders
from tests.builders import CHECK_V1 as V1
from tests.builders import CHECK_V2 as V2
from tests.builders import SITE_CHECK_ANSWERS as ANSWERS

site_check = partial(builders.submission, "site_check")  # a site_check submission's XML


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    tables = warehouse.form_tables(session.connection(), "site_check")
    result = {name: sorted((dict(r._mapping) for r in session.execute(select(t))),
                           key=lambda r: r["_key"]) for name, t in tables.items()}
    session.commit()
    return result


def fill(app, session: Session) -> None:
    blobs = app.extensions["blobs"]
    builders.publish(session, "site_check", version=V1)
    for i in range(4):
        accept(session, blobs, Incoming(site_check(ANSWERS, instance_id=f"uuid:r{i}", name=f"n{i}"),
                                        files={"site.jpg": b"x"}, submitter="phone"))
    accept(session, blobs, Incoming(site_check({"progress": "9"}, instance_id="uuid:r0b",
                                               deprecated_id="uuid:r0")))
    accept(session, blobs, Incoming(site_check({"visit_date": "someday"}, instance_id="uuid:bad")))
    builders.publish(session, "site_check", version=V2)
    accept(session, blobs, Incoming(site_check({"progress": "1.5", "obstacles": "x",
                                                "photos": [{"caption": "c"}]},
                                               instance_id="uuid:r9", version=V2)))
    session.commit()


def test_rebuild_gives_identical_rows(app, session, runner):
    fill(app, session)
    before = snapshot(session)
    assert len(before["wh_site_check"]) == 5
    result = runner.invoke(cli, args=["pipeline", "rebuild", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "site_check: 5 loaded, 1 failed" in result.output
    after = snapshot(session)
    assert after == before
    edited = next(r for r in after["wh_site_check"] if r["_key"] == "uuid:r0")
    assert (edited["progress"], edited["_edits"]) == (9, 1)
    indexed = {tuple(ix["column_names"])
               for ix in inspect(session.connection()).get_indexes("wh_site_check__photos")}
    assert {("_parent_key",), ("_submission_id",)} <= indexed


def test_rebuild_replaces_rows_that_drifted(app, session, runner):
    fill(app, session)
    before = snapshot(session)
    main = warehouse.main_table(session.connection(), "site_check")
    session.execute(main.delete().where(main.c._key == "uuid:r1"))
    session.execute(main.update().values(progress=-1))
    session.commit()
    assert runner.invoke(cli, args=["pipeline", "rebuild", "--form", "site_check"]).exit_code == 0
    assert snapshot(session) == before


def test_rebuild_of_an_unknown_form_is_a_clear_error(app, runner):
    result = runner.invoke(cli, args=["pipeline", "rebuild", "--form", "nope"])
    assert result.exit_code != 0 and "No form with id 'nope'" in result.output


def test_status_counts_per_form_and_shows_why_loads_failed(app, session, runner):
    fill(app, session)
    result = runner.invoke(cli, args=["pipeline", "status"])
    assert result.exit_code == 0, result.output
    assert "site_check: 6 current of 7 stored (1 failed, 6 ok)" in result.output
    assert "uuid:bad: [submission.unparsable]" in result.output and "/data/visit_date" in result.output


def test_process_loads_pending_submissions(app, session, runner):
    builders.publish(session, "site_check", version=V1)
    accept(session, app.extensions["blobs"], Incoming(site_check({"progress": "2"},
                                                                 instance_id="uuid:p")), load=False)
    result = runner.invoke(cli, args=["pipeline", "process"])
    assert result.exit_code == 0 and "1 loaded, 0 failed" in result.output
    assert [r["_key"] for r in snapshot(session)["wh_site_check"]] == ["uuid:p"]
