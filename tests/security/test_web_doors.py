"""The web pages as an attacker with a low-privilege account probes them: an edited submission
of another district reads exactly like one that never existed (no redirect to its newer id),
pages with submission data are never stored by a cache, and every page carries the strict
Content-Security-Policy (checked in a real browser by ``test_csp_browser``)."""

from __future__ import annotations

import re

import pytest

from sync_server.web.auth import CONTENT_SECURITY_POLICY
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_an_edited_submission_outside_the_area_is_a_plain_404(app, world, db, blobs):
    old = world.first(RANGPUR)
    new = builders.edit_inspection(db, blobs, old, 75)
    outsider = builders.login(app.test_client(), "do_kurigram")
    moved = outsider.get(f"/submissions/{old}")
    assert moved.status_code == 404 and "Location" not in moved.headers
    never = outsider.get("/submissions/999999")
    assert never.status_code == 404
    # The same page as for an id that never existed, but for the number itself and the form
    # token, which carries the second it was signed in.
    def page(response) -> str:
        html = re.sub(r"[Ss]ubmissions?[ /]\d+", "Submission N", response.get_data(as_text=True))
        return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)

    assert page(moved) == page(never)
    assert f"/submissions/{new}" not in moved.get_data(as_text=True)
    insider = builders.login(app.test_client(), "sup_rangpur")
    followed = insider.get(f"/submissions/{old}")
    assert followed.status_code == 302 and followed.headers["Location"].endswith(f"/submissions/{new}")


def test_pages_with_submission_data_are_never_stored_by_a_cache(app, world):
    client = builders.login(app.test_client(), "sup_rangpur")
    target = world.first(RANGPUR)
    for path in ("/dashboard", "/forms/innovation_inspection/submissions", f"/submissions/{target}",
                 f"/attachments/{target}/desk.jpg", f"/attachments/{target}/desk.jpg?size=thumb",
                 "/projects", "/downloads",
                 f"/downloads/export?area=bd_district:{RANGPUR}&period=2026&lang=en&format=xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Cache-Control") == ["no-store"], path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    static = client.get("/static/sangjog.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere():
    rules = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert rules["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "img-src", "form-action"):
        assert rules[directive] == "'self'", directive
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert rules["frame-ancestors"] == "'none'"


def test_pages_carry_no_inline_script_or_style(app, world):
    client = builders.login(app.test_client(), "admin")
    target = world.first(KURIGRAM)
    for path in ("/dashboard", "/forms/innovation_inspection/submissions", f"/submissions/{target}",
                 "/projects", "/downloads", "/admin/users", "/admin/app-users", "/admin/forms",
                 "/admin/health", "/login"):
        html = client.get(path).get_data(as_text=True)
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"<[^>]*\son[a-z]+=", html), path
        for script in html.split("<script")[1:]:
            assert script.lstrip().startswith("src="), path
