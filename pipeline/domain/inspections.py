"""Each registry project's progress, read from its inspections.

Progress is never stored: it is computed from the ``innovation_inspection`` submissions that are
current and not rejected, so an inspection changes a project only while it stands, and a later
approval or rejection shows at once. Inspections are ordered by visit date (then by the time
they were received); the latest one gives progress, stage and the time/cost/visits (TCV)
before and after.

An inspection of a project the phone's list did not offer (``project_listed`` = no) describes it
instead (``new_project_name``, ``new_project_code``, ``new_project_office``,
``new_project_category``). It counts for the registry project whose code is its
``new_project_code``, or, without a code, the project of its district whose English or Bengali
title is its name (case, spacing and punctuation aside). Until there is one it is a *candidate*
(``candidates``) that an admin adds to the registry in one step (``add_candidate``).

The project such an inspection counts for is kept on its warehouse row (``_project_code``, an
indexed column): matched when the row is written (``match_projects``, called by
``pipeline.warehouse`` on every load, edit and rebuild) and matched again whenever the registry
changes (``rematch``: a registry import, a candidate added), so the dashboard reads it from an
index instead of matching every such inspection.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    Table,
    Text,
    bindparam,
    func,
    inspect,
    or_,
    select,
    true,
    update,
    values,
)
from sqlalchemy import column as sa_column
from sqlalchemy.orm import Session

from .. import problems
from ..db import end_read, serialize_loads, write_transaction
from ..models import AuditEvent, Form, InnovationProject, Submission
from ..schema import table_name
from ..scope import Scope
from ..warehouse_tables import PROJECT_CODE, form_tables
from . import places, tables
from .ballots import normalise_name
from .projects import CATEGORIES, CODE, import_projects, list_projects

__all__ = ["import_projects", "registry", "behind_schedule", "project_history",
           "unregistered_inspections", "candidates", "add_candidate", "match_projects", "rematch"]

FORM_ID = "innovation_inspection"
TCV_FIELDS = ("time_before", "time_after", "cost_before", "cost_after", "visits_before",
              "visits_after")
# A project at or past this progress is complete: it cannot fall behind.
COMPLETE = 100.0
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Inspection:
    project: str
    key: str
    submission_id: int
    visit_date: date | None
    received_at: datetime | None
    progress: float | None
    stage: str
    on_plan: str
    recommendation: str
    inspector_name: str
    inspector_role: str
    review_state: str
    tcv: dict[str, float | None]


@dataclass(frozen=True)
class ProjectStatus:
    code: str
    title_en: str
    title_bn: str
    division: str
    district: str
    upazila: str | None
    office: str
    started_on: date | None
    category: str
    inspections: int
    last_inspected: date | None
    progress: float | None
    stage: str | None
    recommendation: str | None
    latest: Inspection | None
    previous: Inspection | None

    def tcv(self, name: str) -> float | None:
        """One of ``TCV_FIELDS`` from the latest inspection."""
        return self.latest.tcv.get(name) if self.latest else None


@dataclass(frozen=True)
class Behind:
    status: ProjectStatus
    reasons: tuple[tuple[str, str], ...]  # (code, sentence): never_inspected, no_recent_inspection, progress_stalled


def registry(
    session: Session, division: str | None = None, district: str | None = None,
    upazila: str | None = None, scope: Scope | None = None, counted: bool = True,
) -> list[ProjectStatus]:
    """Every registry project in the area (and the user's scope) with its current progress.

    Per project the database gives the two newest standing inspections (an indexed ``LIMIT 2``
    each, all in one statement) and, when ``counted``, how many there are (one grouped count):
    all a status needs, so neither time nor memory grows with the inspections read (a dashboard
    at a million). The same is asked of the inspections of projects that were not in the list,
    by the registry project each was matched to (``_project_code``, its own index).
    """
    projects = [
        p for p in list_projects(session, division, district, upazila)
        if scope is None or scope.allows({"division": p.division, "district": p.district})
    ]
    codes = {p.code for p in projects}
    seen: dict[str, _Seen] = {}
    main = tables.table(session, FORM_ID)
    if main is not None and codes and "project" in main.c:
        listed = (or_(main.c.project_listed.is_(None), main.c.project_listed != "no")
                  if "project_listed" in main.c else true())
        ways = [(main.c.project, listed)]
        if PROJECT_CODE in main.c:  # matched inspections of projects not in the list
            ways.append((main.c[PROJECT_CODE], true()))
        for column, where in ways:
            wanted = sorted(codes)
            if column is not main.c.project:  # asked only for the projects some were matched to
                wanted = sorted(session.scalars(select(column).where(column.in_(wanted)).distinct()))
            for row in _newest_two(session, main, column, wanted, where):
                _see(seen, row[column.name], row)
            if counted:
                for code, n in session.execute(
                        _standing(main, where, column.in_(sorted(codes)))
                        .with_only_columns(column, func.count()).group_by(column)):
                    seen.setdefault(code, _Seen()).count += n
    statuses = summarise(projects, [i for e in seen.values() for _, i in e.last_two])
    return [replace(s, inspections=seen[s.code].count, last_inspected=seen[s.code].last_visit)
            if s.code in seen else s for s in statuses]


@dataclass
class _Seen:
    count: int = 0
    last_visit: date | None = None
    # heap of (order, inspection), order as ``_order``: only the last two are ever built
    last_two: list[tuple[Any, ...]] = field(default_factory=list)


def _see(seen: dict[str, _Seen], code: str, row: dict[str, Any]) -> None:
    entry = seen.setdefault(code, _Seen())
    visit = tables.as_date(row.get("visit_date"))
    if visit and (entry.last_visit is None or visit > entry.last_visit):
        entry.last_visit = visit
    order = (visit or date.min, tables.as_datetime(row.get("_submitted_at")) or _EARLIEST,
             int(row["_submission_id"]))
    row = {**row, "project": code}
    if len(entry.last_two) < 2:
        heapq.heappush(entry.last_two, (order, _inspection(row)))
    elif order > entry.last_two[0][0]:
        heapq.heapreplace(entry.last_two, (order, _inspection(row)))


_WANTED = ("project", PROJECT_CODE, "visit_date", "progress", "stage", "on_plan", "recommendation",
           "inspector_name", "inspector_role", *TCV_FIELDS, "_key", "_submission_id",
           "_submitted_at", "district")


def _standing(main: Table, *where: Any) -> Select[Any]:
    """Current, not rejected inspections (with the columns a status reads)."""
    subs = Submission.__table__
    return (select(*(main.c[c] for c in (*_WANTED, *NEW_FIELDS) if c in main.c),
                   subs.c.review_state.label("_state"))
            .join(subs, subs.c.id == main.c._submission_id)
            .where(subs.c.current.is_(True), subs.c.review_state != "rejected", *where))


def _newest_two(session: Session, main: Table, column: Any, codes: list[str],
                where: Any) -> Iterator[dict[str, Any]]:
    """The two newest standing inspections of each project by ``column`` (``_order``, newest
    first), each a walk down the column's index that stops after two rows. PostgreSQL takes
    all projects in one statement (a ``LATERAL`` join over the codes: planned once, where a
    statement per project spent most of its time being planned, 0.5 s for 128 projects on a
    loaded machine); SQLite, which has no ``LATERAL`` and plans in-process, runs one compiled
    statement per project."""
    if not codes:
        return
    visit = main.c.visit_date if "visit_date" in main.c else main.c._submitted_at
    order = (visit.desc().nulls_last(), main.c._submitted_at.desc().nulls_last(),
             main.c._submission_id.desc())
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        wanted = values(sa_column("code", Text), name="wanted").data([(c,) for c in codes])
        each = _standing(main, column == wanted.c.code, where).order_by(*order).limit(2).lateral()
        stmt = select(each).select_from(wanted).join(each, true())
        yield from (dict(row) for row in conn.execute(stmt).mappings())
        return
    stmt = _standing(main, column == bindparam("code"), where).order_by(*order).limit(2)
    for code in codes:
        yield from (dict(row) for row in conn.execute(stmt, {"code": code}).mappings())


def match_projects(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Set ``_project_code`` on inspection rows about to be written: for one of a project not in
    the list, the registry project it counts for (None until there is one); None for the rest.
    The registry is read only when a row needs it."""
    unlisted = [r for r in rows if str(r.get("project_listed") or "") == "no"]
    for row in rows:
        row[PROJECT_CODE] = None
    if unlisted:
        counts_for = _registry_matcher(conn)
        for row in unlisted:
            row[PROJECT_CODE] = counts_for.code(row)


def rematch(session: Session) -> int:
    """Match every inspection of a project not in the list again with the registry as it is now
    (after it changed: an import, a candidate added), in the caller's write transaction. It
    takes the loaders' turn first, so a batch they matched with the old registry is either
    committed and matched again here, or waits and reads the new registry. Returns the rows
    changed."""
    serialize_loads(session)
    conn = session.connection()
    counts_for = _registry_matcher(conn)
    names = set(inspect(conn).get_table_names())
    changed = 0
    for form_id in conn.scalars(select(Form.xml_form_id)).all():
        if table_name(form_id) not in names:
            continue
        main = form_tables(conn, form_id)[table_name(form_id)]
        if PROJECT_CODE not in main.c:
            continue
        column = main.c[PROJECT_CODE]
        found = conn.execute(
            select(main.c._submission_id, column, *(main.c[c] for c in _MATCHED_BY if c in main.c))
            .where(main.c.project_listed == "no")).mappings().all()
        moves = [{"id": r["_submission_id"], "code": code} for r in found
                 if (code := counts_for.code(dict(r))) != r[PROJECT_CODE]]
        if moves:
            conn.execute(update(main).where(main.c._submission_id == bindparam("id"))
                         .values({PROJECT_CODE: bindparam("code")}), moves)
        changed += len(moves)
    return changed


_MATCHED_BY = ("project_listed", "project", "new_project_code", "new_project_name", "district")


def _registry_matcher(conn: Connection) -> _Matcher:
    return _Matcher(conn.execute(select(InnovationProject.code, InnovationProject.district,
                                        InnovationProject.title_en, InnovationProject.title_bn)))


def project_history(session: Session, code: str) -> list[Inspection]:
    """The project's standing inspections, oldest first (progress over time)."""
    return sorted(map(_inspection, tables.current_rows(session, FORM_ID, {"project": code})),
                  key=_order)


def unregistered_inspections(session: Session, scope: Scope | None = None) -> list[Inspection]:
    """Standing inspections that count for no registry project (a code not in the registry, or a
    project not in the list that is not added yet), oldest first."""
    counts_for = _Matcher(list_projects(session))
    rows = tables.current_rows(session, FORM_ID, scope=scope)
    return sorted((_inspection(r) for r in rows if counts_for.code(r) is None), key=_order)


NEW_FIELDS = ("project_listed", "new_project_name", "new_project_code", "new_project_office",
              "new_project_category", "division", "upazila")


@dataclass(frozen=True)
class Candidate:
    """A project met in the field that is not in the registry, as its inspections describe it."""

    submission_id: int  # the first inspection describing it: what "add" builds the project from
    name: str
    code: str
    office: str
    category: str
    division: str
    district: str
    upazila: str
    inspections: int
    last_inspected: date | None


class _Matcher:
    """Which registry code an inspection counts for (see the module docstring), or None."""

    def __init__(self, projects: Iterable[InnovationProject]) -> None:
        self.codes = set()
        self.titles: dict[tuple[str, str], str] = {}
        for p in projects:
            self.codes.add(p.code)
            for title in (p.title_en, p.title_bn):
                if title:
                    self.titles.setdefault((p.district, normalise_name(title)), p.code)

    def code(self, row: dict[str, Any]) -> str | None:
        if str(row.get("project_listed") or "") != "no":
            code = str(row.get("project") or "")
            return code if code in self.codes else None
        own = str(row.get("new_project_code") or "").strip()
        if own:
            return own if own in self.codes else None
        return self.titles.get((str(row.get("district") or ""),
                                normalise_name(str(row.get("new_project_name") or ""))))


def candidates(session: Session, scope: Scope | None = None) -> list[Candidate]:
    """Projects described by standing inspections that count for no registry project yet, one per
    district and code (or name when no code was given), oldest first."""
    counts_for = _Matcher(list_projects(session))
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in tables.current_rows(session, FORM_ID, {"project_listed": "no"}, scope=scope):
        if counts_for.code(row) is not None or not str(row.get("new_project_name") or "").strip():
            continue
        own = str(row.get("new_project_code") or "").strip()
        same = own or "name:" + normalise_name(str(row["new_project_name"]))
        found.setdefault((str(row.get("district") or ""), same), []).append(row)
    listed = []
    for rows in found.values():
        rows.sort(key=lambda r: (tables.as_date(r.get("visit_date")) or date.min, r["_submission_id"]))
        first = rows[0]
        listed.append(Candidate(
            submission_id=int(first["_submission_id"]), name=_line(first, "new_project_name"),
            code=_line(first, "new_project_code"), office=_line(first, "new_project_office"),
            category=_line(first, "new_project_category"), division=_line(first, "division"),
            district=_line(first, "district"), upazila=_line(first, "upazila"), inspections=len(rows),
            last_inspected=max((d for r in rows if (d := tables.as_date(r.get("visit_date")))),
                               default=None)))
    return sorted(listed, key=lambda c: (c.last_inspected or date.min, c.submission_id))


def add_candidate(session: Session, submission_id: int, actor: str,
                  scope: Scope | None = None) -> InnovationProject:
    """Put the project described by inspection ``submission_id`` into the registry, with the
    inspection's code when it gave a usable one (else ``NEW-<district>-<n>``); from then on every
    inspection describing it counts toward its progress."""
    chosen = next((c for c in candidates(session, scope) if c.submission_id == submission_id), None)
    if chosen is None:
        row = next((r for r in tables.current_rows(session, FORM_ID, scope=scope)
                    if r["_submission_id"] == submission_id), None)
        code = _Matcher(list_projects(session)).code(row) if row else None
        if code is not None:
            raise problems.project_already_registered(code)
        raise problems.not_found("A project described by this inspection")
    district = places.place("bd_district", chosen.district)
    upazila = places.place("bd_upazila", chosen.upazila) if chosen.upazila else None
    end_read(session)  # the write starts fresh (SQLite's write lock up front)
    with write_transaction(session):
        taken = set(session.scalars(select(InnovationProject.code)))
        code = chosen.code if CODE.fullmatch(chosen.code) and chosen.code not in taken \
            else _new_code(chosen.district, taken)
        bengali = any("\u0980" <= ch <= "\u09ff" for ch in chosen.name)
        project = InnovationProject(
            code=code, title_en=chosen.name[:500], title_bn=chosen.name[:500] if bengali else "",
            division=district.parent if district else chosen.division, district=chosen.district,
            upazila=upazila.code if upazila and district and upazila.parent == district.code else None,
            office=chosen.office[:300],
            category=chosen.category if chosen.category in CATEGORIES else "other")
        session.add(project)
        session.add(AuditEvent(actor=actor, action="projects.add_candidate",
                               details={"code": code, "submission_id": submission_id,
                                        "name": chosen.name}))
        session.flush()
        rematch(session)
    return project


def _new_code(district: str, taken: set[str]) -> str:
    n = 1
    while f"NEW-{district}-{n:03d}" in taken:
        n += 1
    return f"NEW-{district}-{n:03d}"


def _line(row: dict[str, Any], column: str) -> str:
    return " ".join(str(row.get(column) or "").split())


def behind_schedule(
    session: Session, today: date, days: int = 90, division: str | None = None,
    district: str | None = None, upazila: str | None = None, scope: Scope | None = None,
) -> list[Behind]:
    """Unfinished projects with no inspection in ``days`` days, or whose progress did not rise
    between their last two inspections."""
    return late(registry(session, division, district, upazila, scope, counted=False), today, days)


def summarise(
    projects: Iterable[InnovationProject], inspections: Iterable[Inspection]
) -> list[ProjectStatus]:
    """Pure: join projects with their inspections (already filtered to the standing ones)."""
    by_project: dict[str, list[Inspection]] = {}
    for inspection in sorted(inspections, key=_order):
        by_project.setdefault(inspection.project, []).append(inspection)
    statuses = []
    for p in projects:
        history = by_project.get(p.code, [])
        latest = history[-1] if history else None
        statuses.append(ProjectStatus(
            code=p.code, title_en=p.title_en, title_bn=p.title_bn, division=p.division,
            district=p.district, upazila=p.upazila, office=p.office, started_on=p.started_on,
            category=p.category, inspections=len(history),
            last_inspected=max((i.visit_date for i in history if i.visit_date), default=None),
            progress=latest.progress if latest else None,
            stage=latest.stage if latest else None,
            recommendation=latest.recommendation if latest else None,
            latest=latest, previous=history[-2] if len(history) > 1 else None,
        ))
    return statuses


def late(statuses: Iterable[ProjectStatus], today: date, days: int = 90) -> list[Behind]:
    """Pure: the projects among ``statuses`` that are behind schedule, with the reasons."""
    found = []
    for s in statuses:
        if s.progress is not None and s.progress >= COMPLETE:
            continue
        reasons = []
        if s.last_inspected is None:
            since = s.started_on
            if since is not None and (today - since).days > days:
                reasons.append(("never_inspected",
                                f"Never inspected; started {since.isoformat()}, "
                                f"{(today - since).days} days ago."))
        elif (today - s.last_inspected).days > days:
            reasons.append(("no_recent_inspection",
                            f"Last inspected {s.last_inspected.isoformat()}, "
                            f"{(today - s.last_inspected).days} days ago."))
        if s.previous is not None and s.latest is not None:
            before, after = s.previous.progress, s.latest.progress
            if before is not None and after is not None and after <= before:
                reasons.append(("progress_stalled",
                                f"Progress did not increase: {before:g}% then {after:g}%."))
        if reasons:
            found.append(Behind(s, tuple(reasons)))
    return found


def _inspection(row: dict[str, Any]) -> Inspection:
    return Inspection(
        project=str(row.get("project") or ""),
        key=tables.bare_key(row["_key"]),
        submission_id=int(row["_submission_id"]),
        visit_date=tables.as_date(row.get("visit_date")),
        received_at=tables.as_datetime(row.get("_submitted_at")),
        progress=tables.as_number(row.get("progress")),
        stage=str(row.get("stage") or ""),
        on_plan=str(row.get("on_plan") or ""),
        recommendation=str(row.get("recommendation") or ""),
        inspector_name=str(row.get("inspector_name") or ""),
        inspector_role=str(row.get("inspector_role") or ""),
        review_state=str(row.get("_state") or ""),
        tcv={name: tables.as_number(row.get(name)) for name in TCV_FIELDS},
    )


def _order(i: Inspection) -> tuple[Any, ...]:
    # Undated visits sort first; equal visit dates by when they arrived.
    return (i.visit_date or date.min, i.received_at or _EARLIEST, i.submission_id)
