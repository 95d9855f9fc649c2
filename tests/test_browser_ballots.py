"""The Ballots page in a real Chromium, at laptop and phone width, in English and Bengali;
screenshots are kept in the test's tmp folder."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import builders
from tests.browser import log_in, shot
from tests.builders import KURIGRAM, RANGPUR

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_officer_reads_the_ranking_and_the_ballots_set_aside(server, page, workshops,
                                                            tmp_path):
    shots = tmp_path / "screens"
    log_in(page, server, "do_rangpur")
    page.get_by_role("link", name="Ballots").click()
    expect(page.get_by_role("heading", name="Workshop ballots")).to_be_visible()
    own = page.locator(f'section[data-upazila="{builders.UPAZILA[RANGPUR]}"]')
    expect(own.locator("table.ranking tbody tr")).to_have_count(3)
    expect(own.locator("table.setaside tbody tr")).to_have_count(3)
    expect(own.locator("table.setaside")).to_contain_text("Not eligible: this role does not vote.")
    expect(page.locator(f'section[data-upazila="{builders.UPAZILA[KURIGRAM]}"]')).to_have_count(0)
    shot(page, shots, "ballots")
    page.get_by_role("button", name="বাংলা").click()
    expect(page.get_by_role("heading", name="কর্মশালার ব্যালট")).to_be_visible()
    expect(own.locator("table.setaside")).to_contain_text("অযোগ্য: এই পদের ভোটাধিকার নেই।")
    shot(page, shots, "ballots-bn")
    response = page.goto(f"{server}/ballots/{builders.UPAZILA[KURIGRAM]}")
    assert response.status == 404


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_ballots_fit_a_phone(server, browser, workshops, tmp_path, lang):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "sup_division")
        if lang == "bn":
            phone.get_by_role("button", name="বাংলা").click()
        phone.goto(f"{server}/ballots")
        expect(phone.locator("section.workshop")).to_have_count(2)
        shot(phone, tmp_path / "screens", f"phone-ballots-{lang}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
