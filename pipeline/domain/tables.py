"""Read warehouse rows for the domain modules: current, not rejected, optionally scoped by place.

Warehouse tables (``wh_{form_id}``, ``wh_{form_id}__{repeat}``) exist only once their form has
been published or received, so every reader here treats a missing table as "no rows yet".
Review state and edits are read from the raw store (``submissions``), the source of truth: a row
counts when its submission is the current version and has not been rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

from ..models import Submission

_REPEAT_INDEX = re.compile(r"\[(\d+)\]$")


def table(session: Session, name: str) -> Table | None:
    """The warehouse table called ``name`` as it is now in the database, or None."""
    conn = session.connection()
    if not inspect(conn).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=conn)


def current_rows(
    session: Session,
    name: str,
    where: dict[str, str | None] | None = None,
    *,
    include_rejected: bool = False,
) -> list[dict[str, Any]]:
    """Rows of main table ``name`` whose submission is current (and not rejected).

    ``where`` maps column names to required values; a None value means "any". Each row carries
    ``_state`` (the submission's review state now) and ``_root_key`` (the instanceID of the first
    version, without ``uuid:``, which stays the same across edits).
    """
    t = table(session, name)
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


def repeat_rows(session: Session, name: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of repeat table ``name`` grouped by ``_parent_key``, in the order they were filled."""
    t = table(session, name)
    if t is None:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(select(t)).mappings():
        grouped.setdefault(row["_parent_key"], []).append(dict(row))
    for rows in grouped.values():
        rows.sort(key=lambda r: _repeat_position(r["_key"]))
    return grouped


def repeat_values(session: Session, name: str, column: str) -> dict[str, tuple[str, ...]]:
    """One column of a repeat table as a tuple per parent key."""
    return {
        parent: tuple(str(r.get(column) or "") for r in rows)
        for parent, rows in repeat_rows(session, name).items()
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
