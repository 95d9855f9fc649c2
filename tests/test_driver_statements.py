"""Statements run on the driver give what SQLAlchemy's own execution gives, errors included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from pipeline import accounts
from pipeline.db import begin_write
from pipeline.driver_statements import DriverStatement
from pipeline.models import AppUser, Submission
from pipeline.warehouse_tables import UTCDateTime
from tests import builders

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
    form_id = builders.publish(session, "site_visit").form_id
    builders.publish(session, "site_visit", form_id="market", title="Market")
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
    keys = select(AppUser.name, AppUser.forms).where(AppUser.token == bindparam("key"))
    token = session.scalar(select(AppUser.token))
    assert DriverStatement(keys).first(conn, {"key": token}) == ("team", ["market", "site_visit"])
    assert DriverStatement(keys).first(conn, {"key": "nobody"}) is None
    assert DriverStatement(query).first(conn, {"iid": "uuid:none"}) is None
    session.commit()


def test_a_duplicate_raises_sqlalchemys_integrity_error(session):
    form_id = builders.publish(session, "site_visit").form_id
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


def test_many_rows_at_once_store_what_sqlalchemy_stores(session):
    """Warehouse columns are named after form fields: names SQLAlchemy must escape in binds
    (dots, dashes, brackets) reach the right columns, with their types' conversions."""
    metadata = MetaData()
    table = Table("driver_many", metadata, Column("id", Integer, primary_key=True),
                  Column("group.field-1", Text), Column("when(local)", UTCDateTime),
                  Column("day", Date), Column("count", BigInteger))
    begin_write(session)
    conn = session.connection()
    metadata.create_all(conn)
    keys = ["group.field-1", "when(local)", "day", "count"]
    rows = [{"group.field-1": "ক", "when(local)": datetime(2026, 11, 25, 15, 30, tzinfo=UTC),
             "day": date(2026, 11, 25), "count": 3},
            {"group.field-1": None, "when(local)": None, "day": None, "count": None}]
    DriverStatement(table.insert(), keys).execute_many(conn, rows)
    conn.execute(table.insert(), rows)  # the same through SQLAlchemy, for comparison
    stored = [tuple(r)[1:] for r in conn.execute(select(table).order_by(table.c.id))]
    assert stored[:2] == stored[2:]
    assert stored[0] == ("ক", datetime(2026, 11, 25, 15, 30, tzinfo=UTC), date(2026, 11, 25), 3)
    with pytest.raises(IntegrityError):  # the driver's error, as SQLAlchemy raises it
        DriverStatement(table.insert(), ["id", *keys]).execute_many(conn, [{"id": 1, **rows[0]}])
    session.rollback()
