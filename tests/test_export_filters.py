"""Export options: review states to include, "since my last download" (web, per user) and
--since (command line), and which date the period applies to (received or the form's own)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from exports import query
from pipeline import review
from pipeline import scope as scoping
from pipeline.problems import Problem
from sync_server.cli import cli
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
FORM = "innovation_inspection"


def keys(data: bytes) -> list[int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read(f"{FORM}.csv").decode("utf-8-sig")
    return sorted(int(r["__id"]) if "__id" in r and r["__id"].isdigit() else r["KEY"]
                  for r in csv.DictReader(io.StringIO(text)))


def download(client, **args) -> list:
    query_args = {"area": f"bd_district:{RANGPUR}", "period": "2026", "lang": "en",
                  "format": "csv", "form": FORM, **args}
    response = client.get("/downloads/export", query_string=query_args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return keys(response.data)


def test_filters_parse_what_people_type_and_refuse_the_rest():
    chosen = query.Filters.parse("approved, received", "2026-11-01", "visit")
    assert chosen.review == ("approved", "received") and chosen.date_basis == "visit"
    assert chosen.since.isoformat() == "2026-11-01T00:00:00+00:00"
    for bad in ({"review": "approved,good"}, {"since": "last week"}, {"date_basis": "arrival"}):
        with pytest.raises(Problem) as caught:
            query.Filters.parse(**bad)
        assert caught.value.status == 400


def test_review_states_since_and_date_basis_narrow_the_web_download(client, world, db):
    rangpur = world.submissions[RANGPUR]
    review.set_review(db, [rangpur[0]], "approved", "", "sup", scope=scoping.parse(["*"]))
    db.commit()
    builders.login(client, "do_rangpur")
    everything = download(client)
    assert len(everything) == 2
    assert len(download(client, review="approved")) == 1
    assert len(download(client, review=["approved", "received"])) == 2
    # The visits were in November; they arrived today: the period applies to the chosen date.
    assert len(download(client, period="2026-11", date_basis="visit")) == 2
    assert download(client, period="2026-11", date_basis="received") == []
    # Since my last download (this area and format): nothing new, then only the new one.
    assert download(client, since_last="1") == []
    builders.add_inspection(db, client.application.extensions["blobs"], RANGPUR, 90)
    db.commit()
    assert len(download(client, since_last="1")) == 1
    # Another user's downloads are their own.
    other = client.application.test_client()
    builders.login(other, "sup_rangpur")
    assert len(download(other, since_last="1")) == 3
    # A bad choice comes back to the form with the message; another district stays refused.
    bad = client.get("/downloads/export", query_string={
        "area": f"bd_district:{RANGPUR}", "period": "2026", "lang": "en", "format": "csv",
        "form": FORM, "review": "good"})
    assert bad.status_code == 400 and "is not a review state" in bad.get_data(as_text=True)
    other_district = client.get("/downloads/export", query_string={
        "area": f"bd_district:{KURIGRAM}", "period": "2026", "lang": "en", "format": "csv",
        "form": FORM, "review": "approved"})
    assert other_district.status_code == 403


def test_the_command_line_takes_review_since_and_date_basis(runner, world, db, tmp_path):
    review.set_review(db, [world.first(KURIGRAM)], "approved", "", "sup",
                      scope=scoping.parse(["*"]))
    db.commit()
    out = tmp_path / "f.zip"

    def run(*args):
        result = runner.invoke(cli, args=["export", "csv", "--form", FORM, "-o", str(out),
                                          "--quiet", *args])
        return result

    result = run("--review", "approved")
    assert result.exit_code == 0, result.output
    assert len(keys(out.read_bytes())) == 1
    assert len(keys((run("--period", "2026-11", "--date-basis", "visit") and out).read_bytes())) == 4
    run("--period", "2026-11")
    assert keys(out.read_bytes()) == []
    run("--since", "2099-01-01")
    assert keys(out.read_bytes()) == []
    bad = run("--review", "approved,maybe")
    assert bad.exit_code != 0 and "is not a review state" in bad.output
    workbook = tmp_path / "w.xlsx"
    result = runner.invoke(cli, args=["export", "district", "--district", RANGPUR, "--review",
                                      "approved", "--date-basis", "visit", "-o", str(workbook),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert "0 submissions" in result.output  # Rangpur's are not approved
