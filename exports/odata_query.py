"""OData system query options → SQL on the warehouse: ``$filter``, ``$orderby``, ``$select``,
paging (``$top``, ``$skip``, ``$skiptoken``). The parsing of ``$filter`` is ``odata-query``'s; this
module decides which properties exist, what they map to, and refuses the rest with a Problem.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser
from sqlalchemy import ColumnElement, and_, extract, false, not_, null, or_, true

from pipeline import problems
from pipeline.models import FROM_CENTRAL_REVIEW_STATES
from pipeline.schema import DATE, DATETIME, FLOAT, INTEGER, TEXT

from .odata_model import SYSTEM_FIELDS, Entity, Group, Leaf, Nav

MAX_TOP = 2**31 - 1
_ROOT = "$root/Submissions/"


@dataclass
class Options:
    top: int | None = None
    skip: int = 0
    count: bool = False
    filter: str | None = None
    orderby: str | None = None
    select: list[str] | None = None
    expand: bool = False
    wkt: bool = False
    skiptoken: dict[str, Any] | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Options:
        expand = args.get("$expand")
        if expand not in (None, "", "*"):
            raise problems.odata_unsupported(f"$expand={expand} (only $expand=*)")
        select = args.get("$select")
        token = args.get("$skiptoken")
        return cls(
            top=_count_arg(args, "$top"), skip=_count_arg(args, "$skip") or 0,
            count=_flag(args, "$count"), filter=args.get("$filter") or None,
            orderby=args.get("$orderby") or None,
            select=None if select in (None, "", "*") else [p.strip() for p in select.split(",")],
            expand=expand == "*", wkt=_flag(args, "$wkt"),
            skiptoken=decode_token(token) if token else None)


def _count_arg(args: Mapping[str, str], name: str) -> int | None:
    text = args.get(name)
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or int(text) > MAX_TOP:
        raise problems.odata_bad_query(f"{name} must be a whole number from 0, not '{text}'.")
    return int(text)


def _flag(args: Mapping[str, str], name: str) -> bool:
    text = (args.get(name) or "false").lower()
    if text not in ("true", "false"):
        raise problems.odata_bad_query(f"{name} must be true or false, not '{text}'.")
    return text == "true"


# ---- $skiptoken: Central's shape, "01" + base64(JSON) ----------------------------------------

def encode_token(data: Mapping[str, Any]) -> str:
    return "01" + base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    if not token.startswith("01"):
        raise problems.odata_bad_skiptoken()
    try:
        data = json.loads(base64.b64decode(token[2:], validate=True))
    except (binascii.Error, ValueError):
        raise problems.odata_bad_skiptoken() from None
    if not isinstance(data, dict):
        raise problems.odata_bad_skiptoken()
    return data


# ---- which properties exist and what they are in SQL ------------------------------------------

@dataclass
class Target:
    expr: Any  # a SQL expression
    kind: str  # storage kind: text, integer, float, date, datetime
    convert: Callable[[Any], Any] | None = None  # literal → stored value (review states)


@dataclass
class Properties:
    """Property paths (``a/b``) of one entity set and of ``$root/Submissions`` → SQL."""

    own: dict[str, Target] = field(default_factory=dict)
    root: dict[str, Target] = field(default_factory=dict)

    def get(self, path: str) -> Target:
        found = self.root.get(path[len(_ROOT):]) if path.startswith(_ROOT) else self.own.get(path)
        if found is None:
            raise problems.odata_unknown_property(path)
        return found


def properties(entity: Entity, table: Any, main: Entity, main_table: Any,
               updated_at: Any) -> Properties:
    own = _fields(entity, table)
    root = {**_fields(main, main_table), **_system(main_table, updated_at)}
    if entity.is_main:
        own.update(_system(main_table, updated_at))
    return Properties(own, root)


def _fields(entity: Entity, table: Any) -> dict[str, Target]:
    out: dict[str, Target] = {}
    for path, leaf in entity.leaves():
        if len(leaf.columns) == 1 and leaf.columns[0] in table.c:
            out["/".join(path)] = Target(table.c[leaf.columns[0]], leaf.kind)
    return out


def _system(main: Any, updated_at: Any) -> dict[str, Target]:
    def review(value: Any) -> Any:
        if value is not None and value not in FROM_CENTRAL_REVIEW_STATES:
            raise problems.odata_bad_query(
                f"'{value}' is not a review state: use null, hasIssues, edited, rejected or approved.")
        return FROM_CENTRAL_REVIEW_STATES[value]

    c = main.c
    return {
        "__id": Target(c._key, TEXT),
        "__system/submissionDate": Target(c._submitted_at, DATETIME),
        "__system/updatedAt": Target(updated_at, DATETIME),
        "__system/deletedAt": Target(null(), DATETIME),
        "__system/submitterId": Target(c._submitter, TEXT),
        "__system/submitterName": Target(c._submitter, TEXT),
        "__system/reviewState": Target(c._review_state, TEXT, review),
        "__system/deviceId": Target(c._device_id, TEXT),
        "__system/edits": Target(c._edits, INTEGER),
        "__system/formVersion": Target(c._form_version, TEXT),
        "__system/attachmentsPresent": Target(c._attachments_present, INTEGER),
        "__system/attachmentsExpected": Target(c._attachments_expected, INTEGER),
    }


# ---- $filter -------------------------------------------------------------------------------

_EXTRACT = ("year", "month", "day", "hour", "minute", "second")
_COMPARE = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}


def where(text: str, props: Properties) -> ColumnElement[bool]:
    """``$filter`` as a SQL condition; a property the entity set does not have is refused."""
    text = text.replace(_ROOT, "__root__/Submissions/")  # the lexer has no $root
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except ODataException as exc:
        raise problems.odata_bad_query(f"The $filter could not be read: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - sly raises plain errors on some inputs
        raise problems.odata_bad_query(f"The $filter could not be read: {exc}") from None
    try:
        return _Filter(props).condition(tree)
    except (ValueError, OverflowError) as exc:  # a literal no type can hold (2024-02-30)
        raise problems.odata_bad_query(f"The $filter has a value that cannot be read: {exc}") from None


class _Filter:
    def __init__(self, props: Properties) -> None:
        self.props = props

    def condition(self, node: Any) -> Any:
        if isinstance(node, ast.BoolOp):
            left, right = self.condition(node.left), self.condition(node.right)
            return and_(left, right) if isinstance(node.op, ast.And) else or_(left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not_(self.condition(node.operand))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Boolean):
            return true() if node.val.lower() == "true" else false()
        if isinstance(node, ast.Identifier | ast.Attribute):
            target = self.target(node)
            return target.expr.is_(True)
        raise problems.odata_unsupported(f"The $filter expression {type(node).__name__}")

    def compare(self, node: ast.Compare) -> Any:
        if isinstance(node.comparator, ast.In):
            target = self.target(node.left)
            values = node.right.val if isinstance(node.right, ast.List) else [node.right]
            return target.expr.in_([self.literal(v, target) for v in values])
        op = _COMPARE.get(type(node.comparator))
        if op is None:
            raise problems.odata_unsupported(f"The operator {type(node.comparator).__name__}")
        left, right = node.left, node.right
        if self.is_literal(left) and not self.is_literal(right):
            left, right = right, left
            op = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}.get(op, op)
        target = self.operand(left)
        value = self.literal(right, target) if self.is_literal(right) else self.operand(right).expr
        col = target.expr
        if value is None:
            if op == "eq":
                return col.is_(None)
            if op == "ne":
                return col.is_not(None)
            raise problems.odata_bad_query("Only eq and ne compare with null.")
        return {
            "eq": lambda: col == value,
            "ne": lambda: or_(col != value, col.is_(None)),
            "lt": lambda: col < value, "le": lambda: col <= value,
            "gt": lambda: col > value, "ge": lambda: col >= value,
        }[op]()

    @staticmethod
    def is_literal(node: Any) -> bool:
        return isinstance(node, ast._Literal) or (
            isinstance(node, ast.Call) and node.func.name == "now")

    def operand(self, node: Any) -> Target:
        if isinstance(node, ast.Call):
            name = node.func.name
            if name in _EXTRACT and len(node.args) == 1:
                inner = self.target(node.args[0])
                if inner.kind not in (DATE, DATETIME):
                    raise problems.odata_bad_query(f"{name}() needs a date or a date and time.")
                return Target(extract(name, inner.expr), INTEGER)
            raise problems.odata_unsupported(f"The function {name}()")
        return self.target(node)

    def target(self, node: Any) -> Target:
        return self.props.get(_path(node))

    def literal(self, node: Any, target: Target) -> Any:
        if isinstance(node, ast.Call):  # now()
            value: Any = datetime.now(UTC)
        elif isinstance(node, ast.Null):
            value = None
        elif isinstance(node, ast.Integer):
            value = int(node.val)
        elif isinstance(node, ast.Float):
            value = float(node.val)
        elif isinstance(node, ast.Boolean):
            value = node.val.lower() == "true"
        elif isinstance(node, ast.String):
            value = node.val
        elif isinstance(node, ast.DateTime):
            value = _datetime(node.val)
        elif isinstance(node, ast.Date):
            value = date.fromisoformat(node.val)
        else:
            raise problems.odata_unsupported(f"A {type(node).__name__} value in $filter")
        if target.convert is not None:
            return target.convert(value)
        return None if value is None else _coerce(value, target.kind)


def _path(node: Any) -> str:
    if isinstance(node, ast.Identifier):
        return node.name.replace("__root__", "$root")
    if isinstance(node, ast.Attribute):
        return f"{_path(node.owner)}/{node.attr}"
    raise problems.odata_bad_query("Compare a property with a value, e.g. age gt 5.")


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _coerce(value: Any, kind: str) -> Any:
    """A literal as the column's kind stores it (a date for a date column, and so on)."""
    try:
        if kind == DATETIME:
            if isinstance(value, datetime):
                return value.astimezone(UTC)
            if isinstance(value, date):
                return datetime.combine(value, time(), UTC)
            if isinstance(value, str):
                return _datetime(value).astimezone(UTC)
        elif kind == DATE:
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                return date.fromisoformat(value)
        elif kind in (INTEGER, FLOAT):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(value)
            return value
        else:  # text: compare as the text the phone sent
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
    except ValueError:
        pass
    raise problems.odata_bad_query(f"'{value}' cannot be compared with a {kind} property.")


