"""Names and parents of location codes, for labels in generated CSVs and for checking imports.

``data/geo_names.csv`` is a trimmed copy of the location lists in ``shared/geo`` (level, code,
English name, Bengali or Nepali name, parent code). Rebuild it with
``python -m pipeline.domain.places PATH/TO/shared/geo``.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
    level: str
    code: str
    en: str
    local: str  # Bengali in Bangladesh, Nepali in Nepal
    parent: str

    @property
    def country(self) -> str:
        return self.level[:2]

    def name(self, lang: str) -> str:
        """The name in ``lang`` (en, bn, ne); English where that language has none."""
        local_lang = "bn" if self.level.startswith("bd_") else "ne"
        return (self.local or self.en) if lang == local_lang else self.en


@cache
def places() -> dict[tuple[str, str], Place]:
    """Every place by (level, code); the one copy of the names the whole project reads."""
    with DATA_FILE.open(encoding="utf-8", newline="") as f:
        return {(row["level"], row["code"]): Place(**row) for row in csv.DictReader(f)}


def place(level: str, code: str | None) -> Place | None:
    return places().get((level, str(code or "")))


def name(level: str, code: str | None, lang: str) -> str:
    """The place's name in ``lang``, or the code itself when the code is not in the lists."""
    found = place(level, code)
    return found.name(lang) if found else str(code or "")


# Each country's clock: a row's times are shown in its own country's zone.
ZONES = {"bd": "Asia/Dhaka", "np": "Asia/Kathmandu"}


def country_of(row: Mapping[str, Any]) -> str:
    """``np`` or ``bd`` for a warehouse row (a dict of its columns), ``""`` when it has no place.

    Forms 1 and 2 say it in ``country``; otherwise a Nepal column (``province``,
    ``local_level``) or the district code's length (three digits in Nepal, four in Bangladesh)
    says it, as ``pipeline.scope`` reads it."""
    country = str(row.get("country") or "")
    if country in ZONES:
        return country
    if row.get("province") or row.get("local_level"):
        return "np"
    district = str(row.get("district") or "")
    if len(district) == 3:
        return "np"
    if len(district) == 4 or row.get("division") or row.get("upazila"):
        return "bd"
    return ""


def build_data_file(geo_dir: Path, out: Path = DATA_FILE) -> int:
    """Write the trimmed names file from the shared/geo CSVs; returns the number of places."""
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["level", "code", "en", "local", "parent"])
        for level, (parent_column, local_column) in SOURCES.items():
            with (geo_dir / f"{level}.csv").open(encoding="utf-8", newline="") as src:
                for row in csv.DictReader(src):
                    parent = row[parent_column] if parent_column else ""
                    writer.writerow(
                        [level, row["name"], row["label::English (en)"], row[local_column], parent]
                    )
                    written += 1
    return written


if __name__ == "__main__":
    print(build_data_file(Path(sys.argv[1])), "places written to", DATA_FILE)
