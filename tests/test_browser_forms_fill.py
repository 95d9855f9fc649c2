"""Workshop participants fill Form 1, a nomination and a ballot in a real Chromium through public
workshop links (ODK Web Forms, served by Sangjog from its committed bundle), at laptop and phone
width, and the answers land in the warehouse; a revoked link then answers 410.

SQLite only: the doors' rules are tried on both databases in ``test_browser_form_doors``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from pipeline import links, loader
from pipeline.domain import tables
from tests import builders, formtools

pytestmark = pytest.mark.browser
WIDTHS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BADARGANJ, GOPALPUR = "558503", "55850331"  # an upazila of Rangpur district and one of its unions
WORKSHOP = date(2026, 11, 20)
expect.set_options(timeout=30_000)  # the form engine starts slowly on a busy 2-core machine


@pytest.fixture
def server(server, db) -> str:
    """The shared server (tests/browser.py) with the five forms published."""
    formtools.publish_all(db)
    return server


@pytest.fixture(params=sorted(WIDTHS))
def page(request, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDTHS[request.param])
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert errors == [], "the form page broke (script error or CSP refusal)"


def _open(page: Page, server: str, link: links.FormLink, shots: Path, name: str) -> None:
    page.goto(f"{server}/l/{link.token}")
    expect(page.locator(".form-initialization-status.ready")).to_be_attached()
    shots.mkdir(exist_ok=True)
    page.screenshot(path=shots / f"{name}-empty.png", full_page=True)


def _send(page: Page, shots: Path, name: str) -> None:
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#sangjog-form-status.ok")).to_be_visible()
    page.screenshot(path=shots / f"{name}-sent.png", full_page=True)


def _question(page: Page, label: str):
    return page.locator(".question-container", has_text=label).last


def _choose_union(page: Page, label: str, typed: str) -> None:
    _question(page, label).locator("[role=combobox]").click()
    page.locator(".p-select-filter").fill(typed)
    page.locator("[role=option]").first.click()


def _loaded(db, form_id: str, count: int) -> list[dict]:
    """The form's warehouse rows once the loader has them (bounded wait)."""
    deadline = time.monotonic() + 30
    while True:
        loader.load_pending(db, up_to=None)
        rows = tables.current_rows(db, form_id)
        db.rollback()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_form_1_with_five_practices_in_bengali_through_a_workshop_link(server, page, db, tmp_path):
    link = links.create(db, "hl_action_plan", by="admin", upazila=BADARGANJ,
                        workshop_date=WORKSHOP)
    shots = tmp_path / "screens"
    _open(page, server, link, shots, "form1")
    # The form opens in Bengali, as every form does (docs/forms.md, languages on the phone).
    _choose_union(page, "ইউনিয়ন পরিষদ", "গোপাল")
    page.get_by_label("অংশগ্রহণকারীর পূর্ণ নাম").fill("রহিমা খাতুন")
    page.get_by_label("পদবি").fill("ইউপি চেয়ারম্যান")
    count = _question(page, "কয়টি ভালো শিখনের পরিকল্পনা করবেন").locator("input")
    count.click()
    count.press_sequentially("5")
    count.press("Tab")
    practice = page.get_by_label("শেখা ভালো শিখনগুলোর মধ্যে কোনটি আপনার স্থানীয় সরকারে প্রয়োগ করা যাবে?")
    expect(practice).to_have_count(5)
    for i in range(5):
        page.get_by_label("কঠিন বর্জ্য ব্যবস্থাপনা").nth(i).check(force=True)
        practice.nth(i).fill(f"অনুশীলন {i + 1}: উৎসে বর্জ্য পৃথকীকরণ")
        page.get_by_label("কীভাবে বাস্তবায়ন করা হবে (ভিত্তিসমূহ)?").nth(i).fill("ওয়ার্ড সভায় সিদ্ধান্ত")
        page.get_by_label("প্রয়োগের পর কী ফলাফল আশা করছেন?").nth(i).fill("পরিষ্কার বাজার")
        page.get_by_label("যাচাইয়ের উপায়").nth(i).fill("সভার কার্যবিবরণী")
    page.get_by_label("কর্মপরিকল্পনা তৈরির স্থান").fill("বদরগঞ্জ উপজেলা পরিষদ")
    _send(page, shots, "form1")

    [plan] = _loaded(db, "hl_action_plan", 1)
    assert plan["participant_name"] == "রহিমা খাতুন"
    assert (plan["upazila"], plan["union"], plan["district"]) == (BADARGANJ, GOPALPUR, "5585")
    assert str(plan["date_prepared"])[:10] == WORKSHOP.isoformat()
    practices = tables.repeat_values(db, "hl_action_plan", "plans", "practice")[plan["_key"]]
    assert practices == tuple(f"অনুশীলন {i}: উৎসে বর্জ্য পৃথকীকরণ" for i in range(1, 6))
    db.rollback()

    links.revoke(db, str(link.id))
    answer = page.goto(f"{server}/l/{link.token}")
    assert answer is not None and answer.status == 410


def test_a_nomination_then_a_ballot_through_the_workshops_links(server, page, db, blobs, tmp_path):
    shots = tmp_path / "screens"
    nominate = links.create(db, "hl_nomination", by="admin", upazila=BADARGANJ,
                            workshop_date=WORKSHOP)
    _open(page, server, nominate, shots, "nomination")
    _choose_union(page, "ইউনিয়ন পরিষদ", "গোপাল")
    page.get_by_label("ভালো শিখনের শিরোনাম").fill("উন্মুক্ত বাজেট সভা")
    page.get_by_label("ভালো শিখনের বিবরণ").fill("ওয়ার্ডে ওয়ার্ডে বাজেট নিয়ে আলোচনা।")
    page.get_by_label("ভালো শিখনের সূচক").first.fill("সভার সংখ্যা")
    _send(page, shots, "nomination")
    # A second candidate of the same workshop, and one of another upazila the ballot must not offer.
    for upazila, title in ((BADARGANJ, "Tax fair"), ("558507", "Another upazila's practice")):
        builders.submit(db, builders.vary(
            builders.sample("hl_nomination"), f"uuid:{uuid.uuid4()}", division="55",
            district="5585", upazila=upazila, union=GOPALPUR, practice_title=title), blobs=blobs)
    nominations = _loaded(db, "hl_nomination", 3)
    ours = next(r for r in nominations if r["practice_title"] == "উন্মুক্ত বাজেট সভা")
    assert (ours["upazila"], str(ours["workshop_date"])[:10]) == (BADARGANJ, WORKSHOP.isoformat())

    vote = links.create(db, "hl_ballot", by="admin", upazila=BADARGANJ, workshop_date=WORKSHOP)
    _open(page, server, vote, shots, "ballot")
    page.get_by_label("ভোটারের নাম").fill("আব্দুল করিম")
    page.get_by_label("ইউপি চেয়ারম্যান").check(force=True)
    expect(page.get_by_text("Another upazila's practice")).to_have_count(0)
    page.get_by_text("Tax fair").first.click()
    page.get_by_text("উন্মুক্ত বাজেট সভা").first.click()
    rank = _question(page, "অগ্রাধিকার")
    rank.get_by_role("button", name="Rank items").click()
    _send(page, shots, "ballot")

    [ballot] = _loaded(db, "hl_ballot", 1)
    assert ballot["voter_name"] == "আব্দুল করিম" and ballot["upazila"] == BADARGANJ
    picked = set(str(ballot["picks"]).split())
    assert picked == {ours["_root_key"], next(r["_root_key"] for r in nominations
                                              if r["practice_title"] == "Tax fair")}
