"""exports.workshop_report: one workshop's printable report (nominations, ballot results, set-aside
ballots, the action plans made there) as an A4 PDF with Bengali shaped and in a Bengali font,
from the command line and from the Downloads page, only for the reader's area."""

from __future__ import annotations

import ctypes
import unicodedata
from collections import Counter
from functools import cache

import pypdfium2 as pdfium
import pytest

from exports import workshop_report
from pipeline import accounts
from pipeline.problems import Problem
from sync_server.cli import cli
from tests import builders, formtools
from tests.builders import BALLOTS, ELIGIBLE, NOMINATION_KEYS, load_all

KALIGANJ, DAY = "303334", "2026-08-02"
PARTICIPANT = "মোছাঃ রোকেয়া বেগম"


@cache
def bangladesh_plan() -> bytes:
    """A Form 1 plan made at the Kaliganj workshop, filled by ODK's engine."""
    result = formtools.fill("hl_action_plan", [
        ("/data/country", "bd"), ("/data/division", "30"), ("/data/district", "3033"),
        ("/data/upazila", KALIGANJ), ("/data/union", "30333415"),
        ("/data/participant_name", PARTICIPANT), ("/data/position", "ইউপি সদস্য"),
        ("/data/plan_count", "1"), ("/data/plans[1]/topic", "solid_waste"),
        ("/data/plans[1]/practice", "বাড়ি বাড়ি বর্জ্য সংগ্রহ"),
        ("/data/plans[1]/implementation", "ওয়ার্ড কমিটির মাধ্যমে"),
        ("/data/plans[1]/expected_results", "খোলা জায়গায় ময়লা কমবে"),
        ("/data/plans[1]/verification", "মাসিক প্রতিবেদন"),
        ("/data/date_prepared", DAY), ("/data/place", "কালীগঞ্জ উপজেলা পরিষদ"),
        ("/data/signature", "signature.png"),
    ])
    assert result.ok, (result.violations, result.errors)
    return result.xml


def with_plan(app, session) -> None:
    load_all(app, session)
    builders.submit(session, bangladesh_plan(), blobs=app.extensions["blobs"], submitter="phone-1")
    session.commit()


def pdf_text_and_fonts(data: bytes) -> tuple[int, tuple[float, float], list[tuple[str, str]]]:
    """(pages, first page size in points, (character, font name) of every character drawn)."""
    raw = pdfium.raw
    doc = pdfium.PdfDocument(data)
    try:
        size = doc[0].get_size()
        chars = []
        name = ctypes.create_string_buffer(256)
        flags = ctypes.c_int()
        for index in range(len(doc)):
            page = doc[index]
            text = page.get_textpage()
            for i in range(text.count_chars()):
                raw.FPDFText_GetFontInfo(text.raw, i, name, 256, ctypes.byref(flags))
                chars.append((chr(raw.FPDFText_GetUnicode(text.raw, i)), name.value.decode()))
            text.close()
            page.close()
        return len(doc), size, chars
    finally:
        doc.close()


def is_bengali(ch: str) -> bool:
    return "\u0980" <= ch <= "\u09ff"


def test_the_workshop_report_holds_the_tally_the_set_aside_ballots_and_the_plans(app, session):
    with_plan(app, session)
    report = workshop_report.gather(session, ["*"], KALIGANJ, DAY, "bn")
    titles = {f"ভালো শিখন {k}": k for k in NOMINATION_KEYS}
    votes = Counter(p for role, picks in BALLOTS if role in ELIGIBLE for p in picks)
    assert {titles[r.nomination.practice_title]: r.votes for r in report.tally.results} == votes
    assert [titles[r.nomination.practice_title] for r in report.tally.top_five] == ["c02", "c04", "c01"]
    # the UNO's ballot is set aside, with the reason and the role in words
    assert [(s.voter, s.reason) for s in report.set_aside] == [("ভোটার 2", "নির্বাচিত জনপ্রতিনিধি নন")]
    assert report.set_aside[0].role != "uno"
    assert [p.participant_name for p in report.plans] == [PARTICIPANT]
    page = workshop_report.html(report)
    for text in ("কর্মশালার প্রতিবেদন", "কালীগঞ্জ", PARTICIPANT, "বাড়ি বাড়ি বর্জ্য সংগ্রহ", *titles):
        assert text in page
    # another day at the same upazila is another workshop: none took place
    with pytest.raises(Problem) as caught:
        workshop_report.gather(session, ["*"], KALIGANJ, "2026-08-03", "bn")
    assert caught.value.status == 404
    # outside the reader's area it does not exist either
    with pytest.raises(Problem) as caught:
        workshop_report.gather(session, ["bd_district:5585"], KALIGANJ, DAY, "bn")
    assert caught.value.status == 404
    with pytest.raises(Problem) as caught:
        workshop_report.gather(session, ["*"], KALIGANJ, "2 August", "bn")
    assert caught.value.code == "export.bad_date"


