"""Names of geo codes (Bangladesh division → union, Nepal province → local level) for exports.

The data file ``exports/data/geo_names.csv`` is a trimmed copy of the location lists in
``shared/geo`` (one row per unit: level, code, English name, Bengali or Nepali name, parent code).
Rebuild it with ``python -m exports.geo PATH/TO/shared/geo``.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline import problems

DATA_FILE = Path(__file__).parent / "data" / "geo_names.csv"

# shared/geo file → (parent column, local-language label column)
SOURCES = {
    "bd_division": (None, "label::Bengali (bn)"),
    "bd_district": ("division", "label::Bengali (bn)"),
    "bd_upazila": ("district", "label::Bengali (bn)"),
    "bd_union": ("upazila", "label::Bengali (bn)"),
    "np_province": (None, "label::Nepali (ne)"),
    "np_district": ("province", "label::Nepali (ne)"),
    "np_local_level": ("district", "label::Nepali (ne)"),
}

# Warehouse location column → geo levels it may hold (Bangladesh first, then Nepal).
COLUMN_LEVELS = {
    "division": ("bd_division",),
    "district": ("bd_district", "np_district"),
    "upazila": ("bd_upazila",),
    "union": ("bd_union",),
    "province": ("np_province",),
    "local_level": ("np_local_level",),
}


@dataclass(frozen=True)
class Place:
    level: str  # bd_district, np_local_level, ...
    code: str
    en: str
    local: str  # Bengali for Bangladesh, Nepali for Nepal
    parent: str

    @property
    def country(self) -> str:
        return self.level[:2]

    def name(self, lang: str) -> str:
        """The name in ``lang`` (en, bn, ne); English where that language has none."""
        if lang == "en" or (lang == "bn") != (self.country == "bd"):
            return self.en
        return self.local or self.en


@cache
def places() -> dict[tuple[str, str], Place]:
    with DATA_FILE.open(encoding="utf-8", newline="") as f:
        rows = [Place(**row) for row in csv.DictReader(f)]
    return {(p.level, p.code): p for p in rows}


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
        raise problems.Problem("export.unknown_place", 400, f"No {what} is called or coded '{text}'.")
    options = ", ".join(f"{p.en} ({p.code})" for p in found.values())
    raise problems.Problem(
        "export.ambiguous_place", 400, f"'{text}' names more than one {what}: {options}. Use the code."
    )


def file_stem(p: Place) -> str:
    """``rangpur-5585``: how file names name a place (the web downloads page reads them back)."""
    return f"{re.sub(r'[^a-z0-9]+', '-', p.en.lower()).strip('-') or 'area'}-{p.code}"


def scope_code(p: Place) -> str:
    """The scope string (docs/architecture.md "Scopes") that selects this place."""
    return f"{p.level}:{p.code}"


def build_data_file(geo_dir: Path, out: Path = DATA_FILE) -> int:
    """Write the trimmed names file from the shared/geo CSVs; returns the number of places."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["level", "code", "en", "local", "parent"])
        for level, (parent_column, local_column) in SOURCES.items():
            with (geo_dir / f"{level}.csv").open(encoding="utf-8", newline="") as src:
                for row in csv.DictReader(src):
                    parent = row[parent_column] if parent_column else ""
                    writer.writerow([level, row["name"], row["label::English (en)"], row[local_column], parent])
                    count += 1
    return count


if __name__ == "__main__":
    print(build_data_file(Path(sys.argv[1])), "places written to", DATA_FILE)
