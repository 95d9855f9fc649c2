"""Submission XML + ``FormSchema`` → typed rows for the main table and each repeat table.

Pure: no database. Keys follow ODK Central: the main row's ``_key`` is the instanceID
(``uuid:…``), a repeat row's is its parent's key plus the path and position
(``uuid:…/plans[2]``, nested ``uuid:…/plans[1]/inner[2]``). Anything the form does not declare,
and any value its type does not allow, is refused with ``problems.parse_failure`` naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from xml.etree.ElementTree import Element

from . import caches, safe_xml
from .problems import Problem, parse_failure
from .schema import ColumnSpec, FormSchema

Converter = Callable[[str], Any]

_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ZONE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + _ZONE)
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + _ZONE)
_INT_RANGE = 2**63


@dataclass
class ParsedSubmission:
    schema: FormSchema
    instance_id: str | None
    deprecated_id: str | None
    instance_name: str | None
    # Table name → rows, main table first with exactly one row; every row has every column.
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def main(self) -> dict[str, Any]:
        return self.rows[self.schema.main.name][0]


class _Bad(ValueError):
    """A value its field's type does not allow; turned into a Problem naming the field."""


def _to_int(text: str) -> int:
    if not _INT.fullmatch(text) or not -_INT_RANGE <= int(text) < _INT_RANGE:
        raise _Bad("a whole number")
    return int(text)


def _to_float(text: str) -> float:
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise _Bad("a decimal number")
    return value


