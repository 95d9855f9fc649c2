"""exports.xlsx: the district workbook, opened with openpyxl and python-calamine and checked
against what was submitted (labels from the XLSForm, names from shared/geo, tallies by hand)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from exports.period import Period
from exports.xlsx import build_workbook
from pipeline.models import Submission
from pipeline.problems import Problem
from tests import builders
from tests.builders import (
    BALLOTS,
    DINAJPUR,
    ELIGIBLE,
    GAZIPUR,
    NOMINATION_KEYS,
    SERVER,
    load_all,
    vary,
)

ROOT = Path(__file__).resolve().parent.parent
GEO = Path("/work/shared/geo") if Path("/work/shared/geo").is_dir() else ROOT / "shared" / "geo"


def xlsform(form_id: str) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], dict[str, str]]]:
    """(field name -> row, (list, choice) -> row) read straight from the XLSForm."""
    wb = load_workbook(ROOT / "xlsforms" / f"{form_id}.xlsx", read_only=True)
    sheets = {}
    for name in ("survey", "choices"):
        rows = list(wb[name].iter_rows(values_only=True))
        sheets[name] = [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
    wb.close()
    survey = {r["name"]: r for r in sheets["survey"] if r.get("name")}
    choices = {(r["list_name"], r["name"]): r for r in sheets["choices"] if r.get("list_name")}
    return survey, choices


def geo_names(level: str, column: str = "label::Bengali (bn)") -> dict[str, str]:
    with (GEO / f"{level}.csv").open(encoding="utf-8") as f:
        return {row["name"]: row[column] for row in csv.DictReader(f)}


def build(session, scope, period, lang, **kwargs) -> tuple[bytes, object]:
    out = io.BytesIO()
    report = build_workbook(session, scope, period, lang, out, SERVER, **kwargs)
    return out.getvalue(), report


def table(values: list[list[object]]) -> tuple[list[object], list[list[object]]]:
    """Header row 1 (labels), row 2 (field names), data."""
    return values[1], values[2:]


def test_the_district_workbook_holds_exactly_the_districts_submissions(app, session):
    sent = load_all(app, session)["inspections"]
    data, report = build(session, [f"bd_district:{DINAJPUR}"], "2026-Q3", "bn")
    q3 = Period.parse("2026-Q3")
    chosen = [s for s in sent if s.value("district") == DINAJPUR and q3.contains(s.received_at)]
    survey, choices = xlsform("innovation_inspection")
    upazilas = geo_names("bd_upazila")

    values = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert values.sheet_names[:3] == ["Summary", "Inspections", "Inspections - photos"]
    assert "Innovation projects" in values.sheet_names
    sheet = values.get_sheet_by_name("Inspections").to_python()
    labels, fields = sheet[0], sheet[1]
    rows = [dict(zip(fields, r, strict=True)) for r in sheet[2:]]
    # headers: the question's Bengali label above its field name
    for name in ("stage", "progress", "visit_date", "inspector_name"):
        assert labels[fields.index(name)] == survey[name]["label::Bengali (bn)"]
    assert [r["KEY"] for r in rows] == [s.instance_id for s in chosen]
    for s, r in zip(chosen, rows, strict=True):
        assert r["stage"] == choices[("stage", s.value("stage"))]["label::Bengali (bn)"]
        assert r["upazila"] == upazilas[s.value("upazila")]
        assert r["inspector_name"] == s.value("inspector_name")  # Bengali text round-trips
        assert r["progress"] == float(s.value("progress"))
        assert r["visit_date"] == datetime.fromisoformat(s.value("visit_date")).date()
    # photo rows linked by PARENT_KEY
    photos = values.get_sheet_by_name("Inspections - photos").to_python()
    assert photos[1] == ["photo", "caption", "PARENT_KEY", "KEY"]
    assert [(r[2], r[3]) for r in photos[2:]] == [
        (s.instance_id, f"{s.instance_id}/photos[{i}]")
        for s in chosen for i in range(1, len(s.repeat_rows("photos")) + 1)]
    # no other district or period anywhere in the file
    everything = [str(c) for name in values.sheet_names
                  for row in values.get_sheet_by_name(name).to_python() for c in row]
    assert not [c for c in everything if "ex-g1" in c or "ex-d4" in c or "গাজীপুর" in c]

    # Summary: submissions per upazila and review states, counted here from what was sent
    summary = values.get_sheet_by_name("Summary").to_python()
    per_upazila = Counter(upazilas[s.value("upazila")] for s in chosen)
    found = {r[0]: r[1] for r in summary if r and r[0] in per_upazila}
    assert found == dict(per_upazila)
    states = Counter(s.review_state for s in chosen)
    header_row = next(i for i, r in enumerate(summary) if "অনুমোদিত" in r)
    state_row = summary[header_row + 1]
    heads = summary[header_row]
    assert state_row[0] == "উদ্ভাবন পরিদর্শন"  # the form, named in Bengali
    assert {h: state_row[i] for i, h in enumerate(heads) if h in ("প্রাপ্ত", "অনুমোদিত", "সমস্যা আছে")} == {
        "প্রাপ্ত": states["received"], "অনুমোদিত": states["approved"], "সমস্যা আছে": states["has_issues"]}
    assert report.submissions["innovation_inspection"] == len(chosen)

    # formatting, links and charts, read with openpyxl and from the file itself
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Inspections"]
    assert ws.freeze_panes == "B3" and ws.auto_filter.ref.startswith("A2:")
    col = fields.index("signature") + 1
    ids = dict(session.execute(select(Submission.instance_id, Submission.id)).all())
    for offset, s in enumerate(chosen):
        cell = ws.cell(row=3 + offset, column=col)
        assert cell.hyperlink.target == f"{SERVER}/attachments/{ids[s.instance_id]}/signature.png"
    date_cell = ws.cell(row=3, column=fields.index("visit_date") + 1)
    assert date_cell.is_date and isinstance(ws.cell(row=3, column=fields.index("progress") + 1).value, (int, float))
    assert ws.cell(row=3, column=fields.index("inspector_name") + 1).font.name == "Nirmala UI"
    assert wb["Summary"]["A1"].font.name == "Nirmala UI"  # unformatted cells too
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert any(n.startswith("xl/charts/chart") for n in zf.namelist())


def test_ballot_results_rank_votes_of_elected_representatives_and_mark_ties(app, session):
    data_sent = load_all(app, session)["workshop"]
    # one more councillor's ballot for c01 ties it with c04
    ballot = next(s for s in data_sent if s.form_id == "hl_ballot")
    extra = vary(ballot.xml, "uuid:ex-b9", voter_role="councillor", picks=NOMINATION_KEYS["c01"],
                 priority=NOMINATION_KEYS["c01"], voter_name="নতুন ভোটার")
    builders.submit(session, extra, blobs=app.extensions["blobs"], received_at=ballot.received_at)
    session.commit()
    votes = Counter(p for role, picks in [*BALLOTS, ("councillor", ["c01"])] if role in ELIGIBLE
                    for p in picks)
    assert votes == {"c02": 3, "c04": 2, "c01": 2}

    data, _ = build(session, [f"bd_district:{GAZIPUR}"], "2026-08", "en")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Ballot results").to_python()
    assert sheet[0][:3] == ["Upazila (workshop)", "Ballots counted", "Not eligible to vote"]
    assert sheet[1][:3] == ["Kaliganj", 4.0, 1.0]
    start = next(i for i, r in enumerate(sheet) if r and r[0] == "Upazila (workshop)" and "Votes" in r)
    head = sheet[start]
    results = {r[head.index("Good practice")]: dict(zip(head, r, strict=True)) for r in sheet[start + 1:] if r[0]}
    titles = {f"ভালো শিখন {k}": k for k in NOMINATION_KEYS}
    assert {titles[t]: r["Votes"] for t, r in results.items()} == votes
    ranks = {titles[t]: r["Rank"] for t, r in results.items()}
    assert ranks == {"c02": 1, "c04": 2, "c01": 2}  # equal votes share a rank
    assert {titles[t]: r["Tied"] for t, r in results.items()} == {"c02": "", "c04": "yes", "c01": "yes"}
    assert all(r["Top five"] == "yes" for r in results.values())
    # on the Ballots sheet, picks read as the nominated practices' titles
    ballots = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Ballots").to_python()
    picks = {r[ballots[1].index("KEY")]: r[ballots[1].index("picks")] for r in ballots[2:]}
    short = {key: short for short, key in NOMINATION_KEYS.items()}
    first = next(s for s in data_sent if s.instance_id == "uuid:ex-b0")
    assert picks["uuid:ex-b0"] == "; ".join(f"ভালো শিখন {short[k]}" for k in first.value("picks").split())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # the summary chart and one per workshop
        assert len([n for n in zf.namelist() if n.startswith("xl/charts/chart")]) >= 2


def test_a_sheet_longer_than_the_row_limit_continues_on_a_numbered_sheet(app, session):
    sent = load_all(app, session)["inspections"]
    everything = [s.instance_id for s in sent]
    data, report = build(session, ["*"], None, "en", max_rows=4)  # 2 header rows + 2 data rows
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    parts = [n for n in wb.sheet_names if n.startswith("Inspections") and "photos" not in n]
    assert parts == ["Inspections", "Inspections (2)", "Inspections (3)"]
    keys = [r[-1] for name in parts for r in wb.get_sheet_by_name(name).to_python()[2:]]
    assert sorted(keys) == sorted(everything)
    assert [t.title for t in report.splits][:1] == ["Inspections"]
    summary = [c for r in wb.get_sheet_by_name("Summary").to_python() for c in r]
    assert "Inspections, Inspections (2), Inspections (3)" in summary


def test_bad_language_or_scope_is_a_problem_before_anything_is_written(app, session, tmp_path):
    target = tmp_path / "w.xlsx"
    with pytest.raises(Problem) as caught:
        build_workbook(session, ["*"], None, "fr", target, SERVER)
    assert caught.value.code == "export.bad_language"
    with pytest.raises(Problem) as caught:
        build_workbook(session, ["district:12"], None, "en", target, SERVER)
    assert caught.value.code == "scope.invalid" and not target.exists()


def test_nepal_plans_and_their_follow_ups_in_nepali(app, session):
    plan, followup = load_all(app, session)["plans"]
    data, _ = build(session, ["np_district:306"], "2026", "ne", as_of=date(2026, 12, 3))
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = wb.get_sheet_by_name("Action plans and follow-ups").to_python()
    from exports.domain_sheets import plan_headers

    head = rows[0]
    found = [dict(zip(plan_headers("en", date(2026, 12, 3)), r, strict=True)) for r in rows[1:]]
    # The follow-up (for July, before the plan was made) and the plan's first quarter on its
    # schedule, 2026 Q4, not yet reported on 3 December and still due.
    assert len(found) == 2
    row, schedule = found
    assert (row["Period covered"], row["Period status on 2026-12-03"]) == ("", "")
    assert (schedule["Period covered"], schedule["Period status on 2026-12-03"],
            schedule["Follow-up key"]) == ("2026 Q4", "बाँकी", "")
    assert schedule["Plan status on 2026-12-03 (export date)"] == "बाँकी"
    assert row["Participant"] == plan.value("participant_name")  # Nepali text round-trips
    # Nepal's dates in Bikram Sambat beside the Gregorian ones, its period by fiscal quarter.
    assert row["Date prepared (BS)"] == "2083/07/03"  # 2026-10-20
    assert row["Follow-up date (BS)"] == "2083/06/19"  # 2026-10-05
    assert row["Follow-up period"] == "2082/83-Q4"  # from 2026-07-01: Baisakh–Asar 2083
    assert row["Upazila / local level"] == geo_names("np_local_level", "label::Nepali (ne)")["30601"]
    # keys as the phones' action_plans.csv names them: the instanceID without "uuid:"
    assert (row["Plan key"], row["Follow-up key"], row["Linked by"]) == (
        plan.instance_id.removeprefix("uuid:"), followup.instance_id.removeprefix("uuid:"),
        "फाराममा छानिएको योजना")  # linked by the plan chosen on the form
    results = followup.repeat_rows("results")
    assert row["Results"] == "; ".join(f"{r['practice']}: {r['result']}" for r in results)
    assert head[0] == "सहभागी"  # headers in Nepali
    # the plan's own sheets: one row, and its practices on the repeat sheet
    assert len(wb.get_sheet_by_name("Action plans").to_python()) == 3
    assert len(wb.get_sheet_by_name("Action plans - plans").to_python()) == 2 + len(plan.repeat_rows("plans"))


def test_innovation_projects_follow_the_domain_registry(app, session):
    from pipeline.models import InnovationProject

    session.add_all([
        InnovationProject(code="DNJ-2026-001", title_en="e-Mutation desk", title_bn="ই-নামজারি ডেস্ক",
                          division="55", district=DINAJPUR, upazila="552710"),
        InnovationProject(code="DNJ-2026-002", title_en="Land hearings", title_bn="ভূমি শুনানি",
                          division="55", district=DINAJPUR, upazila="552712"),
        InnovationProject(code="GAZ-1", title_en="Elsewhere", division="30", district=GAZIPUR),
    ])
    session.commit()
    sent = load_all(app, session)["inspections"]
    # a later inspection that a supervisor rejected must not move the project
    rejected = vary(sent[0].xml, "uuid:ex-d9", progress="99", visit_date="2026-12-01")
    builders.submit(session, rejected, blobs=app.extensions["blobs"], review_state="rejected",
                    received_at=sent[0].received_at)
    session.commit()

    data, _ = build(session, [f"bd_district:{DINAJPUR}"], "2026-Q3", "en")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Innovation projects").to_python()
    found = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert sorted(found) == ["DNJ-2026-001", "DNJ-2026-002"]  # Gazipur's project is not shown
    # every sample inspects DNJ-2026-001 (a project's inspections count wherever they were filed)
    mine = found["DNJ-2026-001"]
    assert mine["Inspections"] == len(sent)
    latest = max(sent, key=lambda s: (s.value("visit_date"), s.received_at))
    assert mine["Progress (%)"] == float(latest.value("progress"))
    # the period's inspections are the workbook's: this district, this quarter
    q3 = [s for s in sent if s.value("district") == DINAJPUR and Period.parse("2026-Q3").contains(s.received_at)]
    # ... with their review states, the rejected one included
    assert mine["Inspections in period"] == len(q3) + 1
    assert (mine["Approved"], mine["Has issues"], mine["Rejected"]) == (
        sum(s.review_state == "approved" for s in q3), sum(s.review_state == "has_issues" for s in q3), 1)
    assert found["DNJ-2026-002"]["Inspections"] == 0 and found["DNJ-2026-002"]["Progress (%)"] == ""


def test_nepal_dates_have_a_bikram_sambat_column_beside_them(app, session):
    """Forms 1 and 2: each date question gets a BS column after it, filled for Nepal rows only."""
    from tests.builders import Sent, at, sample, send

    load_all(app, session)
    bangladesh = Sent("hl_followup", "uuid:ex-bd-f1", vary(sample("hl_followup"), "uuid:ex-bd-f1"),
                      at("2026-10-22 08:00"))
    send(app, session, [bangladesh])
    data, _ = build(session, ["*"], None, "en")
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    plans = wb.get_sheet_by_name("Action plans").to_python()
    names = plans[1]
    at_bs = names.index("date_prepared_bs")
    assert names[at_bs - 1] == "date_prepared"
    assert plans[0][at_bs].endswith("(BS)")
    assert plans[2][at_bs] == "2083/07/03"  # 2026-10-20
    followups = wb.get_sheet_by_name("Follow-ups").to_python()
    names = followups[1]
    by_country = {r[names.index("country")]: dict(zip(names, r, strict=True))
                  for r in followups[2:]}
    nepal, bd = by_country["Nepal"], by_country["Bangladesh"]
    for field in ("period_start", "period_end", "plan_date", "followup_date"):
        assert names.index(f"{field}_bs") == names.index(field) + 1
        assert bd[f"{field}_bs"] in ("", None)
    assert nepal["followup_date_bs"] == "2083/06/19"  # 2026-10-05
    assert nepal["period_start_bs"] == "2083/03/17"  # 2026-07-01
    # Inspections (Bangladesh only) get no BS columns.
    assert not [n for n in wb.get_sheet_by_name("Inspections").to_python()[1] if str(n).endswith("_bs")]
    # In Nepali the header says वि.सं.
    data, _ = build(session, ["np_district:306"], None, "ne")
    plans = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Action plans").to_python()
    assert plans[0][plans[1].index("date_prepared_bs")].endswith("(वि.सं.)")


# A word of two or more Latin letters, one of them lower case: what must not be left in a Bengali
# or Nepali workbook (acronyms such as GPS, UNO or ADC are codes, written so in both languages).
ENGLISH_WORD = re.compile(r"(?<![A-Za-z])(?=[A-Za-z]*[a-z])[A-Za-z]{2,}")
ZONE_NAMES = ("Asia/Dhaka", "Asia/Kathmandu")


def answers_and_names(sent: list, session) -> list[str]:
    """Text that may stay as it is in any language: what was submitted (answers, file names,
    keys), proper names in English (places of the other country, registry titles, offices)."""
    from xml.etree import ElementTree

    from pipeline.domain.places import places
    from pipeline.models import InnovationProject

    found = {*ZONE_NAMES, "phone-1", "supervisor"}  # zones, the app user and the reviewer
    for s in sent:
        found |= {t.strip() for t in ElementTree.fromstring(s.xml).itertext() if t.strip()}
        found.add(s.instance_id.removeprefix("uuid:"))
    found |= {p.en for p in places().values()}
    for project in session.scalars(select(InnovationProject)):
        found |= {project.code, project.title_en, project.office}
    return sorted((t for t in found if t), key=len, reverse=True)


def english_left(data: bytes, allowed: list[str]) -> list[tuple[str, int, str]]:
    """(sheet, row, text) of every cell with an English word, outside sheet names (they stay
    English by design), the field-name row of data sheets (codes), links and ``allowed``."""
    wb = load_workbook(io.BytesIO(data), read_only=True)
    left = []
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        data_sheet = len(rows) > 1 and "KEY" in rows[1]
        for r, row in enumerate(rows):
            if data_sheet and r == 1:
                continue
            for value in row:
                if not isinstance(value, str):
                    continue
                text = re.sub(r"https?://\S+|uuid:\S+", " ", value)
                for name in sorted(wb.sheetnames, key=len, reverse=True):
                    text = text.replace(name, " ")
                for name in allowed:
                    if ENGLISH_WORD.search(name) and name in text:
                        text = text.replace(name, " ")
                if ENGLISH_WORD.search(text):
                    left.append((ws.title, r + 1, value))
    wb.close()
    return left


@pytest.mark.parametrize("lang", ["bn", "ne"])
def test_a_bengali_or_nepali_workbook_has_no_english_word(app, session, lang):
    from pipeline.models import InnovationProject
    from pipeline.review import add_comment, set_review

    session.add(InnovationProject(code="DNJ-2026-001", title_en="e-Mutation desk",
                                  title_bn="ই-নামজারি ডেস্ক", division="55", district=DINAJPUR,
                                  upazila="552710", office="DC office", category="land"))
    session.commit()
    data_sent = load_all(app, session)
    sent = [s for items in data_sent.values() for s in items]
    ids = dict(session.execute(select(Submission.instance_id, Submission.id)).all())
    set_review(session, [ids["uuid:ex-d2"]], "has_issues", "ছবি অস্পষ্ট", "supervisor")
    add_comment(session, ids["uuid:ex-d2"], "আবার দেখা হবে", "supervisor")
    data, _ = build(session, ["*"], None, lang)

    left = english_left(data, answers_and_names(sent, session))
    assert left == [], "\n".join(map(str, left))
    values = CalamineWorkbook.from_filelike(io.BytesIO(data))
    # calculated fields have a label, and their word values are words
    ballots = values.get_sheet_by_name("Ballots").to_python()
    may_vote = ballots[1].index("may_vote")
    assert ballots[0][may_vote] == {"bn": "ভোট দিতে পারেন (নির্বাচিত জনপ্রতিনিধি)",
                                    "ne": "मत दिन पाउने (निर्वाचित जनप्रतिनिधि)"}[lang]
    assert {r[may_vote] for r in ballots[2:]} == {{"bn": "হ্যাঁ", "ne": "हो"}[lang]}
    projects = values.get_sheet_by_name("Innovation projects").to_python()
    assert projects[1][5] == {"bn": "ভূমি", "ne": "भूमि"}[lang]  # category "land"
    # review comments: the state set and the comment, oldest first
    sheet = values.get_sheet_by_name("Inspections").to_python()
    row = next(r for r in sheet[2:] if r[sheet[1].index("KEY")] == "uuid:ex-d2")
    comments = row[sheet[1].index("review_comments")].split("\n")
    state = {"bn": "সমস্যা আছে", "ne": "समस्या छ"}[lang]
    assert [c.split(" ", 1)[1] for c in comments] == [f"supervisor ({state}): ছবি অস্পষ্ট",
                                                      "supervisor: আবার দেখা হবে"]


def test_times_are_on_the_clock_of_each_rows_country(app, session):
    data_sent = load_all(app, session)
    data, _ = build(session, ["*"], None, "en")
    wb = load_workbook(io.BytesIO(data))
    # Bangladesh-only form: one zone, named in the header
    ws = wb["Inspections"]
    fields = [c.value for c in ws[2]]
    col = fields.index("_submitted_at") + 1
    assert ws.cell(1, col).value == "Submitted (Asia/Dhaka, +06:00)"
    assert "time_zone" not in fields
    first = data_sent["inspections"][0]  # received 2026-07-05 09:00 UTC
    row = next(r for r in range(3, ws.max_row + 1)
               if ws.cell(r, fields.index("KEY") + 1).value == first.instance_id)
    assert ws.cell(row, col).value == datetime(2026, 7, 5, 15, 0)
    # a form of both countries: each row on its own clock, its zone in a column
    ws = wb["Action plans"]
    fields = [c.value for c in ws[2]]
    col = fields.index("_submitted_at") + 1
    assert ws.cell(1, col).value == "Submitted (local time of the row's country)"
    plan = data_sent["plans"][0]  # Kathmandu, received 2026-10-20 08:00 UTC
    assert ws.cell(3, col).value == datetime(2026, 10, 20, 13, 45)
    assert ws.cell(3, fields.index("time_zone") + 1).value == "Asia/Kathmandu"
    assert ws.cell(3, fields.index("KEY") + 1).value == plan.instance_id
    # a Nepal district's workbook names Nepal's zone alone
    data, _ = build(session, ["np_district:306"], None, "en")
    ws = load_workbook(io.BytesIO(data))["Action plans"]
    fields = [c.value for c in ws[2]]
    assert ws.cell(1, fields.index("_submitted_at") + 1).value == "Submitted (Asia/Kathmandu, +05:45)"


def test_every_sheet_prints_landscape_on_a4_one_page_wide_with_its_headers(app, session):
    load_all(app, session)
    data, _ = build(session, ["*"], None, "en")
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9, ws.title
        # fitToWidth is 1 when absent (the OOXML default); fitToHeight 0: as many pages as needed
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    data_sheet = wb["Inspections"]
    assert data_sheet.print_title_rows == "$1:$2" and data_sheet.freeze_panes == "B3"
    assert wb["Action plans and follow-ups"].print_title_rows == "$1:$1"
    assert wb["Action plans and follow-ups"].freeze_panes == "B2"
    # Bengali answers in the English workbook are set in the documented font
    cell = data_sheet.cell(row=3, column=[c.value for c in data_sheet[2]].index("inspector_name") + 1)
    assert any("\u0980" <= ch <= "\u09ff" for ch in cell.value) and cell.font.name == "Nirmala UI"


def test_prepare_reads_a_dataframe_as_it_reads_columns():
    """``labels.prepare`` takes ``query.column_chunks``' columns or a DataFrame (``query.frames``,
    the export benchmark) alike, and puts each row's times on its country's clock."""
    import pandas as pd

    from exports import labels

    cols = [labels.SheetColumn("_submitted_at", "_submitted_at", "Submitted", labels.DATETIME),
            labels.SheetColumn("district", "district", "District")]
    chunk = {"_submitted_at": (datetime(2026, 7, 5, 9, 0), datetime(2026, 7, 5, 9, 0)),
             "district": ("5527", "306")}
    mixed = labels.SheetClock(("bd", "np"))
    from_columns = labels.prepare(chunk, cols, clock=mixed)
    from_frame = labels.prepare(pd.DataFrame({k: list(v) for k, v in chunk.items()}), cols, clock=mixed)
    assert from_columns.values == from_frame.values and from_frame.rows == 2
    # 09:00 UTC is 15:00 in Dhaka and 14:45 in Kathmandu (Excel serial days)
    day = (datetime(2026, 7, 5) - datetime(1899, 12, 30)).days
    assert from_frame.values[0] == pytest.approx([day + 15 / 24, day + (14 * 60 + 45) / 1440])
