"""A form's OData feed from the warehouse: the rows a user may see, as Central's JSON, streamed.

The rows come from ``exports.query.select_form`` with the user's scope (the one scoping rule of
every door: ``pipeline.scope``), so the feed never fetches a row outside it. ``Submissions`` is
read newest first (``_submission_id`` descending, as the web lists) and paged by keyset:
``$skiptoken`` carries the last row's position, so page 2,000 costs what page 1 costs. With
``$orderby`` the token carries an offset instead. Rows are read from a server-side cursor in
chunks and written as they come: memory does not grow with the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from pipeline import problems
from pipeline.models import AuditEvent, Submission
from pipeline.warehouse_tables import UTCDateTime, kind_of

from . import odata_model as model
from . import odata_query as q
from .query import FormSelection, select_form

CHUNK_ROWS = 1000
_POSITION = re.compile(r"\[(\d+)\]")
_POSITION_END = re.compile(r"\[\d+\]")


@dataclass
class Feed:
    """One form's service as one user sees it."""

    sel: FormSelection
    service: model.Service

    @property
    def main_table(self) -> Any:
        return self.sel.main

    def table(self, entity: model.Entity) -> Any:
        return self.sel.tables[entity.spec.name]


def open_feed(session: Session, form_id: str, scope: Iterable[str]) -> Feed:
    """The feed of ``form_id`` limited to ``scope``; 404 when the form has no data yet."""
    sel = select_form(session, form_id, list(scope))
    if sel is None:
        raise problems.unknown_form(form_id)
    kinds = {name: {c.name: c.info.get("kind") or kind_of(c.type) for c in table.c}
             for name, table in sel.tables.items()}
    return Feed(sel, model.build(sel.schema, kinds))


def updated_at(main: Any) -> Any:
    """``__system/updatedAt``: the last review of the current version, else when the current
    version (an edit) arrived; null for an original never reviewed (as Central)."""
    reviewed = (select(func.max(AuditEvent.at))
                .where(AuditEvent.submission_id == main.c._submission_id,
                       AuditEvent.action == "submission.review")
                .scalar_subquery())
    edited = (select(Submission.received_at).where(Submission.id == main.c._submission_id)
              .scalar_subquery())
    return type_coerce(func.coalesce(reviewed, case((main.c._edits > 0, edited))), UTCDateTime())


# ---- the statement for one entity set ---------------------------------------------------------

@dataclass
class Page:
    """What to stream: the statement (ordered, paged), the count query, and how to make the
    next page's token from the last row sent."""

    stmt: Select
    count_stmt: Select | None
    limit: int | None
    token_for: Callable[[Mapping[str, Any], int], dict[str, Any]]


def page(feed: Feed, entity: model.Entity, opts: q.Options,
         parent: tuple[str, list[str]] | None = None, session: Session | None = None) -> Page:
    """``parent`` = (instanceID, ids of enclosing repeat rows) limits a repeat to the rows below
    one parent (a navigation link)."""
    main, table = feed.main_table, feed.table(entity)
    updated = updated_at(main).label("__updated_at")
    props = q.properties(entity, table, feed.service.main, main, updated_at(main))
    conditions = [feed.sel.condition]
    if opts.filter:
        conditions.append(q.where(opts.filter, props))
    if entity.is_main:
        stmt = select(main, updated).where(*conditions)
        keys = [main.c._submission_id]
    else:
        joined = table.join(main, table.c._submission_id == main.c._submission_id)
        stmt = select(table).select_from(joined).where(*conditions)
        keys = [table.c._submission_id, table.c._key]
        if parent is not None:
            assert session is not None
            stmt = stmt.where(table.c._parent_key == _parent_key(session, feed, entity, *parent))
    if parent is not None and entity.is_main:
        stmt = stmt.where(main.c._key == parent[0])
    count_stmt = (select(func.count()).select_from(stmt.order_by(None).subquery())
                  if opts.count else None)
    token = opts.skiptoken
    if opts.orderby:
        order = q.order_by(opts.orderby, props)
        stmt = stmt.order_by(*order, *keys)
        offset = int(token.get("o", -1)) if token is not None else opts.skip
        if offset < 0:
            raise problems.odata_bad_skiptoken()
        stmt = stmt.offset(offset) if offset else stmt
        token_for: Callable[[Mapping[str, Any], int], dict[str, Any]] = \
            lambda row, sent: {"o": offset + sent}  # noqa: E731
    elif entity.is_main:
        stmt = stmt.order_by(main.c._submission_id.desc())
        if token is not None:
            stmt = stmt.where(main.c._submission_id < _main_position(feed, token, session))
        elif opts.skip:
            stmt = stmt.offset(opts.skip)
        token_for = lambda row, _sent: {"instanceId": row["_key"], "s": row["_submission_id"]}  # noqa: E731
    else:
        stmt = stmt.order_by(table.c._submission_id.desc(), table.c._key)
        if token is not None:
            sid, key = token.get("s"), token.get("k")
            if not isinstance(sid, int) or not isinstance(key, str):
                raise problems.odata_bad_skiptoken()
            stmt = stmt.where(or_(table.c._submission_id < sid,
                                  and_(table.c._submission_id == sid, table.c._key > key)))
        elif opts.skip:
            stmt = stmt.offset(opts.skip)
        token_for = lambda row, _sent: {"repeatId": model.repeat_id(row["_key"]),  # noqa: E731
                                        "s": row["_submission_id"], "k": row["_key"]}
    if opts.top is not None:
        stmt = stmt.limit(opts.top + 1)  # one more than asked: is there a next page?
    return Page(stmt, count_stmt, opts.top, token_for)


