"""Which warehouse rows a web user may see, as SQL.

A user's scope is a list of geo codes (docs/architecture.md): ``"*"`` for everything, or
``"bd_division:30"``, ``"bd_district:3026"``, ``"np_province:3"``, ``"np_district:306"``,
``"np_local_level:30601"`` (one palika). Every warehouse table stores its location as those codes
(``division``, ``district``, ``province``, ``local_level`` columns), so a scope becomes one ``WHERE`` clause that every query on the warehouse carries —
lists, counts, detail pages, attachments and exports alike. A row outside the scope is never
fetched, so it cannot leak through a template or a count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, or_, true

from . import problems

EVERYTHING = "*"

# kind -> pattern of its code. Bangladesh districts have four digits and Nepal districts three,
# so a district code alone says which country it belongs to.
KINDS = {
    "bd_division": re.compile(r"\d{2}"),
    "bd_district": re.compile(r"\d{4}"),
    "np_province": re.compile(r"\d"),
    "np_district": re.compile(r"\d{3}"),
    "np_local_level": re.compile(r"\d{5}"),
}


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    divisions: frozenset[str] = field(default_factory=frozenset)
    districts: frozenset[str] = field(default_factory=frozenset)
    provinces: frozenset[str] = field(default_factory=frozenset)
    local_levels: frozenset[str] = field(default_factory=frozenset)  # Nepal's palikas

    @property
    def empty(self) -> bool:
        return not (self.everything or self.divisions or self.districts or self.provinces
                    or self.local_levels)

    @property
    def countries(self) -> frozenset[str]:
        """The countries (``bd``, ``np``) the scope reaches into."""
        if self.everything:
            return frozenset({"bd", "np"})
        found = {"np" for _ in (*self.provinces, *self.local_levels)}
        found |= {"np" if len(d) == 3 else "bd" for d in self.districts}
        found |= {"bd" for _ in self.divisions}
        return frozenset(found)

    def allows(self, row: Mapping[str, Any]) -> bool:
        """The same test as ``where`` for one row already in memory (a dict of columns)."""
        if self.everything:
            return True
        district = str(row.get("district") or "")
        division = str(row.get("division") or "")
        province = str(row.get("province") or "")
        if district and district in self.districts:
            return True
        if self.local_levels and str(row.get("local_level") or "") in self.local_levels:
            return True
        if division in self.divisions or (len(district) == 4 and district[:2] in self.divisions):
            return True
        return province in self.provinces or (len(district) == 3 and district[:1] in self.provinces)


def validate(code: str) -> str:
    """One scope code, checked; raises ``scope.invalid`` with the accepted forms."""
    code = code.strip()
    if code == EVERYTHING:
        return code
    kind, _, value = code.partition(":")
    pattern = KINDS.get(kind)
    if pattern is None or not pattern.fullmatch(value):
        raise problems.bad_scope(code)
    return code


def parse(codes: Iterable[str] | None) -> Scope:
    """A user's stored scope list as a ``Scope``; an unknown code is refused, not ignored."""
    divisions: set[str] = set()
    districts: set[str] = set()
    provinces: set[str] = set()
    local_levels: set[str] = set()
    for raw in codes or ():
        code = validate(str(raw))
        if code == EVERYTHING:
            return Scope(everything=True)
        kind, _, value = code.partition(":")
        if kind == "bd_division":
            divisions.add(value)
        elif kind == "np_province":
            provinces.add(value)
        elif kind == "np_local_level":
            local_levels.add(value)
        else:
            districts.add(value)
    return Scope(False, frozenset(divisions), frozenset(districts), frozenset(provinces),
                 frozenset(local_levels))


def where(table: Table, scope: Scope) -> ColumnElement[bool]:
    """The ``WHERE`` clause limiting ``table`` to the rows ``scope`` may see.

    A table without location columns is visible only to users who see everything.
    """
    if scope.everything:
        return true()
    cols = table.c
    district = cols.get("district")
    division = cols.get("division")
    province = cols.get("province")
    local_level = cols.get("local_level")
    clauses: list[ColumnElement[bool]] = []
    if scope.local_levels and local_level is not None:
        clauses.append(local_level.in_(sorted(scope.local_levels)))
    if scope.districts and district is not None:
        clauses.append(district.in_(sorted(scope.districts)))
    if scope.divisions:
        if division is not None:
            clauses.append(division.in_(sorted(scope.divisions)))
        if district is not None:  # a row whose division was left blank still has a district
            clauses.extend(_prefix(district, code, 4) for code in sorted(scope.divisions))
    if scope.provinces:
        if province is not None:
            clauses.append(province.in_(sorted(scope.provinces)))
        if district is not None:
            clauses.extend(_prefix(district, code, 3) for code in sorted(scope.provinces))
    return or_(*clauses) if clauses else false()


def _prefix(column: Any, code: str, length: int) -> ColumnElement[bool]:
    return and_(func.length(column) == length, column.like(f"{code}%"))
