"""CSV files that forms read with ``select_one_from_file``, built from the database on request.

Columns (docs/fields.md): ``name``, ``label`` (what the phone shows: the names in every language
joined with " · "), ``label_en``, ``label_bn``, ``label_ne``, then the filter columns, then (in
``action_plans.csv``) the plan fields Form 2 fills in from the chosen plan. The bytes
are deterministic (rows in a fixed order, UTF-8, ``\\n`` line ends), so a manifest's md5 changes
exactly when the content does. Before any submission of the source form exists the file is
just its header, so the form that reads it still loads.

Each file holds only rows inside the requester's area (``scope``: a web user's scope, an app
user's area; everything for admins and app users without one), so a phone never receives
another district's participants or projects, and its manifest md5 is that of its own copy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from ..access import Principal
from ..models import FormVersion
from ..scope import Scope
from . import places, tables
from .projects import list_projects

LABELS = ("name", "label", "label_en", "label_bn", "label_ne")
FILTERS = {
    "ballot_candidates.csv": ("upazila",),
    "innovation_projects.csv": ("division", "district", "upazila"),
    "action_plans.csv": ("district", "upazila", "union", "local_level"),
}
# What Form 2 fills in from the chosen plan (tools/xlsform_sources/hl_followup.py).
MAX_PRACTICES = 5
PLAN_COLUMNS = ("participant_name", "position", "plan_date", "practice_count",
                *(f"practice_{n}" for n in range(1, MAX_PRACTICES + 1)))
# The ballot's date may not be before the workshop's nominations: YYYYMMDD, a number for XPath.
EXTRA = {"action_plans.csv": PLAN_COLUMNS, "ballot_candidates.csv": ("workshop_day",)}
MEDIA_NAMES = tuple(FILTERS)
DASH = " — "


def generated_media(session: Session, name: str, scope: Scope, upazila: str = "") -> bytes | None:
    """The current content of generated media file ``name`` as the requester whose area is
    ``scope`` may see it, or None if it is not one of ours. ``upazila``: a workshop link's,
    which keeps only that upazila's rows (another upazila's plans and candidates stay hidden)."""
    build = _BUILDERS.get(name)
    if build is None:
        return None
    rows = [r for r in build(session, scope) if not upazila or r.get("upazila") == upazila]
    rows.sort(key=lambda r: (r["label_en"], r["name"]))
    return _csv(LABELS + FILTERS[name] + EXTRA.get(name, ()), rows)


def _ballot_candidates(session: Session, scope: Scope) -> Iterable[dict[str, str]]:
    for row in tables.current_rows(session, "hl_nomination", scope=scope):
        title = _one_line(row.get("practice_title"))
        union = _text(row, "union")
        en = _joined(places.name("bd_union", union, "en"), title) if union else title
        bn = _joined(places.name("bd_union", union, "bn"), title) if union else title
        both = _joined(_names("bd_union", union), title) if union else title
        day = tables.as_date(row.get("workshop_date"))
        yield {"name": row["_root_key"], "label": both, "label_en": en, "label_bn": bn,
               "label_ne": en, "upazila": _text(row, "upazila"),
               "workshop_day": day.strftime("%Y%m%d") if day else ""}


def _innovation_projects(session: Session, scope: Scope) -> Iterable[dict[str, str]]:
    for p in list_projects(session):
        if not scope.allows({"division": p.division, "district": p.district}):
            continue
        en, bn = _one_line(p.title_en), _one_line(p.title_bn) or _one_line(p.title_en)
        yield {"name": p.code, "label": _unique_join(en, bn), "label_en": en, "label_bn": bn,
               "label_ne": en, "division": p.division, "district": p.district,
               "upazila": p.upazila or ""}


def _action_plans(session: Session, scope: Scope) -> Iterable[dict[str, str]]:
    practices = tables.repeat_values(session, "hl_action_plan", "plans", "practice")
    for row in tables.current_rows(session, "hl_action_plan", scope=scope):
        planned = [_one_line(p) for p in practices.get(row["_key"], ()) if _one_line(p)][:MAX_PRACTICES]
        level, code = _local_government(row)
        who = _one_line(row.get("participant_name"))
        day = tables.as_date(row.get("date_prepared"))
        when = day.isoformat() if day else ""

        def label(place: str, who: str = who, when: str = when) -> str:
            return DASH.join(part for part in (who, place, when) if part)

        yield {
            "name": row["_root_key"],
            "label": label(_names(level, code) if code else ""),
            "label_en": label(places.name(level, code, "en") if code else ""),
            "label_bn": label(places.name(level, code, "bn") if code else ""),
            "label_ne": label(places.name(level, code, "ne") if code else ""),
            **{column: _text(row, column) for column in FILTERS["action_plans.csv"]},
            "participant_name": who, "position": _one_line(row.get("position")), "plan_date": when,
            "practice_count": str(len(planned)) if planned else "",
            **{f"practice_{n}": planned[n - 1] if n <= len(planned) else ""
               for n in range(1, MAX_PRACTICES + 1)},
        }


def media_names(version: FormVersion) -> list[str]:
    """The media files a form version refers to (generated or uploaded), sorted."""
    names = {m if isinstance(m, str) else m.get("name", "") for m in version.media}
    names.update(m.name for m in version.media_files)
    return sorted(n for n in names if n)


def media_kinds(names: Iterable[str], uploaded: Iterable[str]) -> tuple[list[str], list[str]]:
    """(generated, missing) among a form's media file ``names``: the server builds the
    generated ones itself (an upload of one is only a sample); ``missing`` were neither uploaded
    nor generated, so phones cannot get them."""
    have = set(uploaded)
    generated = sorted(n for n in set(names) if n in _BUILDERS)
    missing = sorted(n for n in set(names) if n not in _BUILDERS and n not in have)
    return generated, missing


def media_status(version: FormVersion) -> list[tuple[str, str]]:
    """Each media file of ``version`` with where it comes from: ``generated`` (built by the
    server for each reader), ``uploaded`` or ``missing``."""
    uploaded = {m.name for m in version.media_files}
    names = media_names(version)
    generated, missing = media_kinds(names, uploaded)
    return [(n, "generated" if n in generated else "missing" if n in missing else "uploaded")
            for n in names]


def media_content(session: Session, version: FormVersion, name: str,
                  who: Principal) -> bytes | None:
    """What ``who`` downloads as ``name`` for ``version``, or None (not one of its media).
    Generated media (built from the warehouse each time, as ``who`` may see it) win over a
    static upload. Every door that hands out form media (Collect, browser forms) calls this."""
    if name not in media_names(version):
        return None
    content = generated_media(session, name, who.scope, who.upazila)
    if content is not None:
        return content
    static = next((m for m in version.media_files if m.name == name), None)
    return static.content if static is not None else None


_BUILDERS: dict[str, Callable[[Session, Scope], Iterable[dict[str, str]]]] = {
    "ballot_candidates.csv": _ballot_candidates,
    "innovation_projects.csv": _innovation_projects,
    "action_plans.csv": _action_plans,
}


def _local_government(row: dict) -> tuple[str, str]:
    """(geo level, code) of the plan's union / pourashava or Nepal local level."""
    if _text(row, "country") == "np" or not _text(row, "union"):
        return "np_local_level", _text(row, "local_level")
    return "bd_union", _text(row, "union")


def _names(level: str, code: str) -> str:
    """The place's English and local names, joined (once when they are the same)."""
    found = places.place(level, code)
    return _unique_join(found.en, found.local) if found else code


def _unique_join(*parts: str) -> str:
    return " · ".join(dict.fromkeys(p for p in parts if p))


def _joined(place: str, title: str) -> str:
    return DASH.join(p for p in (place, title) if p)


def _one_line(value: object) -> str:
    # A line break inside a choice label breaks some CSV readers on phones.
    return " ".join(str(value or "").split())


def _text(row: dict, column: str) -> str:
    return str(row.get(column) or "")


def _csv(header: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    return out.getvalue().encode("utf-8")
