"""Building blocks shared by the form definitions: trilingual text, location lists, the writer.

A form is a list of survey rows (dicts), a dict of choice lists and its settings. ``write_form``
lays them out as an XLSForm workbook a designer opens in Excel; ``write_geo_media`` writes the
large location lists as CSV media files (``select_one_from_file``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

# The location lists (see their README); another checkout points SANGJOG_GEO_DIR at its copy.
GEO = Path(os.environ.get("SANGJOG_GEO_DIR", "/work/shared/geo"))
LANGUAGES = ("English (en)", "Bengali (bn)", "Nepali (ne)")
VERSION = "2026120304"  # date + serial: raise it on every change (see xlsforms/README.md)
# One policy for all five forms: they open in Bengali (Bangladesh's language, and that of most of
# their users); a Nepal user of Forms 1 and 2 picks Nepali once per phone in Collect (⋮ → Change
# language), which Collect keeps for the form and its next versions (docs/forms.md).
DEFAULT_LANGUAGE = "Bengali (bn)"


@dataclass(frozen=True)
class T:
    """One text in the three form languages."""

    en: str
    bn: str
    ne: str

    def by_language(self) -> tuple[str, str, str]:
        return (self.en, self.bn, self.ne)


def row(type_: str, name: str | None = None, label: T | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "label": label, **extra}


# Columns of the survey sheet, in the order a designer reads them.
SURVEY_COLUMNS = (
    "type", "name", "label", "hint", "required", "relevant", "constraint", "constraint_message",
    "choice_filter", "appearance", "repeat_count", "calculation", "trigger", "default", "parameters",
    "read_only",
)
TRANSLATED = ("label", "hint", "constraint_message")


def _survey_header() -> list[str]:
    header = []
    for column in SURVEY_COLUMNS:
        if column in TRANSLATED:
            header += [f"{column}::{language}" for language in LANGUAGES]
        else:
            header.append(column)
    return header


def _survey_cells(item: dict[str, Any]) -> list[Any]:
    cells: list[Any] = []
    for column in SURVEY_COLUMNS:
        value = item.get(column)
        if column in TRANSLATED:
            cells += list(value.by_language()) if value else [None, None, None]
        else:
            cells.append(value)
    return cells


def write_form(path: Path, survey: list[dict[str, Any]], choices: dict[str, list[dict[str, Any]]],
               settings: dict[str, str]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(_survey_header())
    for item in survey:
        sheet.append(_survey_cells(item))

    filters = sorted({key for items in choices.values() for item in items for key in item}
                     - {"name", "label"})
    choice_sheet = book.create_sheet("choices")
    choice_sheet.append(["list_name", "name", *(f"label::{lang}" for lang in LANGUAGES), *filters])
    for list_name, items in choices.items():
        for item in items:
            choice_sheet.append([list_name, item["name"], *item["label"].by_language(),
                                 *(item.get(key) for key in filters)])

    settings_sheet = book.create_sheet("settings")
    settings_sheet.append(list(settings))
    settings_sheet.append(list(settings.values()))

    bold = Font(bold=True)
    shade = PatternFill("solid", fgColor="DDEBF7")
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font, cell.fill = bold, shade
        ws.freeze_panes = "C2" if ws.title != "settings" else None
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in list(column)[:200])
            ws.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 60)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


# ---- location lists --------------------------------------------------------------------------

def _read(name: str) -> list[dict[str, str]]:
    with (GEO / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def programme_districts() -> set[str]:
    return {r["name"] for r in _read("bd_district.csv") if r["programme_district"] == "yes"}


def _bd_label(r: dict[str, str]) -> T:
    # Bangladesh place names have no Nepali spelling in the sources: the English name stands in.
    return T(r["label::English (en)"], r["label::Bengali (bn)"], r["label::English (en)"])


def _np_label(r: dict[str, str]) -> T:
    # Likewise Nepal place names carry their English name in the Bengali column.
    return T(r["label::English (en)"], r["label::English (en)"], r["label::Nepali (ne)"])


def bd_divisions(districts: set[str] | None = None) -> list[dict[str, Any]]:
    used = {r["division"] for r in _read("bd_district.csv") if districts is None or r["name"] in districts}
    return [{"name": r["name"], "label": _bd_label(r)} for r in _read("bd_division.csv")
            if r["name"] in used]


def bd_districts(districts: set[str] | None = None) -> list[dict[str, Any]]:
    return [{"name": r["name"], "label": _bd_label(r), "division": r["division"]}
            for r in _read("bd_district.csv") if districts is None or r["name"] in districts]


def bd_upazilas(districts: set[str] | None = None) -> list[dict[str, Any]]:
    return [{"name": r["name"], "label": _bd_label(r), "district": r["district"]}
            for r in _read("bd_upazila.csv") if districts is None or r["district"] in districts]


def np_provinces() -> list[dict[str, Any]]:
    return [{"name": r["name"], "label": _np_label(r)} for r in _read("np_province.csv")]


def both_countries_districts(districts: set[str]) -> list[dict[str, Any]]:
    """One ``district`` list for Forms 1 and 2: Bangladesh (4-digit codes) and Nepal (3-digit),
    filtered on ``region`` = the division or province code."""
    bd = [{"name": r["name"], "label": _bd_label(r), "country": "bd", "region": r["division"]}
          for r in _read("bd_district.csv") if r["name"] in districts]
    np = [{"name": r["name"], "label": _np_label(r), "country": "np", "region": r["province"]}
          for r in _read("np_district.csv")]
    return bd + np


MEDIA_COLUMNS = ("name", "label", "label_en", "label_bn", "label_ne")


def media_row(name: str, label: T, **filters: str) -> dict[str, str]:
    """A media CSV row: ``label`` (shown on phones) joins the distinct names with " · "."""
    shown = " · ".join(dict.fromkeys(text for text in label.by_language() if text))
    return {"name": name, "label": shown, "label_en": label.en, "label_bn": label.bn,
            "label_ne": label.ne, **filters}


def write_media_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(MEDIA_COLUMNS) + [k for k in rows[0] if k not in MEDIA_COLUMNS]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_geo_media(media_dir: Path) -> None:
    districts = programme_districts()
    write_media_csv(media_dir / "bd_union.csv", [
        media_row(r["name"], _bd_label(r), division=r["division"], district=r["district"],
                  upazila=r["upazila"], type=r["type"])
        for r in _read("bd_union.csv") if r["district"] in districts
    ])
    write_media_csv(media_dir / "np_local_level.csv", [
        media_row(r["name"], _np_label(r), province=r["province"], district=r["district"],
                  type=r["type"])
        for r in _read("np_local_level.csv")
    ])


# ---- texts several forms share ---------------------------------------------------------------

ONE_TO_FIVE = "(. >= 1) and (. <= 5)"
ONE_TO_FIVE_MESSAGE = T("Enter a number from 1 to 5.", "১ থেকে ৫ এর মধ্যে একটি সংখ্যা লিখুন।",
                        "१ देखि ५ सम्मको सङ्ख्या लेख्नुहोस्।")
NOT_FUTURE = ". <= today()"

BS_SUFFIX = T(" (Bikram Sambat)", " (বিক্রম সংবৎ)", " (बिक्रम संवत्)")


def with_bikram_sambat(date_row: dict[str, Any]) -> list[dict[str, Any]]:
    """A date question as Nepal users answer it: a Nepal-only copy with ODK Collect's
    ``bikram-sambat`` picker (``<name>_np``, optional), whose choice is copied into the one
    stored field (ISO Gregorian, as ODK stores every date) when it changes; the Gregorian
    question stays, showing the same day, for Bangladesh and for checking."""
    name, label = date_row["name"], date_row["label"]
    picker = row("date", f"{name}_np", T(*(text + suffix for text, suffix in
                                          zip(label.by_language(), BS_SUFFIX.by_language(),
                                              strict=True))),
                 relevant="${country} = 'np'", appearance="bikram-sambat",
                 **{k: v for k, v in date_row.items()
                    if k in ("constraint", "constraint_message", "default")})
    stored = {**date_row, "calculation": f"${{{name}_np}}", "trigger": f"${{{name}_np}}"}
    return [picker, stored]
NOT_FUTURE_MESSAGE = T("The date cannot be in the future.", "তারিখ ভবিষ্যতের হতে পারে না।",
                       "मिति भविष्यको हुन सक्दैन।")
NOT_NEGATIVE = ". >= 0"
NOT_NEGATIVE_MESSAGE = T("Enter 0 or more.", "০ বা তার বেশি লিখুন।", "० वा सोभन्दा बढी लेख्नुहोस्।")
YES_NO = [{"name": "yes", "label": T("Yes", "হ্যাঁ", "हो")},
          {"name": "no", "label": T("No", "না", "होइन")}]


def settings(form_id: str, title: str, instance_name: str, default_language: str) -> dict[str, str]:
    return {"form_title": title, "form_id": form_id, "version": VERSION,
            "instance_name": instance_name, "default_language": default_language}