def _main_position(feed: Feed, token: Mapping[str, Any], session: Session | None) -> int:
    sid = token.get("s")
    if isinstance(sid, int) and not isinstance(sid, bool):
        return sid
    instance_id = token.get("instanceId")  # a token in Central's own shape
    if isinstance(instance_id, str) and session is not None:
        main = feed.main_table
        found = session.scalar(select(main.c._submission_id).where(main.c._key == instance_id))
        if found is not None:
            return int(found)
    raise problems.odata_bad_skiptoken()


def _parent_key(session: Session, feed: Feed, entity: model.Entity, instance_id: str,
                row_ids: list[str]) -> str:
    """The warehouse key of the row a navigation link names (its parent repeat row's hash
    resolved among that submission's rows)."""
    main = feed.main_table
    found = session.scalar(select(main.c._key).where(feed.sel.condition, main.c._key == instance_id))
    if found is None:
        raise problems.not_found(f"Submission {instance_id}")
    key = found
    chain = []
    node = entity.parent
    while node is not None and node.parent is not None:
        chain.append(node)
        node = node.parent
    for anc, row_id in zip(reversed(chain), row_ids, strict=True):
        table = feed.table(anc)
        keys = session.scalars(select(table.c._key).where(table.c._parent_key == key))
        key = next((k for k in keys if model.repeat_id(k) == row_id), None)
        if key is None:
            raise problems.not_found(f"Row {row_id}")
    return key


# ---- rows as JSON -----------------------------------------------------------------------------

