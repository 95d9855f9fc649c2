"""Our own checks of an XLSForm workbook, so an admin sees every mistake at once.

pyxform stops at the first error it meets; these checks read the whole workbook (openpyxl) and
return every problem they find, each as ``{"sheet", "row", "message"}`` (rows as Excel numbers
them: the header is row 1). They only flag what pyxform or ODK Validate would refuse too, so a
form that passes pyxform never fails here (tests/test_form_checks.py runs them over the
repository's forms). ``pipeline.forms.convert`` adds pyxform's and ODK Validate's messages and
raises them together through ``problems.invalid_form``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterator
from typing import Any

FIELD_REF = re.compile(r"\$\{([^}]*)\}")
GROUP_ROW = re.compile(r"^(begin|end)[ _](group|repeat)$")
# An XML element name as pyxform accepts it (letters of any script, digits, _ - .).
XML_NAME = re.compile(r"^[^\W\d][\w.\-]*$")
# Columns whose text may hold ${name} references (label::English, hint::Bengali ... included).
REF_COLUMNS = ("relevant", "constraint", "calculation", "required", "choice_filter", "default",
               "repeat_count", "readonly", "trigger", "label", "hint", "constraint_message",
               "required_message", "guidance_hint")
NAME_ALIASES = ("name", "value", "tag")
TYPE_ALIASES = ("type", "command")
FILE_LISTS = (".csv", ".xml", ".geojson")


def check(content: bytes, known_types: Collection[str], select_types: Collection[str],
          from_file_types: Collection[str]) -> list[dict[str, Any]]:
    """Every problem found in the workbook ``content``; [] when it reads well or cannot be read
    as .xlsx at all (pyxform then says why). ``known_types``: question types without a list;
    ``select_types``: types followed by a choice list name; ``from_file_types``: types followed
    by a file name (all lower case, as pyxform spells them)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not a workbook: pyxform's message says so
        return []
    try:
        sheets = {name.strip().lower(): book[name] for name in book.sheetnames}
        if "survey" not in sheets:
            return [_error(None, None, "The workbook has no 'survey' sheet.")]
        survey = list(_rows(sheets["survey"]))
        choices = list(_rows(sheets["choices"])) if "choices" in sheets else []
        external = list(_rows(sheets["external_choices"])) if "external_choices" in sheets else []
        settings = list(_rows(sheets["settings"])) if "settings" in sheets else []
    finally:
        book.close()
    duplicates_allowed = any(str(row.get("allow_choice_duplicates", "")).lower() in ("yes", "true")
                             for _n, row in settings)
    lists, errors = _check_choices(choices, "choices" in sheets, duplicates_allowed)
    lists |= {row[1].get("list_name", "") for row in external[1:]}
    errors = _check_survey(survey, lists, known_types, select_types, from_file_types) + errors
    return errors


def _rows(sheet) -> Iterator[tuple[int, dict[str, str]]]:
    """(Excel row number, {header: text}) for each row with anything in it; the header row is
    yielded first as row 1 with its own names as values, so missing columns can be named."""
    rows = iter(sheet.iter_rows(values_only=True))
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    yield 1, {h: h for h in header if h}
    for number, row in enumerate(rows, start=2):
        cells = {}
        for key, value in zip(header, row, strict=False):  # rows may be shorter
            if key and value is not None and str(value).strip():
                cells[key] = str(value).strip()
        if cells:
            yield number, cells


def _column(header: dict[str, str], aliases: tuple[str, ...]) -> str | None:
    lowered = {h.lower(): h for h in header}
    return next((lowered[a] for a in aliases if a in lowered), None)


