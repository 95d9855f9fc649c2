"""The web UI in a real Chromium (Playwright) against the app served on 127.0.0.1.

Each scenario saves screenshots of the pages it passes through in the test's tmp folder.
SQLite only: the pages and queries are the same on PostgreSQL, which the other web tests cover.
"""

from __future__ import annotations

import re

import openpyxl
import pytest
from playwright.sync_api import expect

from tests import builders
from tests.browser import log_in, shot
from tests.builders import KURIGRAM, RANGPUR

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_hashing")]


def test_supervisor_filters_opens_approves_and_registry_updates(server, page, world, db, blobs,
                                                                tmp_path):
    newest = builders.add_inspection(db, blobs, RANGPUR, 85, visit_date="2026-11-20")
    shots = tmp_path / "screens"
    page.goto(f"{server}/login")
    shot(page, shots, "login")
    log_in(page, server, "sup_division")
    shot(page, shots, "dashboard")
    page.get_by_role("link", name="Submissions").click()
    expect(page.locator("table.data tbody tr")).to_have_count(5)
    page.wait_for_load_state("load")  # sangjog.js (submit on change) has run
    page.locator("select[name=district]").select_option(RANGPUR)
    expect(page.locator("table.data tbody tr")).to_have_count(3)
    assert "district=5585" in page.url
    shot(page, shots, "submissions")
    page.locator(f'a[href^="/submissions/{newest}?"]').click()
    expect(page.get_by_role("heading", name="Photos (2)")).to_be_visible()
    selector = f'img[src="/attachments/{newest}/desk.jpg?size=thumb"]'
    expect(page.locator(selector)).to_be_visible()
    # The photo really arrived and decoded (lazy images load a moment after they show).
    page.wait_for_function("s => { const i = document.querySelector(s);"
                           " return i && i.complete && i.naturalWidth > 0; }", arg=selector)
    assert page.locator(selector).evaluate("img => img.naturalWidth") == 64
    assert "openstreetmap.org" in page.get_by_role("link", name="Open in map").get_attribute("href")
    shot(page, shots, "submission")
    page.get_by_label("Approved").check()
    page.get_by_label("Comment", exact=True).fill("Desk is busy and well run")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator(".flash-info")).to_have_text("Marked as Approved.")
    expect(page.locator("ol.history")).to_contain_text("Desk is busy and well run")
    expect(page.locator(".badge.big")).to_have_text("Approved")
    page.get_by_role("link", name="Projects").click()
    row = page.locator(f'tr[data-project="{builders.PROJECT[RANGPUR]}"]')
    expect(row).to_contain_text("85%")
    expect(row.locator("td").nth(6)).to_have_text("3")
    shot(page, shots, "projects")
    page.get_by_role("button", name="বাংলা").click()
    expect(page.get_by_role("heading", name="উদ্ভাবন প্রকল্প")).to_be_visible()
    shot(page, shots, "projects-bn")


def test_district_officer_downloads_a_workbook_that_opens(server, page, world, tmp_path):
    log_in(page, server, "do_rangpur")
    page.get_by_role("link", name="Downloads").click()
    page.get_by_label("Period").fill("2026-Q4")
    page.get_by_label("বাংলা").check()
    shot(page, tmp_path / "screens", "downloads")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    download = info.value
    assert download.suggested_filename == "sangjog-rangpur-5585-2026-Q4-bn.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert "Inspections" in book.sheetnames
    cells = [c for row in book["Inspections"].iter_rows(values_only=True) for c in row]
    assert "বদরগঞ্জ" in cells  # Badarganj, Rangpur
    assert "ভুরুঙ্গামারী" not in cells  # Bhurungamari, Kurigram