def test_the_pdf_is_a4_with_bengali_shaped_in_a_bengali_font(app, session, runner, tmp_path,
                                                             monkeypatch):
    with_plan(app, session)
    monkeypatch.chdir(tmp_path)  # without -o the file is written here, named as on the web
    result = runner.invoke(cli, args=["export", "workshop-report", "--upazila", KALIGANJ,
                                 "--date", DAY])
    assert result.exit_code == 0, result.output
    out = tmp_path / f"workshop-kaliganj-{KALIGANJ}-{DAY}-bn.pdf"
    assert "3 nominated practices, 3 ballots counted, 1 action plans" in result.output
    pages, (width, height), chars = pdf_text_and_fonts(out.read_bytes())
    assert pages >= 1 and (round(width), round(height)) == (595, 842)  # A4 portrait, in points
    # Every Bengali letter is drawn from a Bengali font (a missing glyph would come from another
    # font's empty box); shaped clusters come back in glyph order, so compare letters as counts.
    bengali = [(ch, font) for ch, font in chars if is_bengali(ch)]
    assert bengali and all("Bengali" in font for _ch, font in bengali), \
        {font for ch, font in bengali if "Bengali" not in font}
    # Two-part vowel signs (ো = ে + া) are drawn as their parts: compare decomposed letters.
    drawn = Counter(unicodedata.normalize("NFD", "".join(ch for ch, _font in bengali)))
    for text in ("কর্মশালার প্রতিবেদন", PARTICIPANT, "বাড়ি বাড়ি বর্জ্য সংগ্রহ"):
        wanted = Counter(ch for ch in unicodedata.normalize("NFD", text)
                         if is_bengali(ch) and ch != "\u09cd")  # a virama may merge into a conjunct
        assert not wanted - drawn, (text, wanted - drawn)
    # and the page really has ink where the title is: rendered to an image, it is not blank
    doc = pdfium.PdfDocument(out.read_bytes())
    image = doc[0].render(scale=1).to_pil().convert("L")
    doc.close()
    title = image.crop((40, 40, 400, 110))
    assert title.getextrema()[0] < 100  # dark pixels of the heading


def test_only_the_workshops_district_may_download_its_report(app, world, db, blobs):
    keys = ["1c0e3a52-0000-4000-8000-000000000001", "1c0e3a52-0000-4000-8000-000000000002"]
    builders.add_workshop(db, blobs, {keys[0]: "ওয়ার্ড সভা", keys[1]: "উন্মুক্ত বাজেট"},
                         [[keys[0], keys[1]], [keys[0]]])
    db.commit()
    accounts.create_user(db, "do_gazipur", builders.PASSWORD, "district_officer",
                         ["bd_district:3033"])
    day = dict(formtools.SAMPLE_ANSWERS["hl_nomination"])["/data/workshop_date"]
    url = f"/downloads/workshop-report?upazila={KALIGANJ}&date={day}&lang=bn"
    own = builders.login(app.test_client(), "do_gazipur")
    assert url.replace("&", "&amp;") in own.get("/downloads").get_data(as_text=True)
    response = own.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    # named as the command line names it
    assert f"workshop-kaliganj-303334-{day}-bn.pdf" in response.headers["Content-Disposition"]
    other = builders.login(app.test_client(), "do_rangpur")
    assert url.replace("&", "&amp;") not in other.get("/downloads").get_data(as_text=True)
    assert other.get(url).status_code == 404
    assert own.get(url.replace(day, "2020-01-01")).status_code == 404
