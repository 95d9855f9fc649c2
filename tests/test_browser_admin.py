"""Sync health, the area picker on People and the language switch in a real Chromium, at laptop
and phone width, in English and Bengali; screenshots in the test's tmp folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.admin_pages import failed_submission
from tests.browser import log_in, shot
from tests.builders import RANGPUR

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]
PHONE = {"width": 375, "height": 812}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def in_bengali(page: Page) -> None:
    page.get_by_role("button", name="বাংলা").click()
    expect(page.locator("html")).to_have_attribute("lang", "bn")


@contextmanager
def _signed_in(browser: Browser, server: str, username: str, lang: str,
               viewport: dict[str, int]) -> Iterator[Page]:
    """A page in a window of its own at this size, logged in as ``username``, in ``lang``."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page, server, username)
        if lang == "bn":
            in_bengali(page)
        yield page
    finally:
        context.close()


def _saved_areas(page: Page, db, username: str) -> list[str]:
    """Add the new web user the page's form describes; the areas it got, as stored."""
    from pipeline.models import User

    page.locator("#new-user button.primary").click()
    expect(page.locator(".flash").first).to_be_visible()
    db.rollback()
    return sorted(db.query(User).filter_by(username=username).one().scope)


def _inside_the_screen(page: Page, width: int) -> None:
    """Every language button is drawn whole inside the window (not cut by the bar's edge or
    its rounded box)."""
    buttons = page.locator(".langswitch button")
    expect(buttons).to_have_count(3)
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    clipped = page.evaluate("""() => { const s = document.querySelector('.langswitch');
        return s.scrollWidth > s.clientWidth + 1; }""")
    assert not clipped
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_the_language_buttons_fit_a_phone(server, phone, world, db, tmp_path, lang):
    """Beside an admin's long name, at 375 pixels: the buttons are whole, the page no wider."""
    from pipeline import accounts
    from tests import builders

    accounts.create_user(db, "adc.rangpur", builders.PASSWORD, "admin", ["*"],
                         display_name="Farhana Yasmin, Additional Deputy Commissioner")
    phone.goto(f"{server}/login")
    if lang == "bn":
        in_bengali(phone)
    _inside_the_screen(phone, PHONE["width"])
    shot(phone, tmp_path / "screens", f"phone-login-{lang}")
    phone.locator("input[name=username]").fill("adc.rangpur")
    phone.locator("input[name=password]").fill(builders.PASSWORD)
    phone.locator("main form button").first.click()
    expect(phone.locator(".usermenu")).to_be_visible()
    expect(phone.locator("html")).to_have_attribute("lang", lang)
    _inside_the_screen(phone, PHONE["width"])
    shot(phone, tmp_path / "screens", f"phone-dashboard-{lang}")


@pytest.fixture
def failed(db, blobs, world) -> int:
    return failed_submission(db, blobs, RANGPUR)


@pytest.mark.parametrize(("lang", "viewport"), [("en", LAPTOP), ("bn", LAPTOP), ("en", PHONE),
                                                ("bn", PHONE)])
def test_supervisor_opens_and_retries_a_failed_submission(server, browser, failed, tmp_path,
                                                          lang, viewport):
    name = f"{lang}-{viewport['width']}"
    with _signed_in(browser, server, "sup_rangpur", lang, viewport) as page:
        page.goto(f"{server}/admin/health")
        shot(page, tmp_path / "screens", f"health-{name}")
        rows = page.locator("#failed tbody tr")
        expect(rows).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        rows.first.get_by_role("link", name=str(failed)).click()
        expect(page.locator("pre.rawxml")).to_contain_text("<extra>x</extra>")
        expect(page.locator("#reason")).to_contain_text("is not in form")
        expect(page.locator("#status")).to_have_text("failed" if lang == "en" else "ব্যর্থ")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shot(page, tmp_path / "screens", f"failed-{name}")
        retry = page.get_by_role("button", name="Retry" if lang == "en" else "আবার চেষ্টা করুন")
        retry.focus()
        page.keyboard.press("Enter")
        expect(page.locator(".flash-error")).to_contain_text("is not in form")
        shot(page, tmp_path / "screens", f"retried-{name}")


@pytest.mark.parametrize(("lang", "viewport"), [("en", LAPTOP), ("bn", LAPTOP), ("en", PHONE),
                                                ("bn", PHONE)])
def test_admin_gives_areas_with_the_searchable_picker(server, browser, world, db, tmp_path, lang,
                                                      viewport):
    """No Ctrl-click: search "Kurigram" / "কুড়িগ্রাম", tick it with the keyboard, open the Rangpur
    division and tick it whole; the new user gets exactly those two areas."""
    name = f"{lang}-{viewport['width']}"
    with _signed_in(browser, server, "admin", lang, viewport) as page:
        page.goto(f"{server}/admin/users")
        form = page.locator("#new-user")
        picker = form.locator(".areapicker")
        expect(picker).to_be_visible()
        expect(form.locator("select[name=scope]")).to_be_hidden()
        expect(form.locator(".ctrlhint")).to_be_hidden()  # "hold Ctrl" is for the plain list
        expect(form.locator(".withpicker")).to_be_visible()
        form.locator("input[name=username]").fill(f"officer-{name}")
        picker.locator("input[type=search]").fill("Kurigram" if lang == "en" else "কুড়িগ্রাম")
        shown = picker.locator("label.areaitem:visible")
        expect(shown).to_have_count(1)
        shot(page, tmp_path / "screens", f"people-search-{name}")
        page.keyboard.press("Tab")  # the division it is in (a group, opened by the search)
        expect(picker.locator("details[open] > summary")).to_be_focused()
        page.keyboard.press("Tab")
        expect(shown.locator("input")).to_be_focused()
        page.keyboard.press("Space")
        picker.locator("input[type=search]").fill("")
        division = picker.locator("details.areagroup", has=page.locator("input[value='bd_division:55']"))
        expect(division).to_have_attribute("open", "")  # it holds a ticked district
        division.locator("input[value='bd_division:55']").check()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shot(page, tmp_path / "screens", f"people-picked-{name}")
        assert _saved_areas(page, db, f"officer-{name}") == ["bd_district:5549", "bd_division:55"]


@pytest.mark.parametrize(("lang", "viewport"), [("en", LAPTOP), ("bn", PHONE)])
def test_a_nepal_local_level_is_found_and_given(server, browser, world, db, tmp_path, lang,
                                               viewport):
    """Province → district → local level: the palikas load when first needed (a search, or a
    district opened) and are found by name like any other place."""
    from exports import geo

    name = geo.place("np_local_level", "10101").name(lang)
    with _signed_in(browser, server, "admin", lang, viewport) as page:
        page.goto(f"{server}/admin/users")
        form = page.locator("#new-user")
        form.locator("input[name=username]").fill(f"palika-{lang}")
        picker = form.locator(".areapicker")
        picker.locator("input[type=search]").fill(name[:8])
        found = picker.locator("label.areaitem:visible", has=page.locator(
            "input[value='np_local_level:10101']"))
        expect(found).to_have_count(1)
        found.locator("input").check()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shot(page, tmp_path / "screens", f"people-palika-{lang}-{viewport['width']}")
        assert _saved_areas(page, db, f"palika-{lang}") == ["np_local_level:10101"]
