"""Fixtures and helpers for the tests that drive a real Chromium through Playwright.

``conftest.py`` registers this module (``pytest_plugins``), so a test simply asks for ``server``
(the test's app served on 127.0.0.1, SQLite only), ``browser`` and ``page``:

    from tests.browser import log_in, shot
    def test_x(server, page, world, tmp_path): log_in(page, server, "admin") ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import builders
from tests.fakes.serve import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(app, backend) -> Iterator[str]:
    """The test's app on a free port of 127.0.0.1 (browser tests run on SQLite only)."""
    if backend != "sqlite":
        pytest.skip("browser tests run on SQLite only")
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def log_in(page, server: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(builders.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def shot(page, folder: Path, name: str) -> None:
    folder.mkdir(exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)
