"""Each row's own clock: a submission from Bangladesh is shown in Bangladesh time (Asia/Dhaka),
one from Nepal in Nepal time (Asia/Kathmandu), whatever the sheet mixes.

The one place where the workbook learns a row's country (``countries``, reading the row as
``pipeline.domain.places.country_of`` does) and what a sheet shows because of it: the zone its
times are written in, and columns derived from the country (``DERIVED``: the time zone's name).
``labels.prepare`` asks once per chunk and hands the answer to every column that needs it, the
Bikram Sambat date columns of Nepal rows included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.domain import places

COUNTRY_ZONES = places.ZONES  # the web pages read the same table
# Warehouse columns that tell a row's country, and the forms' own answer for it.
COUNTRY_COLUMNS = ("country", "province", "local_level", "district", "division", "upazila")
TIME_ZONE = "_time_zone"  # the derived column naming a row's zone


def countries(chunk: Mapping[str, Any], rows: int, default: str = "bd") -> list[str]:
    """The country (``bd``, ``np``) of every row of a chunk (column name → values), as
    ``pipeline.domain.places.country_of`` reads a row; ``default`` for a row that names no place
    (a repeat's rows)."""
    present = [c for c in COUNTRY_COLUMNS if c in chunk]
    if not present:
        return [default] * rows
    columns = [list(chunk[c]) for c in present]
    return [places.country_of({c: (v if v == v else None) for c, v in zip(present, values, strict=True)})
            or default for values in zip(*columns, strict=True)]


def sheet_countries(scope: Iterable[str], column_names: Iterable[str]) -> tuple[str, ...]:
    """The countries a sheet's rows can come from: those of the scope, and only Bangladesh for a
    form that asks no Nepal place (the Bangladesh-only forms)."""
    codes = list(scope)
    wanted = {"bd", "np"} if "*" in codes else {c.split("_", 1)[0] for c in codes} & {"bd", "np"}
    if not set(column_names) & {"country", "province", "local_level"}:
        wanted &= {"bd"}
    return tuple(c for c in COUNTRY_ZONES if c in wanted) or ("bd",)


def offset(zone: str) -> str:
    """``+06:00`` for Asia/Dhaka, ``+05:45`` for Asia/Kathmandu (neither has summer time)."""
    text = datetime.now(ZoneInfo(zone)).strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def zone_label(country: str) -> str:
    zone = COUNTRY_ZONES[country]
    return f"{zone}, {offset(zone)}"


def excel_local(values: list[Any], row_countries: list[str]) -> list[object]:
    """Datetimes as Excel serial numbers (days since 1899-12-30) on the clock of each row's
    country; naive values are UTC, as the warehouse stores them. Vectorised per zone."""
    import pandas as pd  # here: pages that read places never load pandas

    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")
    out = pd.Series([float("nan")] * len(values), dtype=float)
    by_country = pd.Series(row_countries, dtype=object)
    for country, zone in COUNTRY_ZONES.items():
        mask = (by_country == country).to_numpy()
        if mask.any():
            local = stamps[mask].dt.tz_convert(zone).dt.tz_localize(None)
            out[mask] = ((local - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).to_numpy()
    return [None if v != v else v for v in out.tolist()]


# Columns computed from a row's country: source name → (chunk, countries) → values.
DERIVED: dict[str, Callable[[Mapping[str, Any], list[str]], list[object]]] = {
    TIME_ZONE: lambda chunk, row_countries: [COUNTRY_ZONES[c] for c in row_countries],
}
