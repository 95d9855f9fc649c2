"""``sangjog forms``: build, check, publish, list, state."""

from __future__ import annotations

import shutil

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline.models import Form, FormMedia
from sync_server.commands.forms import command as forms_command
from tests import formtools


def _broken_ballot(tmp_path):
    """hl_ballot.xlsx with the picks constraint pointing at a field that does not exist."""
    path = tmp_path / "hl_ballot.xlsx"
    book = load_workbook(formtools.XLSFORMS / "hl_ballot.xlsx")
    sheet = book["survey"]
    header = [cell.value for cell in sheet[1]]
    name_col, constraint_col = header.index("name") + 1, header.index("constraint") + 1
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, name_col).value == "picks")
    sheet.cell(row, constraint_col).value = "count-selected(.) <= ${max_picks}"
    book.save(path)
    return path, row


def test_check_prints_the_sheet_and_row_of_a_broken_form(tmp_path):
    path, row = _broken_ballot(tmp_path)
    result = CliRunner().invoke(forms_command, args=["check", str(path)])
    assert result.exit_code == 1
    assert f"survey sheet, row {row}:" in result.output
    assert "max_picks" in result.output


def test_check_accepts_a_good_form():
    result = CliRunner().invoke(forms_command, args=["check", str(formtools.XLSFORMS / "hl_ballot.xlsx")])
    assert result.exit_code == 0, result.output
    assert "ok — form_id hl_ballot, version 2026120304" in result.output


def test_build_writes_every_form_and_its_media(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(formtools.MEDIA_DIR, src / "media")
    for form_id in ("hl_nomination", "hl_ballot"):
        shutil.copy(formtools.XLSFORMS / f"{form_id}.xlsx", src)
    result = CliRunner().invoke(forms_command, args=["build", "--src", str(src), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.strip().splitlines()] == ["hl_ballot", "hl_nomination"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "ballot_candidates.csv", "bd_union.csv", "hl_ballot.xml", "hl_nomination.xml"]


def test_publish_twice_is_idempotent_then_list_and_state(runner, session):
    assert "No forms are published." in runner.invoke(forms_command, args=["list"]).output
    args = ["publish", str(formtools.XLSFORMS / "hl_nomination.xlsx")]
    first = runner.invoke(forms_command, args=args)
    second = runner.invoke(forms_command, args=args)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert first.output.startswith("Published hl_nomination version 2026120304")
    assert second.output.strip() == ("hl_nomination version 2026120304 is already published "
                                     "from this file; nothing changed.")
    form = session.scalar(select(Form).where(Form.xml_form_id == "hl_nomination"))
    assert len(form.versions) == 1
    assert [m.name for m in session.scalars(select(FormMedia))] == ["bd_union.csv"]  # by name

    state = runner.invoke(forms_command, args=["state", "hl_nomination", "closing"])
    assert state.output.strip() == "hl_nomination is now closing."
    listing = runner.invoke(forms_command, args=["list"]).output
    assert listing.startswith("hl_nomination\tclosing\t2026120304\t1 version(s)")
    unknown = runner.invoke(forms_command, args=["state", "nope", "closed"])
    assert unknown.exit_code == 1 and "No form with id 'nope'" in unknown.output


def test_explicit_media_and_a_changed_form_under_the_same_version(runner, session, tmp_path):
    custom = tmp_path / "ballot_candidates.csv"
    custom.write_text("name,label,label_en,label_bn,label_ne,upazila\nk1,A,A,A,A,303334\n", encoding="utf-8")
    result = runner.invoke(forms_command, args=["publish", str(formtools.XLSFORMS / "hl_ballot.xlsx"),
                                                "--media", str(custom)])
    assert result.exit_code == 0, result.output
    [media] = session.scalars(select(FormMedia)).all()
    assert media.content == custom.read_bytes()

    changed = tmp_path / "hl_ballot.xlsx"
    book = load_workbook(formtools.XLSFORMS / "hl_ballot.xlsx")
    book["settings"]["A2"].value = "HLP ballot (renamed)"
    book.save(changed)
    refused = runner.invoke(forms_command, args=["publish", str(changed)])
    assert refused.exit_code == 1
    assert "raise the version in the settings sheet" in refused.output


def test_the_forms_group_is_part_of_the_sangjog_command():
    import click

    from sync_server.cli import cli

    assert cli.get_command(click.Context(cli), "forms") is forms_command
