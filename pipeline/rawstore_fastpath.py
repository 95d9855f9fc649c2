"""The raw store's one-statement path for the usual upload: new, not an edit, no file rows.

Most uploads are a new instance of an open form, with nothing to look up but whether that holds
(who may write it was decided before, in ``ingest.accept``). One ``INSERT ... SELECT ... WHERE`` checks it all and inserts, as a
transaction of its own: one round trip to the database instead of a lookup, an insert and a
commit. When any condition fails it inserts nothing and ``rawstore.store`` takes its usual path,
which answers every other case (a resend, an edit, a late original, a refused key or form) and
decides exactly as it would have anyway.

The statement needs the form version's file fields (to count the files the submission names);
they come from ``rawstore``'s cache, filled by the usual path, and the version's md5 is part of
the condition, so a cached entry can never describe another version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, insert, select

from .driver_statements import DriverStatement
from .models import Form, FormVersion, Submission

_S = Submission.__table__
# The columns of a new ``submissions`` row that both ways of storing fill alike, from the upload
# (``rawstore._new_row``); each way adds its own chain and form columns.
NEW_ROW_COLUMNS = ("instance_id", "xml", "xml_sha256", "source", "source_ref", "submitter",
                   "device_id", "received_at", "review_state", "attachments_expected",
                   "parse_status")


def _statement() -> Any:
    columns = ["root_id", "current", "form_id", "form_version", *NEW_ROW_COLUMNS]
    values = select(
        bindparam("instance_id", type_=_S.c.root_id.type),
        bindparam("current", type_=_S.c.current.type),
        Form.__table__.c.id,
        bindparam("version", type_=_S.c.form_version.type),
        *(bindparam(name, type_=_S.c[name].type) for name in NEW_ROW_COLUMNS),
    ).select_from(Form.__table__.join(FormVersion.__table__, and_(
        FormVersion.__table__.c.form_id == Form.__table__.c.id,
        FormVersion.__table__.c.version == bindparam("version"),
        FormVersion.__table__.c.md5 == bindparam("md5"))))
    conditions = [
        Form.__table__.c.xml_form_id == bindparam("form_id"),
        Form.__table__.c.state != "closed",
        ~exists().where(_S.c.instance_id == bindparam("instance_id")),
        ~exists().where(_S.c.deprecated_id == bindparam("instance_id")),
    ]
    statement = insert(_S).from_select(columns, values.where(*conditions),
                                       include_defaults=False)
    return statement.returning(_S.c.id)


_INSERT = DriverStatement(_statement())


def try_insert(conn: Connection, params: dict[str, Any]) -> int | None:
    """Insert in one statement, committed on return (``conn`` has no transaction open): the
    new id, or None when the upload needs the usual path."""
    rows = _INSERT.rows_committed(conn, params)
    return rows[0][0] if rows else None
