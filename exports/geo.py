"""Looking up places (Bangladesh division → union, Nepal province → local level) for exports:
names per language, children, and finding a district or division from what an admin types.

The names themselves come from ``pipeline.domain.places``, the project's one copy of them.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from pipeline import problems
from pipeline.domain.places import COLUMN_LEVELS, Place, places


@cache
def _by_level(level: str) -> dict[str, Place]:
    return {code: p for (lvl, code), p in places().items() if lvl == level}


def place(level: str, code: str) -> Place | None:
    return places().get((level, str(code)))


def column_names(column: str, lang: str) -> dict[str, str]:
    """Code → name for every place a warehouse location column can hold (for ``Series.map``)."""
    names: dict[str, str] = {}
    for level in COLUMN_LEVELS.get(column, ()):
        names.update({code: p.name(lang) for code, p in _by_level(level).items()})
    return names


def children(level: str, parent: str) -> list[Place]:
    return [p for p in _by_level(level).values() if p.parent == parent]


def find_district(text: str) -> Place:
    """A Bangladesh or Nepal district from its code or its English, Bengali or Nepali name."""
    return _find(("bd_district", "np_district"), text, "district")


def find_division(text: str) -> Place:
    """A Bangladesh division or Nepal province from its code or name."""
    return _find(("bd_division", "np_province"), text, "division")


def _find(levels: tuple[str, ...], text: str, what: str) -> Place:
    wanted = text.strip().casefold()
    found = {
        (p.level, p.code): p
        for level in levels
        for p in _by_level(level).values()
        if wanted in (p.code, p.en.casefold(), p.local.casefold())
    }
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise problems.unknown_place(what, text)
    options = ", ".join(f"{p.en} ({p.code})" for p in found.values())
    raise problems.ambiguous_place(text, what, options)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "area"


def file_stem(p: Place) -> str:
    """``rangpur-5585``: how file names name a place (the web downloads page reads them back)."""
    return f"{_slug(p.en)}-{p.code}"


def area_stem(scope_code: str) -> str:
    """``file_stem`` from a scope code: ``bd_district:5585`` → ``rangpur-5585``, ``*`` →
    ``all``; a code naming no known place, as it is, made safe for a file name."""
    if scope_code == "*":
        return "all"
    level, _sep, code = scope_code.partition(":")
    found = place(level, code)
    return file_stem(found) if found else _slug(scope_code)


def file_name(stem: str, period_slug: str, last: str, suffix: str = "xlsx") -> str:
    """``sangjog-rangpur-5585-2026-Q3-bn.xlsx``: the one way export files are named (``sangjog
    export``, the scheduled workbooks, the Downloads page). ``stem`` names the area
    (``file_stem``, or ``all``); ``last`` is the language, or a CSV zip's form id."""
    return f"sangjog-{stem}-{period_slug}-{last}.{suffix}"


def report_file_name(upazila: str, day: date, lang: str) -> str:
    """``workshop-kaliganj-303334-2026-08-02-bn.pdf``: a workshop report's file, the same from
    ``sangjog export workshop-report`` and the Downloads page."""
    return f"workshop-{area_stem(f'bd_upazila:{upazila}')}-{day.isoformat()}-{lang}.pdf"


def scope_code(p: Place) -> str:
    """The scope string (docs/architecture.md "Scopes") that selects this place."""
    return f"{p.level}:{p.code}"
