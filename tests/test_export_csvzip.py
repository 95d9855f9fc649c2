"""exports.csvzip: ODK Central's CSV zip layout, filled from real submissions."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.etree import ElementTree

import pytest

from exports.csvzip import write_zip
from exports.period import Period
from pipeline.problems import Problem
from tests import builders
from tests.builders import DINAJPUR, load_all

CENTRAL_TAIL = ["meta-instanceID", "meta-instanceName", "KEY", "SubmitterID", "SubmitterName",
                "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
                "Edits", "FormVersion"]
GEOPOINT = ["Latitude", "Longitude", "Altitude", "Accuracy"]


def read_zip(data: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: list(csv.reader(io.StringIO(zf.read(name).decode("utf-8"))))
                for name in zf.namelist()}


def expected_fields(xml: bytes) -> list[str]:
    """The main file's field columns from the submission itself: top-level elements in order,
    the repeat left to its own file, the geopoint split as Central splits it."""
    root = ElementTree.fromstring(xml)
    names = []
    for child in root:
        if child.tag in ("meta", "photos"):
            continue
        names += [f"{child.tag}-{p}" for p in GEOPOINT] if child.tag == "location" else [child.tag]
    return names


def test_the_zip_has_centrals_files_headers_and_values(app, session):
    sent = load_all(app, session)["inspections"]
    out = io.BytesIO()  # a file-like object, as a web response streams it
    written = write_zip(session, "innovation_inspection", out, [f"bd_district:{DINAJPUR}"], "2026-Q3")
    files = read_zip(out.getvalue())
    assert sorted(files) == ["innovation_inspection-photos.csv", "innovation_inspection.csv"]

    chosen = [s for s in sent if s.value("district") == DINAJPUR and Period.parse("2026-Q3").contains(s.received_at)]
    header, *rows = files["innovation_inspection.csv"]
    # Columns come from the form (as Central's do): the submission's fields in its order, and
    # the form's fields this older sample does not carry (e.g. a project not in the registry).
    fields = header[1:-len(CENTRAL_TAIL)]
    sent_fields = expected_fields(chosen[0].xml)
    assert (header[0], header[-len(CENTRAL_TAIL):]) == ("SubmissionDate", list(CENTRAL_TAIL))
    assert [f for f in fields if f in sent_fields] == sent_fields
    absent = [i + 1 for i, f in enumerate(fields) if f not in sent_fields]
    assert all(row[i] == "" for row in rows for i in absent)
    assert written["innovation_inspection.csv"] == len(rows) == len(chosen) == 3
    for s, row in zip(chosen, rows, strict=True):
        got = dict(zip(header, row, strict=True))
        root = ElementTree.fromstring(s.xml)
        for child in root:
            if child.tag in ("meta", "photos", "location"):
                continue
            assert got[child.tag] == (child.text or ""), child.tag
        lat, lon, alt, acc = root.find("location").text.split()
        assert [float(got[f"location-{p}"]) for p in GEOPOINT] == [float(lat), float(lon), float(alt), float(acc)]
        assert got["SubmissionDate"] == s.received_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert got["KEY"] == got["meta-instanceID"] == s.instance_id
        assert got["meta-instanceName"] == root.find("meta/instanceName").text
        assert got["ReviewState"] == {"received": "", "has_issues": "hasIssues"}.get(s.review_state, s.review_state)
        assert (got["SubmitterName"], got["Edits"], got["Status"]) == ("phone-1", "0", "")
        assert got["FormVersion"] == root.get("version")
        # signature + two photos named; signature.png and desk.jpg were sent
        assert (got["AttachmentsExpected"], got["AttachmentsPresent"]) == ("3", "2")

    photo_header, *photo_rows = files["innovation_inspection-photos.csv"]
    assert photo_header == ["photo", "caption", "PARENT_KEY", "KEY"]
    expected = [[p["photo"], p["caption"], s.instance_id, f"{s.instance_id}/photos[{i}]"]
                for s in chosen for i, p in enumerate(s.repeat_rows("photos"), start=1)]
    assert photo_rows == expected
    # another district's submissions are nowhere in the zip
    text = out.getvalue()
    assert b"ex-g1" not in text and "ex-g1" not in str(files)


def test_an_edit_appears_once_under_its_first_key_with_the_new_instance_id(app, session):
    sent = load_all(app, session)["inspections"]
    first = sent[0]
    edit = builders.edit(first.xml, "uuid:ex-d1-v2", stage="pilot_complete")
    builders.submit(session, edit, blobs=app.extensions["blobs"], received_at=first.received_at)
    session.commit()
    out = io.BytesIO()
    write_zip(session, "innovation_inspection", out, ["*"], None)
    header, *rows = read_zip(out.getvalue())["innovation_inspection.csv"]
    mine = [dict(zip(header, r, strict=True)) for r in rows if r[header.index("KEY")] == "uuid:ex-d1"]
    assert len(mine) == 1 and len(rows) == len(sent)
    assert (mine[0]["meta-instanceID"], mine[0]["stage"], mine[0]["Edits"]) == ("uuid:ex-d1-v2", "pilot_complete", "1")


def test_an_unknown_form_is_a_problem_and_writes_nothing(app, session, tmp_path):
    target = tmp_path / "x.zip"
    with pytest.raises(Problem) as caught:
        write_zip(session, "no_such_form", target)
    assert caught.value.code == "export.no_data" and not target.exists()
