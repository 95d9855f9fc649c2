"""Each registry project's progress, read from its inspections.

Progress is never stored: it is computed from the ``innovation_inspection`` submissions that are
current and not rejected, so an inspection changes a project only while it stands, and a later
approval or rejection shows at once. Inspections are ordered by visit date (then by the time
they were received); the latest one gives progress, stage and the time/cost/visits (TCV)
before and after.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import InnovationProject, Submission
from ..scope import Scope
from . import tables
from .projects import import_projects, list_projects

__all__ = ["import_projects", "registry", "behind_schedule", "project_history",
           "unregistered_inspections"]

FORM_ID = "innovation_inspection"
TCV_FIELDS = ("time_before", "time_after", "cost_before", "cost_after", "visits_before",
              "visits_after")
# A project at or past this progress is complete: it cannot fall behind.
COMPLETE = 100.0
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_CHUNK_ROWS = 5000


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
    upazila: str | None = None, scope: Scope | None = None,
) -> list[ProjectStatus]:
    """Every registry project in the area (and the user's scope) with its current progress.

    One streamed pass over the standing inspections: per project it keeps only the count, the
    latest visit date and the last two inspections (all a status needs), so memory stays flat
    however many inspections there are (a dashboard or a workbook of 100,000).
    """
    projects = [
        p for p in list_projects(session, division, district, upazila)
        if scope is None or scope.allows({"division": p.division, "district": p.district})
    ]
    seen: dict[str, _Seen] = {}
    for row in _standing_rows(session, {p.code for p in projects}):
        entry = seen.setdefault(str(row["project"] or ""), _Seen())
        entry.count += 1
        visit = tables.as_date(row.get("visit_date"))
        if visit and (entry.last_visit is None or visit > entry.last_visit):
            entry.last_visit = visit
        order = (visit or date.min, tables.as_datetime(row.get("_submitted_at")) or _EARLIEST,
                 int(row["_submission_id"]))
        if len(entry.last_two) < 2:
            heapq.heappush(entry.last_two, (order, _inspection(row)))
        elif order > entry.last_two[0][0]:
            heapq.heapreplace(entry.last_two, (order, _inspection(row)))
    statuses = summarise(projects, [i for e in seen.values() for _, i in e.last_two])
    return [replace(s, inspections=seen[s.code].count, last_inspected=seen[s.code].last_visit)
            if s.code in seen else s for s in statuses]


@dataclass
class _Seen:
    count: int = 0
    last_visit: date | None = None
    # heap of (order, inspection), order as ``_order``: only the last two are ever built
    last_two: list[tuple[Any, ...]] = field(default_factory=list)


def _standing_rows(session: Session, codes: set[str]) -> Iterator[dict[str, Any]]:
    """Current, not rejected inspections of these projects, read in chunks."""
    main = tables.table(session, FORM_ID)
    if main is None or not codes or "project" not in main.c:
        return
    subs = Submission.__table__
    wanted = ("project", "visit_date", "progress", "stage", "on_plan", "recommendation",
              "inspector_name", "inspector_role", *TCV_FIELDS, "_key", "_submission_id",
              "_submitted_at")
    stmt = (select(*(main.c[c] for c in wanted if c in main.c), subs.c.review_state.label("_state"))
            .join(subs, subs.c.id == main.c._submission_id)
            .where(subs.c.current.is_(True), subs.c.review_state != "rejected",
                   main.c.project.in_(sorted(codes))))
    result = session.connection().execute(stmt.execution_options(yield_per=_CHUNK_ROWS))
    for rows in result.partitions():
        for row in rows:
            yield dict(row._mapping)


def project_history(session: Session, code: str) -> list[Inspection]:
    """The project's standing inspections, oldest first (progress over time)."""
    return sorted(map(_inspection, tables.current_rows(session, FORM_ID, {"project": code})),
                  key=_order)


def unregistered_inspections(session: Session, scope: Scope | None = None) -> list[Inspection]:
    """Standing inspections whose project code is not in the registry (import it, or fix the
    inspection), oldest first."""
    known = {p.code for p in list_projects(session)}
    rows = tables.current_rows(session, FORM_ID, scope=scope)
    return sorted((i for i in map(_inspection, rows) if i.project not in known), key=_order)


def behind_schedule(
    session: Session, today: date, days: int = 90, division: str | None = None,
    district: str | None = None, upazila: str | None = None, scope: Scope | None = None,
) -> list[Behind]:
    """Unfinished projects with no inspection in ``days`` days, or whose progress did not rise
    between their last two inspections."""
    return late(registry(session, division, district, upazila, scope), today, days)


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
