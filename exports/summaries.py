"""Counts for the Summary sheet: submissions per form, area (upazila or local level) and month,
and review states. Pure pandas: frames in, frames out.

``Counter`` is fed each chunk of a form's main table as the data sheet is written, so the
counts cost no second read of the warehouse.
"""

from __future__ import annotations

import pandas as pd

from pipeline.models import REVIEW_STATES

COUNT_COLUMNS = ["form", "area", "month", "review_state", "submissions"]


def area_codes(frame: pd.DataFrame) -> pd.Series:
    """The row's upazila (Bangladesh) or local level (Nepal); its district when neither is set."""
    area = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for column in ("upazila", "local_level", "district"):
        if column in frame:
            values = frame[column].astype(object)
            area = area.where(area.notna() & (area != ""), values)
    return area.fillna("").astype(str)


def month_of(submitted_at: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(submitted_at, utc=True, errors="coerce")
    return stamps.dt.strftime("%Y-%m").fillna("")


def chunk_counts(form: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Submissions of one chunk of a form's main table by area, month and review state."""
    if frame.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    keys = pd.DataFrame({
        "area": area_codes(frame),
        "month": month_of(frame["_submitted_at"]),
        "review_state": frame["_review_state"].astype(object).fillna("received").astype(str)
        if "_review_state" in frame else "received",
    })
    counts = keys.groupby(["area", "month", "review_state"], sort=False).size()
    out = counts.rename("submissions").reset_index()
    out.insert(0, "form", form)
    return out[COUNT_COLUMNS]


class Counter:
    """Accumulates ``chunk_counts`` over many chunks and forms."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, form: str, frame: pd.DataFrame) -> None:
        part = chunk_counts(form, frame)
        if not part.empty:
            self._parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(columns=COUNT_COLUMNS).astype({"submissions": "int64"})
        whole = pd.concat(self._parts, ignore_index=True)
        return whole.groupby(COUNT_COLUMNS[:-1], as_index=False, sort=True)["submissions"].sum()


def per_area_and_form(counts: pd.DataFrame, forms: list[str]) -> pd.DataFrame:
    """Rows: areas; columns: forms (in the given order) and Total."""
    return _by_form(counts, "area", forms)


def per_month_and_form(counts: pd.DataFrame, forms: list[str]) -> pd.DataFrame:
    """Rows: months (YYYY-MM); columns: forms and Total."""
    return _by_form(counts, "month", forms)


def _by_form(counts: pd.DataFrame, rows: str, forms: list[str]) -> pd.DataFrame:
    table = counts.pivot_table(index=rows, columns="form", values="submissions",
                               aggfunc="sum", fill_value=0)
    table = table.reindex(columns=forms, fill_value=0)
    table["Total"] = table.sum(axis=1)
    return table.sort_index().astype("int64")


def per_area_form_month(counts: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per form, area and month with its number of submissions."""
    table = counts.groupby(["form", "area", "month"], as_index=False)["submissions"].sum()
    return table.sort_values(["form", "area", "month"], ignore_index=True)


def review_states(counts: pd.DataFrame, forms: list[str]) -> pd.DataFrame:
    """Rows: forms; columns: every review state (Central's order) and Total."""
    table = counts.pivot_table(index="form", columns="review_state", values="submissions",
                               aggfunc="sum", fill_value=0)
    table = table.reindex(index=forms, columns=list(REVIEW_STATES), fill_value=0).fillna(0)
    table["Total"] = table.sum(axis=1)
    return table.astype("int64")
