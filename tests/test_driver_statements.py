"""Statements run on the driver give what SQLAlchemy's own execution gives, errors included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from pipeline import accounts
from pipeline.db import begin_write
from pipeline.driver_statements import DriverStatement
from pipeline.models import AppUser, Submission
from tests.collect import publish_site_visit

_COLUMNS = ["instance_id", "root_id", "deprecated_id", "current", "form_id", "form_version",
            "xml", "xml_sha256", "source", "source_ref", "submitter", "device_id", "received_at",
            "review_state", "attachments_expected", "parse_status"]


def _values(instance_id: str, form_id: int) -> dict:
    return {"instance_id": instance_id, "root_id": instance_id, "deprecated_id": None,
            "current": True, "form_id": form_id, "form_version": "1", "xml": b"<x>\xe0\xa6\x95</x>",
            "xml_sha256": "0" * 64, "source": "collect", "source_ref": None,
            "submitter": "রিনা", "device_id": None,
            "received_at": datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC),
            "review_state": "received", "attachments_expected": 2, "parse_status": "pending"}


def test_rows_and_types_match_sqlalchemy(session):
    form_id = publish_site_visit(session).form_id
    publish_site_visit(session, form_id="market", title="Market")
    accounts.create_app_user(session, "team", ["site_visit", "market"], actor="test")
    begin_write(session)
    conn = session.connection()
    inserting = DriverStatement(insert(Submission.__table__).returning(Submission.__table__.c.id),
                                _COLUMNS)
    [(new_id,)] = inserting.rows(conn, _values("uuid:d1", form_id))
    query = (select(Submission.id, Submission.xml, Submission.current, Submission.received_at,
                    Submission.submitter, Submission.attachments_expected)
             .where(Submission.instance_id == bindparam("iid")).limit(1))
    on_driver = DriverStatement(query).first(conn, {"iid": "uuid:d1"})
    assert on_driver == tuple(conn.execute(query, {"iid": "uuid:d1"}).one())
    assert on_driver[0] == new_id and on_driver[2] is True and on_driver[4] == "রিনা"
    # JSON and an absent row, as the upload's key lookup reads them.
    keys = select(*accounts.key_columns(bindparam("key")))
    token = session.scalar(select(AppUser.token))
    assert DriverStatement(keys).first(conn, {"key": token})[1:3] == ("team", ["market", "site_visit"])
    assert DriverStatement(keys).first(conn, {"key": "nobody"}) == (None, None, None, None)
    assert DriverStatement(query).first(conn, {"iid": "uuid:none"}) is None
    session.commit()


def test_a_duplicate_raises_sqlalchemys_integrity_error(session):
    form_id = publish_site_visit(session).form_id
    begin_write(session)
    inserting = DriverStatement(insert(Submission.__table__).returning(Submission.__table__.c.id),
                                _COLUMNS)
    inserting.rows(session.connection(), _values("uuid:dup", form_id))
    with pytest.raises(IntegrityError):
        inserting.rows(session.connection(), _values("uuid:dup", form_id))
    session.rollback()


def test_an_insert_that_would_need_a_python_default_is_refused(session):
    begin_write(session)
    partial = DriverStatement(insert(Submission.__table__), ["instance_id", "root_id"])
    with pytest.raises(ValueError, match="defaults"):
        partial.rows(session.connection(), {"instance_id": "uuid:p", "root_id": "uuid:p"})
    session.rollback()
