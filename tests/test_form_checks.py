"""Every mistake of a broken XLSForm at once, by sheet and row: our own checks of the workbook
(pipeline/form_checks.py) plus pyxform's and ODK Validate's messages, through forms.convert."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from pipeline import forms
from pipeline.problems import Problem
from tests import formtools


def _book(survey, choices=None, settings=(("form_id", "version"), ("many", "1"))) -> bytes:
    book = Workbook()
    book.active.title = "survey"
    for row in survey:
        book.active.append(row)
    if choices is not None:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    sheet = book.create_sheet("settings")
    for row in settings:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _errors(content: bytes) -> list[tuple]:
    with pytest.raises(Problem) as caught:
        forms.convert(content, "many.xlsx")
    assert caught.value.code == "form.invalid" and caught.value.status == 400
    return [(e["sheet"], e["row"], e["message"]) for e in caught.value.details["errors"]]


def test_the_checks_find_nothing_in_the_projects_forms():
    assert sorted(p.stem for p in formtools.XLSFORMS.glob("*.xlsx")) == sorted(formtools.FORM_IDS)
    # forms.convert raises form.invalid for anything the checks find (converted once per change
    # of the workbooks, forms.py or form_checks.py: tests/formtools.py)
    for form_id, built in formtools.built_forms().items():
        assert built.form_id == form_id


def test_every_mistake_is_reported_at_once_by_sheet_and_row():
    broken = _book(
        [("type", "name", "label", "relevant"),
         ("text", "visitor", "Visitor", None),                 # 2: fine
         ("txet", "age", "Age", None),                          # 3: unknown type
         ("select_one colours", "colour", "Colour", None),      # 4: no such list
         ("integer", "visitor", "Again", None),                 # 5: same name twice
         ("text", "note_1", "Note", "${visitr} = 'x'"),          # 6: a reference to nothing
         ("text", "2bad", "Bad name", None),                    # 7: not an XML name
         ("begin group", "place", "Place", None),               # 8: never closed
         ("select_multiple sizes", "size", "Size", None)],      # 9: fine
        [("list_name", "name", "label"), ("sizes", "s", "Small"), ("sizes", "s", "Again"),
         ("sizes", None, "No name")])
    errors = _errors(broken)
    rows = [(sheet, row) for sheet, row, _m in errors]
    for where in [("survey", 3), ("survey", 4), ("survey", 5), ("survey", 6), ("survey", 7),
                  ("survey", 8), ("choices", 3), ("choices", 4)]:
        assert where in rows, (where, errors)
    text = {(s, r): m for s, r, m in errors}
    assert "txet" in text[("survey", 3)] and "colours" in text[("survey", 4)]
    assert "also on row 2" in text[("survey", 5)] and "${visitr}" in text[("survey", 6)]
    assert "'s' twice" in text[("choices", 3)]
    assert ("survey", 2) not in rows and ("survey", 9) not in rows


def test_missing_columns_and_sheets_are_named():
    assert _errors(_book([("kind", "name", "label"), ("text", "a", "A")]))[0][:2] == ("survey", 1)
    no_list = _errors(_book([("type", "name", "label"), ("select_one yn", "a", "A")],
                            [("name", "label"), ("yes", "Yes")]))
    assert ("choices", 1, "The choices sheet has no 'list_name' column.") in no_list


def test_pyxform_and_odk_validate_messages_are_kept_beside_ours():
    # ODK Validate finds the unbalanced bracket; our checks find the unknown type elsewhere.
    broken = _book([("type", "name", "label", "relevant"), ("text", "a", "A", None),
                    ("text", "b", "B", "(${a} = 'x'"), ("text", "c", "C", None)])
    [error] = [e for e in _errors(broken) if e[1] == 3]
    assert "relevant condition for field 'b'" in error[2]


def test_the_cli_prints_the_same_list(tmp_path):
    from click.testing import CliRunner

    from sync_server.commands.forms import command

    path = tmp_path / "many.xlsx"
    path.write_bytes(_book([("type", "name", "label"), ("txet", "a", "A"),
                            ("select_one nope", "b", "B")]))
    result = CliRunner().invoke(command, args=["check", str(path)])
    assert result.exit_code == 1
    assert "problem(s) to fix" in result.output
    assert "survey sheet, row 2: Unknown question type 'txet'." in result.output
    assert "survey sheet, row 3:" in result.output and "'nope'" in result.output
