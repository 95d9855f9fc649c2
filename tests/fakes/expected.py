"""Checks shared by the connector tests: a real form's sample answers, found in the warehouse."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from pipeline import warehouse
from tests import formtools


def _norm(value) -> str:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    if isinstance(value, list):
        return " ".join(value)
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def assert_answers_in_warehouse(session, form_id: str, key: str) -> None:
    """Every sample answer of ``form_id`` is in its warehouse row (or repeat row)."""
    conn = session.connection()
    tables = warehouse.tables_for(conn, form_id)
    main = tables[f"wh_{form_id}"]
    row = conn.execute(select(main).where(main.c._key == key)).mappings().one()
    for path, value in formtools.SAMPLE_ANSWERS[form_id]:
        steps = path.split("/")[2:]
        if len(steps) == 1:
            name = steps[0]
            if name == "location":
                lat, lon, alt, acc = value.split()
                got = [row["location_latitude"], row["location_longitude"],
                       row["location_altitude"], row["location_accuracy"]]
                assert [_norm(g) for g in got] == [_norm(v) for v in (lat, lon, alt, acc)]
                continue
            assert _norm(row[name]) == _norm(value), (form_id, name)
        else:
            repeat, index = re.match(r"(\w+)\[(\d+)\]", steps[0]).groups()
            table = tables[f"wh_{form_id}__{repeat}"]
            child = conn.execute(select(table).where(
                table.c._key == f"{key}/{repeat}[{index}]")).mappings().one()
            assert _norm(child[steps[1]]) == _norm(value), (form_id, path)
