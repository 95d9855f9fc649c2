"""The workbook's follow-up tracker ("Action plans and follow-ups" and the Summary's count of
overdue plans per district): every plan's schedule and each period reported, due or overdue on
the export date, from ``pipeline.domain.followups.tracker`` like the /plans page, read back with
openpyxl in English and Bengali and checked against the page on the same data."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from exports import words
from exports.domain_sheets import PLAN_COLUMNS
from exports.xlsx import build_workbook
from pipeline.domain import followups
from tests import builders
from tests.builders import KURIGRAM, RANGPUR, SERVER

pytestmark = pytest.mark.usefixtures("fast_hashing")

AS_OF = date(2026, 12, 3)  # the export date
SHEET = "Action plans and follow-ups"


@pytest.fixture
def plans(world, db, blobs) -> None:
    """Rangpur: a plan reported for both its quarters, and one made in October with nothing
    yet (2026 Q4 due until 30 days after it ends). Kurigram: a half-yearly plan reported for
    2026 H2 but not H1 (ended 30 June: overdue)."""
    builders.add_plan(db, blobs, RANGPUR, "Rahima Begum", "2026-07-10", "plan-reported")
    builders.add_plan(db, blobs, RANGPUR, "Nasima Khatun", "2026-10-05", "plan-due")
    builders.add_plan(db, blobs, KURIGRAM, "Shirin Akter", "2026-04-20", "plan-overdue")
    for key, district, who, kind, start, end, on in (
            ("plan-reported", RANGPUR, "Rahima Begum", "quarterly", "2026-07-01", "2026-09-30",
             "2026-10-04"),
            ("plan-reported", RANGPUR, "Rahima Begum", "quarterly", "2026-10-01", "2026-12-31",
             "2026-12-01"),
            ("plan-overdue", KURIGRAM, "Shirin Akter", "half_yearly", "2026-07-01", "2026-12-31",
             "2026-11-20")):
        builders.add_followup(db, blobs, district, who, key, kind, start, end, on)
    db.commit()


def workbook(db, lang: str, scope=("*",), period=None):
    out = io.BytesIO()
    build_workbook(db, list(scope), period, lang, out, SERVER, as_of=AS_OF)
    return load_workbook(io.BytesIO(out.getvalue()))


def by_plan(ws) -> dict[str, list[dict[str, object]]]:
    """The sheet's rows by plan key, as column (``PLAN_COLUMNS``) -> cell."""
    assert ws.max_column == len(PLAN_COLUMNS)
    found: dict[str, list[dict[str, object]]] = {}
    for cells in ws.iter_rows(min_row=2):
        row = dict(zip(PLAN_COLUMNS, cells, strict=True))
        if row["plan_key"].value:
            found.setdefault(row["plan_key"].value, []).append(row)
    return found


def schedule_of(rows) -> list[tuple[str, str, bool]]:
    """(period covered, its status, whether a follow-up is on the row) of one plan's rows."""
    return [(r["covers"].value, r["period_status"].value, bool(r["followup_key"].value))
            for r in rows]


FILL = {"overdue": "F8CBAD", "due": "FFEB9C", "reported": "C6EFCE"}


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_each_plans_schedule_and_periods_reported_due_or_overdue_on_the_export_date(db, plans, lang):
    ws = workbook(db, lang)[SHEET]
    # The day the statuses hold is the export date, and the header says so.
    head = dict(zip(PLAN_COLUMNS, (c.value for c in ws[1]), strict=True))
    assert (head["plan_status"], head["period_status"]) == {
        "en": ("Plan status on 2026-12-03 (export date)", "Period status on 2026-12-03"),
        "bn": ("2026-12-03 (ওয়ার্কবুক তৈরির তারিখ) পরিকল্পনার অবস্থা",
               "2026-12-03 তারিখে সময়কালের অবস্থা")}[lang]
    rows = by_plan(ws)
    assert sorted(rows) == ["plan-due", "plan-overdue", "plan-reported"]
    said = {code: words.word(f"status.{code}", lang) for code in FILL}
    assert said == {"en": {"overdue": "Overdue", "due": "Due", "reported": "Reported"},
                    "bn": {"overdue": "বকেয়া", "due": "প্রাপ্য", "reported": "প্রতিবেদিত"}}[lang]
    assert schedule_of(rows["plan-reported"]) == [
        ("2026 Q3", said["reported"], True), ("2026 Q4", said["reported"], True)]
    assert schedule_of(rows["plan-due"]) == [("2026 Q4", said["due"], False)]
    assert schedule_of(rows["plan-overdue"]) == [
        ("2026 H1", said["overdue"], False), ("2026 H2", said["reported"], True)]
    quarterly, half = (words.word(f"period_type.{t}", lang) for t in ("quarterly", "half_yearly"))
    assert (quarterly, half) == {"en": ("Quarterly", "Half-yearly"),
                                 "bn": ("ত্রৈমাসিক", "ষাণ্মাসিক")}[lang]
    for key, status, schedule in (("plan-reported", "reported", quarterly),
                                  ("plan-due", "due", quarterly),
                                  ("plan-overdue", "overdue", half)):
        for row in rows[key]:
            plan_status = row["plan_status"]
            assert plan_status.value == said[status]
            assert plan_status.fill.fgColor.rgb.endswith(FILL[status])  # coloured by status
            assert row["schedule"].value == schedule
    overdue_period = rows["plan-overdue"][0]["period_status"]
    assert overdue_period.fill.fgColor.rgb.endswith(FILL["overdue"])
    assert overdue_period.font.color.rgb.endswith("9C0006")
    # A reported period's row is its follow-up's: date and officer come with it.
    first = rows["plan-reported"][0]
    assert first["followup_date"].value.date() == date(2026, 10, 4)
    assert first["period"].value == "2026 Q3"