def _to_date(text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _Bad("a date (YYYY-MM-DD)")


def _to_datetime(text: str) -> datetime:
    try:
        if _DATETIME.fullmatch(text):
            value = datetime.fromisoformat(text)
            value = value if value.tzinfo else value.replace(tzinfo=UTC)  # no offset: UTC
            value.astimezone(UTC)  # refuses instants that do not exist in UTC (year 1, -14:00)
            return value
    except (ValueError, OverflowError):
        pass
    raise _Bad("a date and time (YYYY-MM-DDThh:mm:ss+hh:mm)")


def _to_time(text: str) -> str:
    # Kept as sent: a time of day with an offset has no faithful SQL type on SQLite.
    if _TIME.fullmatch(text) and int(text[:2]) < 24 and int(text[3:5]) < 60:
        return text
    raise _Bad("a time (hh:mm:ss)")


_CONVERTERS: dict[str, Converter] = {
    "int": _to_int, "decimal": _to_float, "date": _to_date, "dateTime": _to_datetime,
    "time": _to_time,
}


def _geopoint(column: ColumnSpec) -> Callable[[str | None], dict[str, Any]]:
    names = [name for name, _ in column.sql_columns()]

    def convert(text: str | None) -> dict[str, Any]:
        if text is None:
            return dict.fromkeys(names)
        parts = text.split()
        try:
            if not 2 <= len(parts) <= 4:
                raise _Bad("")
            numbers = [_to_float(p) for p in parts]
        except _Bad:
            raise _Bad("a location: latitude longitude [altitude accuracy]") from None
        if not (-90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180):
            raise _Bad("a location with latitude in -90..90 and longitude in -180..180")
        return dict(zip(names, numbers + [None] * (4 - len(numbers)), strict=True))

    return convert


def _select_multiple(column: ColumnSpec) -> Callable[[str | None], dict[str, Any]]:
    choice_columns = list(zip(column.choices or {}, [n for n, _ in column.sql_columns()[1:]],
                              strict=True))

    def convert(text: str | None) -> dict[str, Any]:
        if text is None:
            return {column.name: None, **{name: None for _, name in choice_columns}}
        chosen = set(text.split())
        return {column.name: text, **{name: int(v in chosen) for v, name in choice_columns}}

    return convert


def _converter(column: ColumnSpec) -> tuple[str | None, Callable[[str | None], Any]]:
    """(column name, text → value) for one-column fields; (None, text → {column: value}) for
    fields that fill several columns."""
    if column.type == "geopoint":
        return None, _geopoint(column)
    if column.type == "select_multiple" and column.choices:
        return None, _select_multiple(column)
    typed = _CONVERTERS.get(column.type)
    if typed is None:
        return column.name, lambda text: text
    return column.name, lambda text: None if text is None else typed(text.strip())


FIELD, REPEAT, GROUP, IGNORED = range(4)


@dataclass
class _Plan:
    """What the parser needs, prepared once per form version: for each element path, what each
    child name is (a field with its converter, a repeat, a group, or a note to skip)."""

    children: dict[str, dict[str, tuple[int, str, Any]]]
    templates: dict[str, dict[str, Any]]


_PLANS: dict[int, tuple[FormSchema, _Plan]] = {}
caches.register(_PLANS.clear)


def _plan(schema: FormSchema) -> _Plan:
    cached = _PLANS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    nodes: dict[str, tuple[int, Any]] = {}
    templates: dict[str, dict[str, Any]] = {}
    for table in schema.tables:
        if table.parent is not None:
            nodes[table.path] = (REPEAT, table)
        template: dict[str, Any] = {"_key": None}
        if table.parent is not None:
            template["_parent_key"] = None
        for column in table.columns:
            nodes[column.path] = (FIELD, (column, *_converter(column)))
            template.update(dict.fromkeys(name for name, _ in column.sql_columns()))
        templates[table.name] = template
    for path in schema.ignored:
        nodes[path] = (IGNORED, None)
    depth = len(schema.root.split("/"))
    for path in list(nodes):
        parts = path.split("/")
        for n in range(depth + 1, len(parts)):
            nodes.setdefault("/".join(parts[:n]), (GROUP, None))
    children: dict[str, dict[str, tuple[int, str, Any]]] = {}
    for path, (kind, payload) in nodes.items():
        parent, name = path.rsplit("/", 1)
        children.setdefault(parent, {})[name] = (kind, path, payload)
    plan = _Plan(children, templates)
    _PLANS[id(schema)] = (schema, plan)
    return plan


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse(schema: FormSchema, xml: bytes, key: str | None = None) -> ParsedSubmission:
    """Typed rows of one submission. ``key`` overrides the instanceID as the main row's key
    (an edit keeps its original's key). Raises ``Problem`` (submission.unparsable) only."""
    try:  # read as every door reads it: no DTD at all, within the limits
        root = safe_xml.submission(xml)
    except Problem as refused:
        raise parse_failure(refused.message) from None
    if not isinstance(root, Element):
        raise parse_failure("The submission has no root element.")
    form_id = root.get("id")
    if form_id is not None and form_id != schema.form_id:
        raise parse_failure(f"The submission is for form '{form_id}', not '{schema.form_id}'.")
    meta = _meta(root)
    key = key or meta.get("instanceID")
    if not key:
        raise parse_failure("The submission has no meta/instanceID.")
    plan = _plan(schema)
    parsed = ParsedSubmission(schema, meta.get("instanceID"), meta.get("deprecatedID"),
                              meta.get("instanceName"),
                              {table.name: [] for table in schema.tables})
    main = dict(plan.templates[schema.main.name], _key=key)
    parsed.rows[schema.main.name].append(main)
    try:
        _walk(root, schema.root, schema.root, main, key, parsed, plan, set(), {})
    except RecursionError:
        raise parse_failure("The submission nests elements too deeply.") from None
    return parsed


rows = parse  # the name docs/architecture.md gives


def _meta(root: Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for child in root:
        tag = child.tag
        if tag == "meta" or (isinstance(tag, str) and tag.endswith("}meta")):
            for item in child:
                text = (item.text or "").strip()
                if text:
                    found[_local(item.tag)] = text
    return found


def _walk(el: Element, path: str, table_path: str, row: dict[str, Any], key: str,
          parsed: ParsedSubmission, plan: _Plan, seen: set[str], counters: dict[str, int]) -> None:
    known = plan.children.get(path, {})
    at_root = path == parsed.schema.root
    for child in el:
        tag = child.tag
        node = known.get(tag) if isinstance(tag, str) else None
        if node is None:
            name = _local(tag)
            if at_root and name == "meta":
                continue
            node = known.get(name)
            if node is None:
                schema = parsed.schema
                raise parse_failure(f"Field '{path}/{name}' is not in form '{schema.form_id}' "
                                    f"version '{schema.version}'.")
        kind, child_path, payload = node
        if kind == FIELD:
            if child_path in seen:
                raise parse_failure(f"Field '{child_path}' appears more than once.")
            seen.add(child_path)
            column, name, convert = payload
            if len(child):
                raise parse_failure(f"Field '{child_path}' holds elements, not a value.")
            try:
                if name is None:
                    row.update(convert(child.text or None))
                else:
                    row[name] = convert(child.text or None)
            except _Bad as bad:
                raise parse_failure(
                    f"Field '{child_path}' ({column.type}) must be {bad}; got {child.text!r}."
                ) from None
        elif kind == REPEAT:
            counters[child_path] = position = counters.get(child_path, 0) + 1
            child_key = f"{key}/{child_path[len(table_path) + 1:]}[{position}]"
            child_row = dict(plan.templates[payload.name], _key=child_key, _parent_key=key)
            parsed.rows[payload.name].append(child_row)
            _walk(child, child_path, child_path, child_row, child_key, parsed, plan, set(), {})
        elif kind == GROUP:
            if child_path in seen:
                raise parse_failure(f"Group '{child_path}' appears more than once.")
            seen.add(child_path)
            _walk(child, child_path, table_path, row, key, parsed, plan, seen, counters)


__all__ = ["ParsedSubmission", "Problem", "parse", "rows"]
