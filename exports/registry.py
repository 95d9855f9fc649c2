"""The innovation project registry for a workbook, read in one streamed pass.

``pipeline.domain.inspections.registry`` loads every inspection row at once, which a web page
showing a few projects can afford but a workbook of 100,000 inspections cannot (400 MB). This
reads the same rows (current, not rejected) in chunks, keeps per project only what a status
needs (how many, the latest visit date, the last two by the domain's order), and hands those to
the domain's pure ``summarise``, so progress, stage and TCV follow the domain's rules exactly.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import warehouse
from pipeline.domain import inspections, tables
from pipeline.domain.projects import list_projects
from pipeline.models import Submission
from pipeline.schema import table_name
from pipeline.scope import Scope

_EARLIEST = datetime.min.replace(tzinfo=UTC)
COLUMNS = ("project", "visit_date", "progress", "stage", "on_plan", "recommendation",
           "inspector_name", "inspector_role", *inspections.TCV_FIELDS)
CHUNK_ROWS = 5000


@dataclass
class _Seen:
    count: int = 0
    last_visit: date | None = None
    # heap of (order, inspection); order is the domain's: visit date (undated first), arrival,
    # submission id
    last_two: list[tuple[Any, ...]] = field(default_factory=list)


def _inspection(row: Any) -> inspections.Inspection:
    values = row._mapping
    return inspections.Inspection(
        project=str(values.get("project") or ""), key=tables.bare_key(values["_key"]),
        submission_id=int(values["_submission_id"]),
        visit_date=tables.as_date(values.get("visit_date")),
        received_at=tables.as_datetime(values.get("_submitted_at")),
        progress=tables.as_number(values.get("progress")),
        stage=str(values.get("stage") or ""), on_plan=str(values.get("on_plan") or ""),
        recommendation=str(values.get("recommendation") or ""),
        inspector_name=str(values.get("inspector_name") or ""),
        inspector_role=str(values.get("inspector_role") or ""),
        review_state=str(values.get("_state") or ""),
        tcv={name: tables.as_number(values.get(name)) for name in inspections.TCV_FIELDS},
    )


def registry(session: Session, scope: Scope) -> list[inspections.ProjectStatus]:
    """Every registry project the scope allows, with its status (as the domain computes it)."""
    projects = [p for p in list_projects(session)
                if scope.allows({"division": p.division, "district": p.district})]
    wanted = {p.code for p in projects}
    seen: dict[str, _Seen] = {}
    main = warehouse.form_tables(session.connection(), inspections.FORM_ID).get(
        table_name(inspections.FORM_ID))
    if main is not None and wanted and "project" in main.c:
        subs = Submission.__table__
        columns = [main.c[c] for c in (*COLUMNS, "_key", "_submission_id", "_submitted_at") if c in main.c]
        stmt = (select(*columns, subs.c.review_state.label("_state"))
                .join(subs, subs.c.id == main.c._submission_id)
                .where(subs.c.current.is_(True), subs.c.review_state != "rejected",
                       main.c.project.in_(sorted(wanted))))
        result = session.connection().execute(stmt.execution_options(yield_per=CHUNK_ROWS))
        for rows in result.partitions():
            for row in rows:
                values = row._mapping
                entry = seen.setdefault(str(values["project"] or ""), _Seen())
                entry.count += 1
                visit = tables.as_date(values.get("visit_date"))
                if visit and (entry.last_visit is None or visit > entry.last_visit):
                    entry.last_visit = visit
                order = (visit or date.min, tables.as_datetime(values.get("_submitted_at")) or _EARLIEST,
                         int(values["_submission_id"]))
                # Only the last two by the domain's order matter: build those alone.
                if len(entry.last_two) < 2:
                    heapq.heappush(entry.last_two, (order, _inspection(row)))
                elif order > entry.last_two[0][0]:
                    heapq.heapreplace(entry.last_two, (order, _inspection(row)))
    kept = [i for entry in seen.values() for _, i in entry.last_two]
    statuses = inspections.summarise(projects, kept)
    return [replace(s, inspections=seen[s.code].count, last_inspected=seen[s.code].last_visit)
            if s.code in seen else s for s in statuses]