def test_a_period_lists_the_schedule_periods_that_overlap_it(db, plans):
    rows = by_plan(workbook(db, "en", period="2026-Q4")[SHEET])
    assert [r[0] for r in schedule_of(rows["plan-reported"])] == ["2026 Q4"]
    assert [r[0] for r in schedule_of(rows["plan-overdue"])] == ["2026 H2"]
    # ... while the plan's own status stays the one of its whole schedule on the export date
    assert rows["plan-overdue"][0]["plan_status"].value == "Overdue"


def test_statuses_hold_on_the_day_of_export(db, plans):
    """Statuses are those of the export date: the day the workbook is made in its country, or
    the day given; a later day finds the October plan's quarter overdue and the next one due."""
    out = io.BytesIO()
    build_workbook(db, [f"bd_district:{RANGPUR}"], None, "en", out, SERVER)
    today = datetime.now(ZoneInfo("Asia/Dhaka")).date().isoformat()
    head = [c.value for c in load_workbook(io.BytesIO(out.getvalue()))[SHEET][1]]
    assert f"Plan status on {today} (export date)" in head
    out = io.BytesIO()
    build_workbook(db, [f"bd_district:{RANGPUR}"], None, "en", out, SERVER,
                   as_of=date(2027, 2, 15))
    rows = by_plan(load_workbook(io.BytesIO(out.getvalue()))[SHEET])
    late = [(r["covers"].value, r["period_status"].value) for r in rows["plan-due"]]
    assert late == [("2026 Q4", "Overdue"), ("2027 Q1", "Due")]


def test_the_summary_counts_overdue_plans_per_district(db, plans):
    ws = workbook(db, "bn")["Summary"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    title = next(i for i, r in enumerate(values)
                 if r[0] == "2026-12-03 (ওয়ার্কবুক তৈরির তারিখ) ফলো-আপ বকেয়া কর্মপরিকল্পনা")
    assert values[title + 1][:3] == ["জেলা", "কর্মপরিকল্পনা", "বকেয়া"]
    assert [r[:3] for r in values[title + 2:title + 4]] == [["কুড়িগ্রাম", 1, 1], ["রংপুর", 2, 0]]
    assert ws.cell(title + 3, 3).fill.fgColor.rgb.endswith(FILL["overdue"])
    assert values[title + 4][0] is None  # a blank row ends the table


def test_a_districts_workbook_tracks_only_its_plans(db, plans):
    rows = by_plan(workbook(db, "en", scope=(f"bd_district:{RANGPUR}",))[SHEET])
    assert sorted(rows) == ["plan-due", "plan-reported"]


def test_the_workbook_and_the_plans_page_agree(client, db, plans, monkeypatch):
    """Same data, same moment: every plan's periods and statuses read the same on both, on one
    "today" (``followups.today``): at 20:00 UTC on 31 December it is already 1 January in
    Dhaka, so the October plan's 2027 Q1 is due on both (UTC's date would not have it yet)."""
    monkeypatch.setattr(followups, "now", lambda: datetime(2026, 12, 31, 20, 0, tzinfo=UTC))
    builders.login(client, "admin")
    html = client.get("/plans").get_data(as_text=True)
    on_page = {}
    for key in re.findall(r'data-plan="([^"]+)"', html):
        start = html.index(f'data-plan="{key}"')
        row = html[start:html.index("</tr>", start)]
        periods = re.findall(r'<li class="period-(\w+)">(?:<a [^>]*>)?([^<]+?)(?:</a>)? <span', row)
        overall = re.findall(r'badge status-(\w+)', row)[-1]
        on_page[key] = (overall, [(label, status) for status, label in periods])
    assert on_page["plan-due"][1] == [("2026 Q4", "due"), ("2027 Q1", "due")]
    book = io.BytesIO()
    build_workbook(db, ["*"], None, "en", book, SERVER)  # no as_of: the tracker's today
    codes = {v: k for k, v in words.group("status", "en").items()}
    in_book = {}
    for key, rows in by_plan(load_workbook(io.BytesIO(book.getvalue()))[SHEET]).items():
        overall = codes[rows[0]["plan_status"].value]
        periods = list(dict.fromkeys((label, codes[status]) for label, status, _ in
                                     schedule_of(rows) if label))
        in_book[key] = (overall, periods)
    assert on_page == in_book
    assert len(on_page) == 3
    assert {status for v in on_page.values() for _label, status in v[1]} == {
        "overdue", "due", "reported"}
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "1 plan overdue in Kurigram" in dashboard and "overdue in Rangpur" not in dashboard
