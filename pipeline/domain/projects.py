"""The innovation project registry: import from CSV (upsert by code) and list.

A registry CSV has one project per row with the columns in ``COLUMNS`` (``code``, ``title_en``
and ``district`` required). Every row is checked before anything is written: one bad row refuses
the whole file with a ``Problem`` listing each bad row and column, so nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import problems
from ..db import end_read, write_transaction
from ..models import AuditEvent, InnovationProject
from . import places

COLUMNS = ("code", "title_en", "title_bn", "division", "district", "upazila", "office",
           "started_on", "category")
REQUIRED = ("code", "title_en", "district")
CATEGORIES = ("e_service", "digital_centre", "e_governance", "citizen_engagement", "education",
              "health", "agriculture", "land", "social_safety_net", "other")
# A project code is a choice name in innovation_projects.csv: no spaces, nothing XPath trips on.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SAMPLE = Path(__file__).parent / "sample_projects.csv"


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def import_projects(session: Session, source: str | Path | bytes, actor: str = "import") -> ImportResult:
    """Create or update projects from a registry CSV (path or bytes); all rows or none."""
    data = source if isinstance(source, bytes) else _read_file(Path(source))
    rows = _checked_rows(_read(data))
    end_read(session)  # the write starts fresh (SQLite write lock)
    with write_transaction(session):
        existing = {
            p.code: p
            for p in session.scalars(
                select(InnovationProject).where(InnovationProject.code.in_([r["code"] for r in rows]))
            )
        }
        created = updated = unchanged = 0
        for row in rows:
            project = existing.get(row["code"])
            if project is None:
                session.add(InnovationProject(**row))
                created += 1
            elif any(getattr(project, k) != v for k, v in row.items()):
                for key, value in row.items():
                    setattr(project, key, value)
                updated += 1
            else:
                unchanged += 1
        session.add(AuditEvent(actor=actor, action="projects.import",
                               details={"created": created, "updated": updated,
                                        "unchanged": unchanged}))
        if created or updated:  # inspections of projects not in the list may count for others now
            from .inspections import rematch  # which imports this module

            session.flush()
            rematch(session)
    return ImportResult(created, updated, unchanged)


def list_projects(
    session: Session, division: str | None = None, district: str | None = None,
    upazila: str | None = None,
) -> list[InnovationProject]:
    """Registry projects in the given area, ordered by code."""
    query = select(InnovationProject).order_by(InnovationProject.code)
    for column, value in (("division", division), ("district", district), ("upazila", upazila)):
        if value:
            query = query.where(getattr(InnovationProject, column) == value)
    return list(session.scalars(query))


def _read(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise problems.invalid_registry("The file is not UTF-8 text: save it from your spreadsheet as "
                       f"'CSV UTF-8' ({exc.reason} at byte {exc.start}).") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s) " + ", ".join(unknown))
        raise problems.invalid_registry(f"The header row has {' and '.join(parts)}; the columns are: "
                       + ", ".join(COLUMNS) + ".")
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:  # DictReader keeps cells beyond the header under the key None
            raise problems.invalid_registry(f"Row {reader.line_num} has more cells than the header; a title with "
                           "a comma must be quoted.")
        rows.append({k: (v or "").strip() for k, v in row.items()})
    if not rows:
        raise problems.invalid_registry("The file has a header but no projects.")
    return rows


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise problems.unreadable_registry(path, exc.strerror) from exc


def _checked_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    checked: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header

        def bad(column: str, message: str, line: int = line) -> None:
            errors.append({"row": line, "column": column, "message": message})

        code = row.get("code", "")
        if not CODE.fullmatch(code):
            bad("code", f"'{code}' is not a project code (letters, digits, '-', '_', '.'; "
                        "no spaces; at most 64).")
        elif code in seen:
            bad("code", f"'{code}' is already on row {seen[code]}.")
        else:
            seen[code] = line
        if not row.get("title_en"):
            bad("title_en", "An English title is required.")
        district = places.place("bd_district", row.get("district"))
        if district is None:
            bad("district", f"'{row.get('district', '')}' is not a Bangladesh district code.")
        division = row.get("division") or (district.parent if district else "")
        if district and division != district.parent:
            bad("division", f"District {district.code} ({district.en}) is in division "
                            f"{district.parent}, not {division}.")
        upazila = row.get("upazila") or None
        found = places.place("bd_upazila", upazila) if upazila else None
        if upazila and (found is None or (district and found.parent != district.code)):
            bad("upazila", f"'{upazila}' is not an upazila of district {row.get('district', '')}.")
        started_on = _date(row.get("started_on", ""))
        if started_on is False:
            bad("started_on", f"'{row['started_on']}' is not a date written YYYY-MM-DD.")
        category = row.get("category", "")
        if category and category not in CATEGORIES:
            bad("category", f"'{category}' is not a category: use one of {', '.join(CATEGORIES)}.")
        checked.append({
            "code": code, "title_en": row.get("title_en", ""), "title_bn": row.get("title_bn", ""),
            "division": division, "district": row.get("district", ""), "upazila": upazila,
            "office": row.get("office", ""), "started_on": started_on or None,
            "category": category,
        })
    if errors:
        first = errors[0]
        raise problems.invalid_registry(
            f"{len(errors)} problem(s) in the registry file, nothing was imported. First: row "
            f"{first['row']}, column {first['column']}: {first['message']}",
            errors,
        )
    return checked


def _date(text: str) -> date | None | bool:
    if not text:
        return None
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else False
    except ValueError:
        return False
