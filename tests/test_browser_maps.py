"""The Map and Photos pages in a real Chromium, at laptop and phone width, in English and
Bengali, screenshots in the test's tmp folder. Tiles are answered inside the browser (the test
never reaches the Internet): a tile request at all shows the page's policy lets it through."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import builders
from tests.browser import log_in, shot
from tests.builders import KURIGRAM, RANGPUR

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]
TILES = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")


def serve_tiles(page: Page) -> list[str]:
    """Answer the tile server's requests with a small picture; the list fills with their URLs.
    Records every refusal of the page's Content-Security-Policy as well."""
    asked: list[str] = []

    def tile(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=builders.picture())

    page.route(TILES, tile)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.refused = refused  # type: ignore[attr-defined]
    return asked


@pytest.fixture
def far_point(world, db, blobs) -> int:
    """A third Rangpur inspection far from the other two, so it has a marker of its own."""
    xml = builders.inspection_xml(RANGPUR, 55, visit_date="2026-11-25").decode("utf-8")
    xml = re.sub(r"<location>[^<]*</location>", "<location>25.95 89.45 30.0 5.0</location>", xml)
    outcome = builders.submit(db, xml.encode("utf-8"), {"desk.jpg": builders.picture()}, blobs=blobs)
    db.commit()
    return outcome.submission.id


def test_officer_opens_a_submission_from_the_map(server, page, world, far_point, tmp_path):
    shots = tmp_path / "screens"
    tiles = serve_tiles(page)
    log_in(page, server, "do_rangpur")
    page.get_by_role("link", name="Map").click()
    expect(page.get_by_role("heading", name="Map")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-loaded", "3")
    # Two inspections at one place make a cluster of 2; the far one is a marker of its own.
    expect(page.locator(".marker-cluster")).to_have_count(1)
    expect(page.locator(".marker-cluster")).to_have_text("2")
    expect(page.locator(".leaflet-marker-icon.pin")).to_have_count(1)
    expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()
    assert tiles and all(TILES.match(u) for u in tiles)
    assert page.refused == []  # type: ignore[attr-defined]
    shot(page, shots, "map")
    page.locator(".leaflet-marker-icon.pin").click()
    link = page.locator(".leaflet-popup a", has_text="Open the submission")
    expect(link).to_have_attribute("href", f"/submissions/{far_point}")
    expect(page.locator(".leaflet-popup")).to_contain_text("Received")
    shot(page, shots, "map-popup")
    link.click()
    expect(page).to_have_url(re.compile(rf"/submissions/{far_point}$"))
    page.go_back()
    page.get_by_role("button", name="বাংলা").click()
    expect(page.get_by_role("heading", name="মানচিত্র")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-loaded", "3")
    shot(page, shots, "map-bn")
    page.get_by_role("link", name="ছবি", exact=True).click()
    expect(page.locator(".gallery img")).to_have_count(3 + 3 + 1)
    page.wait_for_function("() => [...document.querySelectorAll('.gallery img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert not page.locator(f'.gallery a[href^="/attachments/{world.first(KURIGRAM)}/"]').count()
    shot(page, shots, "photos-bn")


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_map_and_photos_fit_a_phone(server, browser, world, tmp_path, lang):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    serve_tiles(phone)
    try:
        log_in(phone, server, "sup_division")
        if lang == "bn":
            phone.get_by_role("button", name="বাংলা").click()
        phone.goto(f"{server}/map")
        expect(phone.locator("#map")).to_have_attribute("data-loaded", "4")
        shot(phone, tmp_path / "screens", f"phone-map-{lang}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.goto(f"{server}/photos")
        expect(phone.locator(".gallery img")).to_have_count(4 * 3)
        shot(phone, tmp_path / "screens", f"phone-photos-{lang}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.refused == []  # type: ignore[attr-defined]
    finally:
        context.close()