def _columns(sheet: str, header: dict[str, str], *wanted: tuple[str, ...]
             ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """The header's name of each wanted column (any of its aliases), and an error for each
    missing one, named by its first alias."""
    found = [_column(header, aliases) for aliases in wanted]
    errors = [_error(sheet, 1, f"The {sheet} sheet has no '{aliases[0]}' column.")
              for aliases, column in zip(wanted, found, strict=True) if column is None]
    return found, errors


def _error(sheet: str | None, row: int | None, message: str) -> dict[str, Any]:
    return {"sheet": sheet, "row": row, "message": message}


def _check_choices(rows: list[tuple[int, dict[str, str]]], present: bool,
                   duplicates_allowed: bool) -> tuple[set[str], list[dict[str, Any]]]:
    if not present or not rows:
        return set(), []
    header = rows[0][1]
    (list_col, name_col), errors = _columns("choices", header, ("list_name", "list name"),
                                            NAME_ALIASES)
    if errors:
        return set(), errors
    lists: set[str] = set()
    seen: dict[tuple[str, str], int] = {}
    for number, row in rows[1:]:
        list_name, name = row.get(list_col, ""), row.get(name_col, "")
        if not list_name:
            continue
        lists.add(list_name)
        if not name:
            errors.append(_error("choices", number, f"A choice of list '{list_name}' has no name."))
            continue
        first = seen.setdefault((list_name, name), number)
        if first != number and not duplicates_allowed:
            errors.append(_error("choices", number, f"List '{list_name}' has the choice name "
                                                    f"'{name}' twice (also on row {first})."))
    return lists, errors


def _check_survey(rows: list[tuple[int, dict[str, str]]], lists: set[str],
                  known_types: Collection[str], select_types: Collection[str],
                  from_file_types: Collection[str]) -> list[dict[str, Any]]:
    header = rows[0][1] if rows else {}
    (type_col, name_col), errors = _columns("survey", header, TYPE_ALIASES, NAME_ALIASES)
    if errors:
        return errors
    ref_cols = [h for h in header if h.lower().split("::")[0] in REF_COLUMNS]
    names = {row[name_col] for _n, row in rows[1:] if row.get(name_col)}
    # Names are unique among the children of one group (case-insensitively, as pyxform checks).
    open_groups: list[tuple[int, str, dict[str, int]]] = [(0, "", {})]
    for number, row in rows[1:]:
        kind = " ".join(row.get(type_col, "").split())
        name = row.get(name_col, "")
        if not kind:
            if name:
                errors.append(_error("survey", number, f"'{name}' has no type."))
            continue
        group = GROUP_ROW.match(kind.lower())
        if group and group.group(1) == "end":
            if len(open_groups) == 1:
                errors.append(_error("survey", number, f"'{kind}' without a matching "
                                                       f"'begin {group.group(2)}'."))
            else:
                open_groups.pop()
            continue
        errors.extend(_check_type(number, kind, lists, known_types, select_types,
                                  from_file_types))
        if not name:
            errors.append(_error("survey", number, f"The '{kind}' row has no name."))
        elif not XML_NAME.match(name):
            errors.append(_error("survey", number, f"The name '{name}' is not allowed: start "
                                                   "with a letter or _, then use only letters, "
                                                   "digits, _ - or ."))
        else:
            siblings = open_groups[-1][2]
            first = siblings.setdefault(name.lower(), number)
            if first != number:
                errors.append(_error("survey", number, f"The name '{name}' is used twice in the "
                                                       f"same group (also on row {first})."))
        for column in ref_cols:
            for ref in FIELD_REF.findall(row.get(column, "")):
                if ref not in names:
                    errors.append(_error("survey", number, f"{column}: ${{{ref}}} refers to no "
                                                           "question of this form."))
        if group:
            open_groups.append((number, name, {}))
    for number, name, _children in open_groups[1:]:
        errors.append(_error("survey", number, f"The group or repeat '{name}' is never closed "
                                               "(no 'end group' / 'end repeat')."))
    return errors


def _check_type(number: int, kind: str, lists: set[str], known_types: Collection[str],
                select_types: Collection[str], from_file_types: Collection[str]
                ) -> list[dict[str, Any]]:
    lowered = kind.lower()
    if lowered in known_types or GROUP_ROW.match(lowered):
        return []
    for prefix in sorted(from_file_types, key=len, reverse=True):
        if lowered.startswith(prefix + " "):
            return []
    for prefix in sorted(select_types, key=len, reverse=True):
        if lowered.startswith(prefix + " "):
            list_name = kind[len(prefix):].split()
            if list_name and list_name[-1] == "or_other":
                list_name = list_name[:-1]
            if len(list_name) != 1:
                return [_error("survey", number, f"'{kind}': name one choice list after "
                                                 f"'{prefix}'.")]
            if list_name[0].lower().endswith(FILE_LISTS):
                return []  # a list read from a media file (rank from a CSV, as pyxform allows)
            if list_name[0] not in lists:
                return [_error("survey", number, f"'{kind}': the choice list '{list_name[0]}' "
                                                 "is not in the choices sheet.")]
            return []
    if lowered in select_types:
        return [_error("survey", number, f"'{kind}' needs the name of a choice list after it.")]
    return [_error("survey", number, f"Unknown question type '{kind}'.")]