class RowWriter:
    """Row → the JSON object Central writes for it (``$select``, ``$expand=*`` and ``$wkt``)."""

    def __init__(self, feed: Feed, entity: model.Entity, opts: q.Options,
                 nested: bool = False) -> None:
        self.feed, self.entity, self.opts = feed, entity, opts
        self.sel = q.selection(opts.select if not nested else None, entity)
        self.nested = nested  # an expanded row inside its parent: no parent id
        self.members = self._compile(entity.members, ())
        self.children = {nav.entity.spec.name: RowWriter(feed, nav.entity, opts, nested=True)
                         for _path, nav in entity.navs()} if opts.expand else {}

    def _compile(self, members: list[Any], prefix: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
        out = []
        for m in members:
            path = (*prefix, m.name)
            if not q.is_selected_member(self.sel, path, m):
                continue
            if isinstance(m, model.Leaf):
                out.append(("leaf", m.name, model.value_getter(m, self.opts.wkt)))
            elif isinstance(m, model.Group):
                out.append(("group", m.name, self._compile(m.members, path)))
            else:
                out.append(("nav", m.name, m.entity))
        return out

    def write(self, row: Mapping[str, Any], instance_id: str, parent_ids: list[str],
              children: Mapping[str, Mapping[str, list[Any]]] | None = None) -> dict[str, Any]:
        """``parent_ids``: ``__id`` of each enclosing repeat row (for navigation links)."""
        entity, sel = self.entity, self.sel
        out: dict[str, Any] = {}
        own_id = row["_key"] if entity.is_main else model.repeat_id(row["_key"])
        if sel.paths is None or "__id" in sel.ids:
            out["__id"] = own_id
        if not entity.is_main and not self.nested and (sel.paths is None
                                                       or entity.parent_id_name in sel.ids):
            parent_key = row["_parent_key"]
            out[entity.parent_id_name or ""] = (parent_key if entity.parent is not None
                                                and entity.parent.is_main
                                                else model.repeat_id(parent_key))
        if entity.is_main and sel.show_system:
            system = model.system(row, row.get("__updated_at"))
            out["__system"] = (system if sel.system is None
                               else {k: v for k, v in system.items() if k in sel.system})
        ids = parent_ids if entity.is_main else [*parent_ids, own_id]
        self._fill(out, self.members, row, instance_id, ids, children or {})
        return out

    def _fill(self, out: dict[str, Any], members: list[tuple[str, Any, Any]],
              row: Mapping[str, Any], instance_id: str, ids: list[str],
              children: Mapping[str, Mapping[str, list[Any]]]) -> None:
        for kind, name, what in members:
            if kind == "leaf":
                out[name] = what(row)
            elif kind == "group":
                inner: dict[str, Any] = {}
                self._fill(inner, what, row, instance_id, ids, children)
                out[name] = inner
            else:
                out[f"{name}@odata.navigationLink"] = model.navigation_link(instance_id, what, ids)
                if self.opts.expand:
                    writer = self.children[what.spec.name]
                    rows = children.get(what.spec.name, {}).get(row["_key"], [])
                    out[name] = [writer.write(r, instance_id, ids, children) for r in rows]


def expanded_children(session: Session, feed: Feed, entity: model.Entity,
                      keys: list[str]) -> dict[str, dict[str, list[Any]]]:
    """Rows of every repeat below ``entity``'s rows ``keys``: table → parent key → rows."""
    out: dict[str, dict[str, list[Any]]] = {}
    todo = [(nav.entity, keys) for _p, nav in entity.navs()]
    while todo:
        child, parents = todo.pop()
        if not parents:
            continue
        table = feed.table(child)
        grouped: dict[str, list[Any]] = {}
        for start in range(0, len(parents), 500):
            stmt = select(table).where(table.c._parent_key.in_(parents[start:start + 500]))
            for r in session.connection().execute(stmt).mappings():
                grouped.setdefault(r["_parent_key"], []).append(r)
        for rows in grouped.values():
            rows.sort(key=lambda r: [int(n) for n in _POSITION.findall(r["_key"])])
        out[child.spec.name] = grouped
        child_keys = [r["_key"] for rows in grouped.values() for r in rows]
        todo.extend((nav.entity, child_keys) for _p, nav in child.navs())
    return out


def stream(session: Session, feed: Feed, entity: model.Entity, opts: q.Options, context: str,
           next_link: Callable[[str], str],
           parent: tuple[str, list[str]] | None = None) -> Iterator[str]:
    """The JSON document of one entity set, in pieces: header, rows a chunk at a time, footer.
    Everything that can fail on bad input fails before the first piece."""
    writer = RowWriter(feed, entity, opts)
    plan = page(feed, entity, opts, parent, session)
    head = {"@odata.context": context}
    if plan.count_stmt is not None:
        head["@odata.count"] = int(session.scalar(plan.count_stmt) or 0)
    header = json.dumps(head, ensure_ascii=False)[:-1] + ',"value":['
    if plan.limit == 0:
        return iter([header + "]}"])
    return _rows(session, feed, entity, opts, plan, writer, header, next_link, parent)


def _rows(session: Session, feed: Feed, entity: model.Entity, opts: q.Options, plan: Page,
          writer: RowWriter, header: str, next_link: Callable[[str], str],
          parent: tuple[str, list[str]] | None) -> Iterator[str]:
    yield header
    sent, last, more = 0, None, False
    parent_ids = parent[1] if parent else []
    conn = session.connection()
    result = conn.execute(plan.stmt.execution_options(yield_per=CHUNK_ROWS)).mappings()
    for chunk in result.partitions():
        if plan.limit is not None and sent + len(chunk) > plan.limit:
            more = True
            chunk = chunk[:plan.limit - sent]
        children = (expanded_children(session, feed, entity, [r["_key"] for r in chunk])
                    if opts.expand and chunk else None)
        pieces = []
        for row in chunk:
            instance_id = row["_key"] if entity.is_main else _instance_of(row["_key"])
            ids = parent_ids if entity.is_main or parent else _ancestor_ids(row["_key"], entity)
            pieces.append(json.dumps(writer.write(row, instance_id, ids, children),
                                     ensure_ascii=False, separators=(",", ":")))
        if pieces:
            yield ("," if sent else "") + ",".join(pieces)
            sent += len(pieces)
            last = chunk[-1]
        if more:
            break
    result.close()
    footer = "]"
    if more and last is not None:
        footer += "," + json.dumps({"@odata.nextLink": next_link(
            q.encode_token(plan.token_for(last, sent)))})[1:-1]
    yield footer + "}"


def _instance_of(key: str) -> str:
    return key.split("/", 1)[0]


def _ancestor_ids(key: str, entity: model.Entity) -> list[str]:
    """``__id``s of the repeat rows enclosing a repeat row, outermost first: their keys are the
    prefixes of its key that end in a position (``uuid:…/a[1]`` of ``uuid:…/a[1]/g/b[2]``)."""
    return [model.repeat_id(key[:m.end()]) for m in _POSITION_END.finditer(key)
            if m.end() < len(key)]
