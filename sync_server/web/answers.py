"""One submission's answers as a reader sees them: each field's label in the chosen language,
choice labels instead of codes (also for choices read from a file: ballot candidates, action
plans, projects), place names instead of geo codes, photos and GPS points."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from exports import geo
from pipeline import xform
from pipeline.domain import places
from pipeline.schema import ColumnSpec, FormSchema, TableSpec
from pipeline.xform import pick

from .i18n import day, when

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")


class ChoiceFiles(Protocol):
    """Labels of the lists behind ``select_one_from_file`` questions (``exports.labels.FileChoices``)."""

    def get(self, filename: str) -> dict[str, str]: ...


@dataclass
class Answer:
    name: str
    label: str
    text: str = ""
    kind: str = "text"  # text | image | file | geopoint | empty
    code: str = ""  # the stored value, as the form wrote it
    labelled: bool = True  # False: a calculation of the form, with a name but no label
    file: str | None = None  # attachment name
    point: dict[str, float | None] = field(default_factory=dict)


def answers(schema: FormSchema, spec: TableSpec, row: Any, lang: str,
            attachments: set[str], files: ChoiceFiles | None = None,
            country: str | None = None) -> list[Answer]:
    """The answers of one row; ``country`` (``np``, ``bd``) says how its dates read, and is
    the row's own when not given (a repeat row passes its submission's)."""
    values = row._mapping
    country = places.country_of(values) if country is None else country
    return [_answer(col, values, lang, attachments, files, country) for col in spec.columns
            if col.type not in ("note",)]


def _answer(col: ColumnSpec, values: Any, lang: str, attachments: set[str],
            files: ChoiceFiles | None = None, country: str = "") -> Answer:
    label = pick(col.labels, lang, col.name.replace("_", " "))
    answer = Answer(col.name, label, labelled=any(col.labels.values()))
    if col.type == "geopoint":
        point = {part: values.get(f"{col.name}_{part}")
                 for part in ("latitude", "longitude", "altitude", "accuracy")}
        if point["latitude"] is None or point["longitude"] is None:
            answer.kind = "empty"
            return answer
        answer.kind, answer.point = "geopoint", point
        answer.text = f"{point['latitude']:.6f}, {point['longitude']:.6f}"
        return answer
    value = values.get(col.name)
    if value is None or value == "":
        answer.kind = "empty"
        return answer
    if col.type == "binary":
        answer.file = str(value)
        answer.text = str(value)
        if str(value) not in attachments:
            answer.kind = "missing"
        elif str(value).lower().endswith(IMAGE_SUFFIXES):
            answer.kind = "image"
        else:
            answer.kind = "file"
        return answer
    answer.code = str(value)
    answer.text = display(col, value, lang, files, country)
    return answer


def display(col: ColumnSpec, value: Any, lang: str, files: ChoiceFiles | None = None,
            country: str = "") -> str:
    """A stored value as words: choice labels, place names, numbers without a trailing .0;
    dates as the reader writes them (a Nepal row's in Bikram Sambat, as the list does too)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if col.type in ("date", "dateTime"):
        shown = day(value, country) if col.type == "date" else when(value, country)
        return shown or str(value)
    text = str(value)
    names = _names(col.name, lang) if col.name in geo.COLUMN_LEVELS else {}
    if not names and col.choice_file and files is not None:
        names = {k: v for k, v in files.get(col.choice_file).items() if v}
    if col.type == "select_multiple":
        return ", ".join(_choice(col, part, lang, names) for part in text.split())
    if col.type == "rank":  # in the order given: 1. first choice, 2. second, ...
        return ", ".join(f"{n}. {_choice(col, part, lang, names)}"
                         for n, part in enumerate(text.split(), start=1))
    if col.type == "select_one" or names:
        return _choice(col, text, lang, names)
    return text


def _choice(col: ColumnSpec, value: str, lang: str, names: dict[str, str]) -> str:
    if col.choices and value in col.choices:
        return pick(col.choices[value], lang, value)
    return names.get(value, value)


def place_name(column: str, code: str | None, lang: str) -> str:
    if not code:
        return ""
    return _names(column, lang).get(str(code), str(code))


def osm_url(point: dict[str, float | None]) -> str:
    lat, lon = point["latitude"], point["longitude"]
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


@cache
def _names(column: str, lang: str) -> dict[str, str]:
    return geo.column_names(column, lang)


def group_labels(md5: str, xml: bytes) -> dict[str, dict[str, str]]:
    """The labels of a form's groups and repeats (``/data/plans`` -> {language -> label}), read
    once per published version; a repeat's heading on the submission page."""
    try:
        return xform.read(xml, md5).group_labels
    except ValueError:  # no headings is better than no page
        return {}
