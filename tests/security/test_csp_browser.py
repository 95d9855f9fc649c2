"""The Content-Security-Policy in a real Chromium: every page works under it (no violation
reported, bars drawn, the form picker and the revoke confirmation work from sangjog.js), and
markup an attacker slips into a page runs no script."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from pipeline import accounts
from tests.browser import log_in
from tests.builders import RANGPUR

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    return found


def test_every_page_works_under_the_policy_and_injected_markup_runs_nothing(
        server, page, world, db):
    app_user = accounts.create_app_user(db, "Rangpur team", [], "admin")
    seen = violations(page)
    log_in(page, server, "admin")
    for path in ("/dashboard", "/forms/innovation_inspection/submissions",
                 f"/submissions/{world.first(RANGPUR)}", "/projects", "/downloads",
                 "/admin/users", "/admin/app-users", "/admin/forms", "/admin/health"):
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("load")
    assert seen == []

    # Bars get their length from sangjog.js (no inline style is allowed).
    page.goto(f"{server}/projects")
    width = page.locator(".bar[data-p]").first.evaluate(
        "el => getComputedStyle(el, '::before').width")
    assert float(width.removesuffix("px")) > 0

    # Markup smuggled into the page (an answer rendered unescaped, say) runs no script.
    page.evaluate("""() => {
        document.body.insertAdjacentHTML('beforeend',
            '<img src="/nope.png" onerror="window.pwned = 1"><div id="x"></div>');
        const s = document.createElement('script');
        s.textContent = 'window.pwned = 2';
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(300)  # bounded: the image's error event has long fired by then
    assert page.evaluate("() => window.pwned") is None
    assert any("inline" in text or "script" in text for text in seen)

    # Handlers moved out of the markup still work: the confirmation, then the form picker.
    page.goto(f"{server}/admin/app-users/{app_user.id}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    expect(page).to_have_url(f"{server}/admin/app-users/{app_user.id}")
    page.goto(f"{server}/forms/innovation_inspection/submissions")
    page.wait_for_load_state("load")
    page.locator("#formpick").select_option(value="/forms/hl_ballot/submissions")
    expect(page).to_have_url(f"{server}/forms/hl_ballot/submissions")