def test_officer_cannot_open_another_districts_submission_by_url(server, page, world, tmp_path):
    log_in(page, server, "do_rangpur")
    own = world.first(RANGPUR)
    response = page.goto(f"{server}/submissions/{own}")
    assert response.status == 200
    other = world.first(KURIGRAM)
    response = page.goto(f"{server}/submissions/{other}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot(page, tmp_path / "screens", "not-found")
    response = page.goto(f"{server}/attachments/{other}/desk.jpg")
    assert response.status == 404
    page.goto(f"{server}/forms/innovation_inspection/submissions?district={KURIGRAM}")
    expect(page.get_by_text("No submissions match.")).to_be_visible()
    assert not re.search(rf'href="/submissions/{other}[?"]', page.content())


def test_admin_pages_render(server, page, world, tmp_path):
    log_in(page, server, "admin")
    for name, path, heading in (("forms", "/admin/forms", "Forms"),
                                ("people", "/admin/users", "People"),
                                ("app-users", "/admin/app-users", "App users"),
                                ("health", "/admin/health", "Sync health")):
        page.goto(server + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        shot(page, tmp_path / "screens", name)


def test_unanswered_questions_line_up_with_the_answered_ones(server, page, world, db, blobs,
                                                             tmp_path):
    """A Nepal action plan leaves the Bangladesh places empty: those rows stay in the same
    columns as the others (they once took the centred empty-state style)."""
    outcome = builders.submit(db, builders.sample("hl_action_plan"),
                              {"signature.png": builders.picture(200)}, blobs=blobs)
    db.commit()
    log_in(page, server, "admin")
    page.goto(f"{server}/submissions/{outcome.submission.id}")
    answered = page.locator("dl.answers > div").first
    unanswered = page.locator("dl.answers > div", has=page.locator("dd", has_text="–")).first
    expect(answered.locator("dd")).not_to_have_text("–")
    shot(page, tmp_path / "screens", "unanswered")
    for part in ("dt", "dd"):
        left = [row.locator(part).evaluate("e => e.getBoundingClientRect().left")
                for row in (answered, unanswered)]
        assert left[0] == left[1], (part, left)
        assert unanswered.locator(part).evaluate("e => getComputedStyle(e).textAlign") in (
            "start", "left")


def test_no_page_scrolls_sideways_on_a_phone(server, browser, world, tmp_path):
    """At 390 pixels wide, wide tables scroll inside their own box; the page itself never does
    (Sync health once pushed the whole page sideways)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "admin")
        for path in ("/dashboard", "/inspections", f"/submissions/{world.first(RANGPUR)}",
                     "/projects", "/downloads", "/admin/forms", "/admin/users",
                     "/admin/app-users", "/admin/health", "/account/password"):
            phone.goto(server + path)
            name = path.strip("/").replace("/", "-")
            shot(phone, tmp_path / "screens", f"phone-{name}")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
    finally:
        context.close()


def test_a_long_unbroken_comment_does_not_widen_the_page(server, page, world, db, tmp_path):
    from pipeline import review

    target = world.first(RANGPUR)
    review.add_comment(db, target, "https://example.org/" + "x" * 3000, "sup_rangpur")
    db.commit()
    log_in(page, server, "sup_rangpur")
    page.goto(f"{server}/submissions/{target}")
    expect(page.locator("ol.history blockquote")).to_have_count(1)
    shot(page, tmp_path / "screens", "long-comment")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.fixture
def nepal_deployment(app, db, blobs, world) -> int:
    """DEFAULT_LANGUAGE=ne, a Kathmandu supervisor and a Nepal action plan prepared on
    2026-10-20 (2083/07/03 BS)."""
    from pipeline import accounts
    app.config["DEFAULT_LANGUAGE"] = "ne"
    accounts.create_user(db, "sup_kathmandu", builders.PASSWORD, "supervisor", ["np_district:306"])
    [plan, _followup] = builders.plans()
    outcome = builders.submit(db, plan.xml, {"signature.png": builders.picture()}, blobs=blobs,
                              submitter="phone-np", received_at=plan.received_at)
    db.commit()
    return outcome.submission.id


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800},  # a laptop
                                      {"width": 390, "height": 844}],  # a phone
                         ids=["laptop", "phone"])
def test_a_nepal_officer_works_in_nepali(server, browser, nepal_deployment, tmp_path, viewport):
    from exports.period import current_quarter

    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    shots, wide = tmp_path / "screens", viewport["width"]

    def fits(name: str) -> None:
        shot(page, shots, f"ne-{wide}-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= wide, (name, width)

    try:
        page.goto(f"{server}/login")
        expect(page.locator("html")).to_have_attribute("lang", "ne")
        fits("login")
        page.get_by_label("प्रयोगकर्ता नाम").fill("sup_kathmandu")
        page.get_by_label("पासवर्ड").fill(builders.PASSWORD)
        page.get_by_role("button", name="लगइन").click()
        expect(page.get_by_role("heading", name="ड्यासबोर्ड")).to_be_visible()
        expect(page.locator("input[name=period]")).to_have_value(current_quarter(country="np"))
        fits("dashboard")
        page.goto(f"{server}/forms/hl_action_plan/submissions")
        expect(page.locator("table.data tbody tr")).to_have_count(1)
        expect(page.locator("table.data tbody td.nowrap").first).to_have_text("२०८३/०७/०३")
        fits("plans")
        # A BS date typed into the filter: after 2083/07/03 nothing is left.
        page.get_by_label("देखि").fill("२०८३/०७/०४")
        page.get_by_role("button", name="छान्नुहोस्").click()
        expect(page.get_by_text("कुनै फाराम मेल खाएन।")).to_be_visible()
        page.get_by_label("देखि").fill("2083/07/01")
        page.get_by_role("button", name="छान्नुहोस्").click()
        expect(page.locator("table.data tbody tr")).to_have_count(1)
        page.locator(f'a[href^="/submissions/{nepal_deployment}?"]').click()
        expect(page.get_by_text("शंखरापुर नगरपालिका").first).to_be_visible()  # the local level
        expect(page.get_by_text("प्राप्त मिति २०८३/०७/०३ १३:४५")).to_be_visible()  # Nepal time
        fits("submission")
        page.get_by_role("link", name="डाउनलोड").click()
        expect(page.get_by_label("अवधि")).to_have_value(current_quarter(country="np"))
        page.get_by_label("अवधि").fill("2083/84")
        fits("downloads")
        with page.expect_download() as info:
            page.get_by_role("button", name="डाउनलोड गर्नुहोस्").click()
        assert info.value.suggested_filename == "sangjog-kathmandu-306-2083-84-ne.xlsx"
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        book = openpyxl.load_workbook(path, read_only=True)
        rows = list(book["Action plans"].iter_rows(values_only=True))
        assert "2083/07/03" in rows[2] and "सहभागी" in book["Action plans and follow-ups"]["A1"].value
    finally:
        context.close()


def test_lists_sort_choose_columns_and_become_cards_on_a_phone(server, browser, page, world,
                                                                tmp_path):
    shots = tmp_path / "screens"
    log_in(page, server, "sup_division")
    page.goto(f"{server}/inspections")
    page.wait_for_load_state("load")
    page.get_by_role("link", name="District").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("District")
    assert "sort=-district" in page.url
    firsts = page.locator("table.data tbody tr td[data-label=District]").all_inner_texts()
    assert firsts == sorted(firsts, reverse=True) and len(set(firsts)) == 2
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Recommendation").check()
    page.get_by_role("button", name="Show these columns").click()
    expect(page.locator("table.data thead")).to_contain_text("Recommendation")
    assert "sort=-district" in page.url  # back on the same list
    page.get_by_label("Search").fill("Badarganj")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    title = page.locator("table.data a.oneline").first
    assert title.evaluate("a => a.scrollHeight <= a.clientHeight + 2")  # one line
    expect(page.get_by_text("Dates shown and filtered on (From, To): Date of the visit")).to_be_visible()
    shot(page, shots, "list-laptop-en")
    page.get_by_role("button", name="বাংলা").click()
    expect(page.locator("table.data thead")).to_contain_text("সুপারিশ")
    shot(page, shots, "list-laptop-bn")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "sup_rangpur")  # sup_division now reads Bengali
        phone.goto(f"{server}/inspections")
        expect(phone.locator("table.data thead")).to_be_hidden()
        badge = phone.locator("table.data tbody tr").first.locator(".badge")
        box = badge.bounding_box()
        assert box and box["x"] + box["width"] <= 390 and box["y"] < 844 * 2
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, shots, "list-phone-en")
        phone.get_by_role("button", name="বাংলা").click()
        expect(phone.locator("table.data tbody tr").first.locator(".badge")).to_be_visible()
        shot(phone, shots, "list-phone-bn")
    finally:
        context.close()


def test_follow_up_tracker_at_laptop_and_phone_width(server, browser, page, world, db, blobs,
                                                      tmp_path):
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    plan = builders.add_plan(db, blobs, KURIGRAM, "Shirin Akter",
                            (today - timedelta(days=400)).isoformat(), "plan-kurigram")
    db.commit()
    shots = tmp_path / "screens"
    log_in(page, server, "sup_division")
    page.get_by_role("link", name="1 plan overdue in Kurigram").click()
    expect(page.get_by_role("heading", name="Action plans and follow-ups")).to_be_visible()
    row = page.locator('tr[data-plan="plan-kurigram"]')
    expect(row.locator("td").last).to_have_text("Overdue")
    shot(page, shots, "plans-laptop-en")
    row.get_by_role("link", name="Shirin Akter").click()
    assert page.url.endswith(f"/submissions/{plan}")
    expect(page.locator("#followups")).to_contain_text("Overdue")
    page.get_by_role("button", name="বাংলা").click()
    page.get_by_role("link", name="পরিকল্পনা", exact=True).click()
    expect(page.locator('tr[data-plan="plan-kurigram"] td').last).to_have_text("বকেয়া")
    shot(page, shots, "plans-laptop-bn")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "admin")
        phone.goto(f"{server}/plans")
        expect(phone.locator('tr[data-plan="plan-kurigram"]')).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, shots, "plans-phone-en")
        phone.get_by_role("button", name="বাংলা").click()
        expect(phone.get_by_role("heading", name="কর্মপরিকল্পনা ও ফলো-আপ")).to_be_visible()
        shot(phone, shots, "plans-phone-bn")
    finally:
        context.close()


def test_save_and_next_and_what_an_edit_changed(server, browser, page, world, db, blobs,
                                                tmp_path):
    edited = builders.edit_inspection(db, blobs, world.first(RANGPUR), progress=75)
    db.commit()
    shots = tmp_path / "screens"
    log_in(page, server, "sup_rangpur")
    expect(page.locator("#attention")).to_contain_text("(2)")
    shot(page, shots, "attention-en")
    page.locator("#attention a").first.click()
    assert "review_state=" in page.url
    page.goto(f"{server}/inspections")
    page.locator("table.data a.oneline").first.click()
    first = page.url
    page.get_by_label("Approved").check()
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator(".flash-info")).to_have_text("Marked as Approved.")
    assert page.url != first and "list=" in page.url
    shot(page, shots, "save-and-next-en")
    page.goto(f"{server}/submissions/{edited}")
    changes = page.locator("#changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.locator("td.after")).to_have_text("75")
    page.get_by_role("button", name="বাংলা").click()
    expect(page.get_by_role("heading", name="সম্পাদনায় যা বদলেছে")).to_be_visible()
    shot(page, shots, "changes-bn")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "sup_division")
        phone.goto(f"{server}/submissions/{edited}")
        expect(phone.locator("#changes td.after")).to_have_text("75")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, shots, "changes-phone-en")
        phone.get_by_role("button", name="বাংলা").click()
        expect(phone.locator("#changes td.after")).to_have_text("75")
        shot(phone, shots, "changes-phone-bn")
    finally:
        context.close()


def test_downloads_with_review_states_and_since_my_last_download(server, browser, page, world,
                                                                  tmp_path):
    import zipfile

    shots = tmp_path / "screens"
    log_in(page, server, "do_rangpur")
    page.get_by_role("link", name="Downloads").click()
    page.get_by_label("Period").fill("2026-11")
    page.get_by_label("CSV files of one form (zip)").check()
    page.get_by_label("Form (CSV only)").select_option("innovation_inspection")
    page.get_by_label("The form's own date (visit, workshop, follow-up)").check()
    page.get_by_label("Received", exact=True).check()
    shot(page, shots, "downloads-options-en")

    def rows() -> int:
        with page.expect_download() as info:
            page.get_by_role("button", name="Download").click()
        path = tmp_path / "d.zip"
        info.value.save_as(path)
        with zipfile.ZipFile(path) as zf:
            return len(zf.read("innovation_inspection.csv").decode("utf-8").splitlines()) - 1

    assert rows() == 2  # Rangpur's two November visits, both still received
    page.get_by_label("Only what arrived since my last download of this area and format").check()
    assert rows() == 0
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, server, "do_kurigram")
        phone.goto(f"{server}/downloads")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, shots, "downloads-phone-en")
        phone.get_by_role("button", name="বাংলা").click()
        expect(phone.get_by_text("পর্যালোচনার অবস্থা")).to_be_visible()
        shot(phone, shots, "downloads-phone-bn")
    finally:
        context.close()
