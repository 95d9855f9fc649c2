"""Read warehouse rows for the domain modules: current, not rejected, optionally scoped by place.

Warehouse tables (``wh_{form_id}``, ``wh_{form_id}__{repeat}``) exist only once a submission of
their form has been loaded, so every reader here treats a missing table as "no rows yet" and never
creates one (readers run inside GET requests).
Review state and edits are read from the raw store (``submissions``), the source of truth: a row
counts when its submission is the current version and has not been rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from .. import warehouse
from ..models import Submission
from ..schema import table_name
from ..scope import Scope
from ..scope import where as scope_where

_REPEAT_INDEX = re.compile(r"\[(\d+)\]$")


def table(session: Session, form_id: str, repeat: str | None = None) -> Table | None:
    """The form's main table (or the table of repeat ``repeat``) as it is now, or None."""
    name = table_name(form_id, tuple(repeat.split("/")) if repeat else ())
    return warehouse.form_tables(session.connection(), form_id).get(name)


def current_rows(
    session: Session,
    form_id: str,
    where: dict[str, str | None] | None = None,
    *,
    scope: Scope | None = None,
    include_rejected: bool = False,
) -> list[dict[str, Any]]:
    """Rows of the form's main table whose submission is current (and not rejected).

    ``where`` maps column names to required values; a None value means "any"; ``scope`` limits
    the rows to a web user's area. Each row carries
    ``_state`` (the submission's review state now) and ``_root_key`` (the instanceID of the first
    version, without ``uuid:``, which stays the same across edits).
    """
    t = table(session, form_id)
    if t is None:
        return []
    subs = Submission.__table__
    query = (
        select(t, subs.c.review_state.label("_state"), subs.c.root_id.label("_root_id"))
        .join(subs, subs.c.id == t.c._submission_id)
        .where(subs.c.current.is_(True))
        .order_by(t.c._submission_id)
    )
    if not include_rejected:
        query = query.where(subs.c.review_state != "rejected")
    if scope is not None:
        query = query.where(scope_where(t, scope))
    for column, value in (where or {}).items():
        if value is None:
            continue
        if column not in t.c:
            return []  # asked to narrow by a place this form does not record
        query = query.where(t.c[column] == value)
    rows = []
    for row in session.execute(query).mappings():
        item = dict(row)
        item["_root_key"] = bare_key(item.pop("_root_id") or item["_key"])
        rows.append(item)
    return rows


def repeat_rows(session: Session, form_id: str, repeat: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of a repeat table grouped by ``_parent_key``, in the order they were filled."""
    t = table(session, form_id, repeat)
    if t is None:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(select(t)).mappings():
        grouped.setdefault(row["_parent_key"], []).append(dict(row))
    for rows in grouped.values():
        rows.sort(key=lambda r: _repeat_position(r["_key"]))
    return grouped


def repeat_values(
    session: Session, form_id: str, repeat: str, column: str
) -> dict[str, tuple[str, ...]]:
    """One column of a repeat table as a tuple per parent key."""
    return {
        parent: tuple(str(r.get(column) or "") for r in rows)
        for parent, rows in repeat_rows(session, form_id, repeat).items()
    }


def bare_key(key: str) -> str:
    return key[len("uuid:"):] if key.startswith("uuid:") else key


def as_date(value: object) -> date | None:
    """Dates arrive as ``date``, ``datetime`` or ISO text depending on table and backend."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def as_datetime(value: object) -> datetime | None:
    """A timezone-aware datetime (UTC when none is given), so values compare across backends."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_number(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _repeat_position(key: str) -> int:
    match = _REPEAT_INDEX.search(key or "")
    return int(match.group(1)) if match else 0
