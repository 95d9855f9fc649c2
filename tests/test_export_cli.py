"""``sangjog export district | csv | schedule``: files written, clear errors, nothing half-written."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook

from sync_server.cli import cli
from tests import builders
from tests.builders import DINAJPUR, RANGPUR, load_all


def data_keys(path, sheet="Inspections") -> list[str]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return [r[rows[1].index("KEY")] for r in rows[2:]]


def test_district_by_name_writes_its_workbook(app, session, runner, tmp_path):
    sent = load_all(app, session)["inspections"]
    out = tmp_path / "dinajpur.xlsx"
    result = runner.invoke(cli, args=["export", "district", "--district", "দিনাজপুর", "--period",
                                      "2026-Q3", "--lang", "bn", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "3 submissions" in result.output
    assert data_keys(out) == ["uuid:ex-d1", "uuid:ex-d2", "uuid:ex-d3"]
    # by division code: Dinajpur is in Rangpur division (55), every period
    out = tmp_path / "rangpur.xlsx"
    result = runner.invoke(cli, args=["export", "district", "--division", "55", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(data_keys(out)) == sorted(s.instance_id for s in sent if s.value("division") == "55")


def test_csv_writes_centrals_zip_for_one_form(app, session, runner, tmp_path):
    sent = load_all(app, session)["inspections"]
    out = tmp_path / "inspections.zip"
    result = runner.invoke(cli, args=["export", "csv", "--form", "innovation_inspection",
                                      "--period", "2026-08", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("innovation_inspection.csv").decode())))
    august = [s.instance_id for s in sorted(sent, key=lambda s: s.received_at) if s.received_at.month == 8]
    assert [r["KEY"] for r in rows] == august


def test_csv_without_output_is_named_as_the_downloads_page_names_it(runner, client, world,
                                                                     fast_hashing, tmp_path,
                                                                     monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    name = f"sangjog-rangpur-{RANGPUR}-2026-innovation_inspection.zip"
    result = runner.invoke(cli, args=["export", "csv", "--form", "innovation_inspection",
                                      "--district", RANGPUR, "--period", "2026", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{name}: ")
    builders.login(client, "do_rangpur")
    got = client.get("/downloads/export", query_string={
        "area": f"bd_district:{RANGPUR}", "period": "2026", "lang": "en", "format": "csv",
        "form": "innovation_inspection"})
    assert got.status_code == 200
    assert name in got.headers["Content-Disposition"]
    with zipfile.ZipFile(here / name) as ours, zipfile.ZipFile(io.BytesIO(got.data)) as web:
        assert ours.read("innovation_inspection.csv") == web.read("innovation_inspection.csv")
    # Every district, all time
    result = runner.invoke(cli, args=["export", "csv", "--form", "innovation_inspection", "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in here.iterdir()) == [
        "sangjog-all-all-innovation_inspection.zip", name]


def test_schedule_writes_one_workbook_per_district_with_data(app, session, runner, tmp_path):
    load_all(app, session)
    result = runner.invoke(cli, args=["export", "schedule", "--out", str(tmp_path / "out"),
                                      "--period", "2026-Q3"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    # Gazipur has inspections and the workshop, Dinajpur inspections; no partial files remain
    assert names == ["sangjog-dinajpur-5527-2026-Q3-en.xlsx", "sangjog-gazipur-3033-2026-Q3-en.xlsx"]
    assert data_keys(tmp_path / "out" / names[0]) == ["uuid:ex-d1", "uuid:ex-d2", "uuid:ex-d3"]


def test_bad_input_is_a_clear_error_and_writes_no_file(app, session, runner, tmp_path):
    out = tmp_path / "x.xlsx"
    cases = [
        (["export", "district", "--district", "Atlantis", "-o", str(out)], "No district"),
        (["export", "district", "--district", DINAJPUR, "--period", "2026-Q5", "-o", str(out)], "not a period"),
        (["export", "district", "-o", str(out)], "Choose one of"),
        (["export", "csv", "--form", "nothing_here", "-o", str(out)], "no published version"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, args=args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output and not out.exists()


def test_schedule_defaults_to_last_month_listed_from_the_attachment_store(app, session, runner,
                                                                         tmp_path):
    from sqlalchemy import select

    from pipeline.models import ScheduledExport

    load_all(app, session)
    result = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert result.exit_code == 0, result.output
    made = session.execute(select(ScheduledExport.name, ScheduledExport.area, ScheduledExport.sha256)
                           .order_by(ScheduledExport.name)).all()
    assert [(name, area) for name, area, _digest in made] == [
        ("sangjog-dinajpur-5527-2026-08-en.xlsx", f"bd_district:{DINAJPUR}"),
        ("sangjog-gazipur-3033-2026-08-en.xlsx", "bd_district:3033")]
    blobs = app.extensions["blobs"]
    (tmp_path / "got.xlsx").write_bytes(blobs.get(made[0].sha256))
    keys = data_keys(tmp_path / "got.xlsx")
    assert keys and set(keys) <= {"uuid:ex-d1", "uuid:ex-d2", "uuid:ex-d3"}
    assert not (Path(app.config["SANGJOG_DATA_DIR"]) / "exports").exists()
    result = runner.invoke(cli, args=["export", "schedule"])
    assert result.exit_code == 0, result.output
    today = date.today()
    last = (today.replace(day=1).toordinal() - 1)
    assert f"for {date.fromordinal(last):%Y-%m} in en" in result.output