# ---- $orderby ------------------------------------------------------------------------------

def order_by(text: str, props: Properties) -> list[Any]:
    """``a desc, __system/submissionDate`` → ORDER BY clauses (asc NULLS FIRST, desc NULLS LAST,
    as Central)."""
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise problems.odata_bad_query(f"'{part.strip()}' is not an $orderby item: use "
                                           "a property, then asc or desc.")
        expr = props.get(words[0]).expr
        desc = len(words) == 2 and words[1].lower() == "desc"
        out.append(expr.desc().nulls_last() if desc else expr.asc().nulls_first())
    return out


# ---- $select -------------------------------------------------------------------------------

@dataclass
class Selection:
    """What a row shows: ``None`` everywhere means everything."""

    paths: set[tuple[str, ...]] | None = None  # selected leaf / group paths
    ids: set[str] = field(default_factory=set)  # __id, __Submissions-id ...
    system: set[str] | None = None  # __system fields; None = all (or none, see ``show_system``)
    show_system: bool = True

    def wants(self, path: tuple[str, ...]) -> bool:
        if self.paths is None:
            return True
        return any(path[:len(p)] == p for p in self.paths)

    def under(self, path: tuple[str, ...]) -> bool:
        """Whether anything at or below group ``path`` is selected."""
        if self.paths is None:
            return True
        return any(p[:len(path)] == path or path[:len(p)] == p for p in self.paths)


def selection(items: list[str] | None, entity: Entity) -> Selection:
    if items is None:
        return Selection()
    paths: set[tuple[str, ...]] = set()
    ids: set[str] = set()
    system: set[str] = set()
    show_system = False
    known = _known_paths(entity)
    for item in items:
        if item == "__id" or item == entity.parent_id_name:
            ids.add(item)
        elif entity.is_main and item == "__system":
            show_system, system = True, set(SYSTEM_FIELDS)
        elif entity.is_main and item.startswith("__system/") and item[9:] in SYSTEM_FIELDS:
            show_system = True
            system.add(item[9:])
        elif tuple(item.split("/")) in known:
            paths.add(tuple(item.split("/")))
        elif any(p in _nav_paths(entity) for p in _prefixes(tuple(item.split("/")))):
            raise problems.odata_unsupported(f"$select of '{item}' inside a repeat "
                                             "(read its own entity set)")
        else:
            raise problems.odata_unknown_property(item)
    return Selection(paths, ids, system, show_system)


def _prefixes(path: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [path[:n] for n in range(1, len(path))]


def _known_paths(entity: Entity) -> set[tuple[str, ...]]:
    known: set[tuple[str, ...]] = set()

    def walk(members: list[Any], prefix: tuple[str, ...]) -> None:
        for m in members:
            path = (*prefix, m.name)
            known.add(path)
            if isinstance(m, Group):
                walk(m.members, path)

    walk(entity.members, ())
    return known


def _nav_paths(entity: Entity) -> set[tuple[str, ...]]:
    return {path for path, _nav in entity.navs()}


def is_selected_member(sel: Selection, path: tuple[str, ...], member: Leaf | Group | Nav) -> bool:
    if isinstance(member, Group):
        return sel.under(path)
    return sel.wants(path)


