"""Supervisors' review pages: the submissions list (filters, search, keyset pages), the
submission page (labels, photos, GPS, histories) and the review itself, one or many at once."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline import review, warehouse
from pipeline import scope as scoping
from pipeline.models import AuditEvent, Form, Submission
from pipeline.problems import Problem
from sync_server.web import listing
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/submissions/(\d+)[?"]', html)]


def warehouse_state(db, submission_id: int) -> str:
    db.rollback()
    table = warehouse.form_tables(db.connection(), "innovation_inspection")["wh_innovation_inspection"]
    return db.scalar(select(table.c._review_state).where(table.c._submission_id == submission_id))


def test_list_filters_and_search(client, world):
    builders.login(client, "sup_division")  # sees both districts
    everything = listed_ids(client.get(LIST).get_data(as_text=True))
    assert sorted(everything) == sorted(world.submissions[RANGPUR] + world.submissions[KURIGRAM])
    visits = dict(zip(world.submissions[RANGPUR] + world.submissions[KURIGRAM],
                      ["2026-11-10", "2026-11-11"] * 2, strict=True))
    # Newest visit first (the date the list shows and filters on), then newest arrival.
    assert everything == sorted(everything, key=lambda i: (visits[i], i), reverse=True)
    only = listed_ids(client.get(f"{LIST}?district={KURIGRAM}").get_data(as_text=True))
    assert sorted(only) == world.submissions[KURIGRAM]
    by_project = client.get(f"{LIST}?project={builders.PROJECT[RANGPUR]}").get_data(as_text=True)
    assert sorted(listed_ids(by_project)) == world.submissions[RANGPUR]
    dated = listed_ids(client.get(f"{LIST}?from=2026-11-11&to=2026-11-11").get_data(as_text=True))
    assert sorted(dated) == [world.submissions[RANGPUR][1], world.submissions[KURIGRAM][1]]
    assert listed_ids(client.get(f"{LIST}?review_state=approved").get_data(as_text=True)) == []
    page = client.get(f"{LIST}?q=Farhana&upazila={builders.UPAZILA[RANGPUR]}")
    assert sorted(listed_ids(page.get_data(as_text=True))) == world.submissions[RANGPUR]
    assert listed_ids(client.get(f"{LIST}?q=nobody-by-this-name").get_data(as_text=True)) == []
    bad = client.get(f"{LIST}?from=yesterday")
    assert bad.status_code == 400 and "is not a date" in bad.get_data(as_text=True)
    # Every form has the same list; one without submissions yet says so.
    ballots = client.get("/forms/hl_ballot/submissions")
    assert ballots.status_code == 200 and "No submissions yet." in ballots.get_data(as_text=True)
    assert client.get("/forms/no_such_form/submissions").status_code == 404


def test_keyset_pages_walk_every_row_once(client, world, db, blobs, monkeypatch):
    for i in range(3):
        builders.add_inspection(db, blobs, RANGPUR, 50 + i)
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    builders.login(client, "sup_rangpur")
    seen, url = [], LIST
    for _ in range(10):  # bounded: 5 rows, 2 per page
        html = client.get(url).get_data(as_text=True)
        seen.extend(listed_ids(html))
        older = re.search(r'href="([^"]*before=\d+[^"]*)"', html)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
    table = warehouse.form_tables(db.connection(), "innovation_inspection")[
        "wh_innovation_inspection"]
    expected = db.scalars(select(table.c._submission_id).where(table.c.district == RANGPUR)
                          .order_by(table.c.visit_date.desc(), table.c._submission_id.desc())).all()
    assert seen == expected and len(expected) == 5
    newer = re.search(r'href="([^"]*after=\d+[^"]*)"', html)
    back = listed_ids(client.get(newer.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert back == expected[2:4]


def test_cheap_count_stops_at_the_cap(world, db, monkeypatch):
    table = warehouse.form_tables(db.connection(), "innovation_inspection")["wh_innovation_inspection"]
    where = [scoping.where(table, scoping.parse(["*"]))]
    assert listing.cheap_count(db.connection(), table, where) == (4, False)
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    assert listing.cheap_count(db.connection(), table, where) == (3, True)


def test_submission_page_shows_labels_photos_location_and_project_history(client, world):
    builders.login(client, "sup_rangpur")
    first, second = world.submissions[RANGPUR]
    html = client.get(f"/submissions/{first}").get_data(as_text=True)
    assert "Inspecting officer&#39;s name" in html or "Inspecting officer's name" in html
    assert "Pilot running" in html and "Mobile land records desk" in html
    assert f'Mobile land records desk <span class="muted">{builders.PROJECT[RANGPUR]}</span>' in html
    # A small thumbnail on the page, opening the photo as received.
    assert f'src="/attachments/{first}/desk.jpg?size=thumb"' in html
    assert f'href="/attachments/{first}/desk.jpg"' in html
    assert "https://www.openstreetmap.org/?mlat=25.6279&amp;mlon=88.6332" in html
    assert "(± 4.5 m)" in html
    # The project's history lists both inspections of the project, with their progress.
    assert f'href="/submissions/{second}"' in html and "30%" in html and "20%" in html
    photo = client.get(f"/attachments/{first}/desk.jpg")
    assert photo.status_code == 200 and photo.data == builders.picture()
    assert photo.headers["Content-Type"] == "image/jpeg"
    thumb = client.get(f"/attachments/{first}/desk.jpg?size=thumb")
    assert thumb.status_code == 200 and thumb.data.startswith(b"\xff\xd8")  # a real JPEG
    token = builders.csrf(html)
    client.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = client.get(f"/submissions/{first}").get_data(as_text=True)
    # Labels and choices in the form's own Bengali, project titles from the registry.
    assert "প্রকল্পের পর্যায়" in bengali and "পাইলট চলমান" in bengali
    assert "ভ্রাম্যমাণ ভূমি রেকর্ড ডেস্ক" in bengali


def test_thumbnails_are_small_and_made_once(app, client, world, db, blobs):
    from PIL import Image

    big = io.BytesIO()
    Image.new("RGB", (2000, 1500), (30, 120, 90)).save(big, "PNG")
    target = builders.add_inspection(db, blobs, RANGPUR, 40, files={"desk.jpg": big.getvalue()})
    builders.login(client, "sup_rangpur")
    first = client.get(f"/attachments/{target}/desk.jpg?size=thumb")
    with Image.open(io.BytesIO(first.data)) as small:
        assert small.format == "JPEG" and small.size == (320, 240)
    assert len(first.data) < len(big.getvalue()) / 10
    made = list((Path(app.config["SANGJOG_DATA_DIR"]) / "thumbs").rglob("*.jpg"))
    assert len(made) == 1
    assert client.get(f"/attachments/{target}/desk.jpg?size=thumb").data == first.data
    assert client.get(f"/attachments/{target}/desk.jpg").data == big.getvalue()


def _review(client, submission_id: int, state: str, comment: str, token: str):
    """Post a review of one submission, as the form on its page does."""
    return client.post(f"/submissions/{submission_id}/review",
                       data={"state": state, "comment": comment, "csrf_token": token})


def test_approve_with_comment_writes_state_warehouse_and_audit(client, world, db):
    builders.login(client, "sup_rangpur")
    target = world.first(RANGPUR)
    token = builders.csrf(client.get(f"/submissions/{target}").get_data(as_text=True))
    response = _review(client, target, "approved", "Desk works well", token)
    assert response.status_code == 302
    assert db.get(Submission, target).review_state == "approved"
    assert warehouse_state(db, target) == "approved"
    event = db.scalar(select(AuditEvent).where(AuditEvent.submission_id == target))
    assert (event.actor, event.action, event.from_state, event.to_state, event.comment) == (
        "sup_rangpur", "submission.review", "received", "approved", "Desk works well")
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert "Desk works well" in page and "Marked as Approved." in page


def test_an_edit_keeps_the_history_and_old_links_lead_to_it(client, world, db, blobs):
    builders.login(client, "sup_rangpur")
    original = world.first(RANGPUR)
    token = builders.csrf(client.get(f"/submissions/{original}").get_data(as_text=True))
    _review(client, original, "has_issues", "Progress looks too low", token)
    edited = builders.edit_inspection(db, blobs, original, 45)
    moved = client.get(f"/submissions/{original}")
    assert moved.status_code == 302 and moved.headers["Location"] == f"/submissions/{edited}"
    page = client.get(f"/submissions/{edited}").get_data(as_text=True)
    assert "Edited on the phone and sent again" in page
    assert "Progress looks too low" in page  # the review of the version it replaced
    assert "45" in page
    listed = listed_ids(client.get(LIST).get_data(as_text=True))
    assert edited in listed and original not in listed


def test_rejection_needs_a_comment_and_changes_nothing_without_one(client, world, db):
    builders.login(client, "sup_rangpur")
    target = world.first(RANGPUR)
    token = builders.csrf(client.get(f"/submissions/{target}").get_data(as_text=True))
    _review(client, target, "rejected", " ", token)
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert "Say what is wrong in the comment" in page
    db.rollback()
    assert db.get(Submission, target).review_state == "received"
    assert warehouse_state(db, target) == "received"
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.submission_id == target)) is None


def test_comment_only_keeps_the_state(client, world, db):
    builders.login(client, "sup_rangpur")
    target = world.first(RANGPUR)
    token = builders.csrf(client.get(f"/submissions/{target}").get_data(as_text=True))
    _review(client, target, "comment", "Visit again in March", token)
    db.rollback()
    assert db.get(Submission, target).review_state == "received"
    assert "Visit again in March" in client.get(f"/submissions/{target}").get_data(as_text=True)


def test_bulk_review_from_the_list(client, world, db):
    builders.login(client, "sup_rangpur")
    html = client.get(LIST).get_data(as_text=True)
    ids = world.submissions[RANGPUR]
    response = client.post(f"{LIST}/review", data={"ids": [str(i) for i in ids],
                                                   "state": "has_issues",
                                                   "comment": "Photos are blurred",
                                                   "next": LIST, "csrf_token": builders.csrf(html)})
    assert response.status_code == 302 and response.headers["Location"] == LIST
    db.rollback()
    assert [db.get(Submission, i).review_state for i in ids] == ["has_issues", "has_issues"]
    assert [warehouse_state(db, i) for i in ids] == ["has_issues", "has_issues"]
    assert "2 submissions marked as Has issues." in client.get(LIST).get_data(as_text=True)
    filtered = client.get(f"{LIST}?review_state=has_issues").get_data(as_text=True)
    assert sorted(listed_ids(filtered)) == ids


def test_bulk_review_reaching_outside_the_scope_changes_nothing(client, world, db):
    builders.login(client, "sup_rangpur")
    html = client.get(LIST).get_data(as_text=True)
    ids = [world.first(RANGPUR), world.first(KURIGRAM)]
    response = client.post(f"{LIST}/review", data={"ids": [str(i) for i in ids],
                                                   "state": "approved", "csrf_token":
                                                   builders.csrf(html)})
    assert response.status_code == 404
    db.rollback()
    assert [db.get(Submission, i).review_state for i in ids] == ["received", "received"]
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "submission.review")) is None


def test_set_review_is_one_transaction(world, db):
    ids = world.submissions[RANGPUR]
    with pytest.raises(Problem) as refused:
        review.set_review(db, [*ids, 999_999], "approved", None, "tester")
    assert refused.value.code == "resource.not_found"
    assert [db.get(Submission, i).review_state for i in ids] == ["received", "received"]
    done = review.set_review(db, ids, "rejected", "Duplicate visit", "tester",
                             scope=scoping.parse([f"bd_district:{RANGPUR}"]))
    assert [s.review_state for s in done] == ["rejected", "rejected"]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "submission.review")
                        .order_by(AuditEvent.id)).all()
    assert [(e.submission_id, e.from_state, e.to_state) for e in events] == [
        (ids[0], "received", "rejected"), (ids[1], "received", "rejected")]
    for bad_state in ("received", "maybe"):
        with pytest.raises(Problem):
            review.set_review(db, ids, bad_state, "x", "tester")


def test_district_officers_read_but_do_not_review(client, world, db):
    builders.login(client, "do_rangpur")
    target = world.first(RANGPUR)
    html = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert "Save review" not in html
    response = client.post(f"/submissions/{target}/review",
                           data={"state": "approved", "csrf_token": builders.csrf(html)})
    assert response.status_code == 403
    assert db.get(Submission, target).review_state == "received"


def test_registry_shows_progress_after_review(client, world, db, blobs):
    builders.login(client, "sup_rangpur")
    newest = builders.add_inspection(db, blobs, RANGPUR, 85, visit_date="2026-11-20")
    registry = client.get("/projects").get_data(as_text=True)
    row = re.search(rf'data-project="{builders.PROJECT[RANGPUR]}".*?</tr>', registry, re.S).group(0)
    assert "85%" in row
    assert builders.PROJECT[KURIGRAM] not in registry
    token = builders.csrf(registry)
    _review(client, newest, "rejected", "Wrong project", token)
    registry = client.get("/projects").get_data(as_text=True)
    row = re.search(rf'data-project="{builders.PROJECT[RANGPUR]}".*?</tr>', registry, re.S).group(0)
    assert "85%" not in row and "30%" in row


def test_ballot_page_names_the_picked_practices_not_their_keys(client, world, db, blobs):
    """Picks and their priority are keys of nominations (the form reads them from a CSV); the
    page shows the practices' titles, in the voter's order."""
    keys = [str(uuid.uuid4()) for _ in range(3)]
    builders.add_workshop(db, blobs, {keys[0]: "Ward meetings every quarter",
                                     keys[1]: "Open budget board", keys[2]: "Tax by mobile"},
                         [[keys[2], keys[0]]])
    db.commit()
    ballot = db.scalar(select(Submission.id).join(Submission.form)
                       .where(Form.xml_form_id == "hl_ballot"))
    builders.login(client, "admin")
    html = client.get(f"/submissions/{ballot}").get_data(as_text=True)
    answers = html.split('<dl class="answers">')[1].split("</dl>")[0]
    for key in keys:
        assert key not in answers
    assert "Tax by mobile, Ward meetings every quarter" in answers
    assert "1. Tax by mobile, 2. Ward meetings every quarter" in answers
    assert "Open budget board" not in answers


def test_dashboard_says_why_projects_are_behind_in_the_readers_language(client, world, db, blobs):
    from pipeline.domain import projects

    projects.import_projects(db, (
        "code,title_en,title_bn,division,district,upazila,office,started_on,category\n"
        f"RNG-2019-001,Union ward budget boards,ইউনিয়ন ওয়ার্ড বাজেট বোর্ড,55,{RANGPUR},,"
        "DC Office Rangpur,2019-03-01,e_governance\n").encode())
    builders.add_inspection(db, blobs, RANGPUR, 10, visit_date="2026-11-20")  # 30% then 10%
    db.commit()
    builders.login(client, "sup_rangpur")
    english = client.get("/dashboard").get_data(as_text=True)
    assert "Never inspected; started Mar 1, 2019," in english
    assert "Progress did not increase: 30% then 10%." in english
    token = builders.csrf(english)
    client.post("/language", data={"lang": "bn", "csrf_token": token})
    bengali = client.get("/dashboard").get_data(as_text=True)
    side = bengali.split("পিছিয়ে পড়া প্রকল্প")[1]
    assert "কখনও পরিদর্শন হয়নি; শুরু" in side and "দিন আগে।" in side
    assert "অগ্রগতি বাড়েনি: আগে 30%, পরে 10%।" in side
    assert "Never inspected" not in side and "Progress did not increase" not in side
    assert "2019-03-01" not in side  # a date as the reader writes it, not ISO


def test_form_titles_read_in_bengali_for_a_bengali_reader(client, world):
    """Each of the five forms has one title (XLSForm settings); its Bengali comes from the
    catalogue, on the list, the submission page and the dashboard tiles."""
    import openpyxl

    builders.login(client, "sup_rangpur")
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"lang": "bn", "csrf_token": token})
    listing_page = client.get(LIST).get_data(as_text=True)
    assert ">উদ্ভাবন প্রকল্প পরিদর্শন</h1>" in listing_page
    page = client.get(f"/submissions/{world.first(RANGPUR)}").get_data(as_text=True)
    assert "← উদ্ভাবন প্রকল্প পরিদর্শন</a>" in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    # Every form's current title has its Bengali: none shows in English.
    for path in sorted((Path(__file__).resolve().parents[1] / "xlsforms").glob("*.xlsx")):
        rows = list(openpyxl.load_workbook(path, read_only=True)["settings"].iter_rows(values_only=True))
        title = rows[1][rows[0].index("form_title")]
        assert title not in dashboard and title.replace("'", "&#39;") not in dashboard, title


def test_repeat_headings_are_the_forms_own_labels_in_the_readers_language(client, world, db,
                                                                        blobs):
    plan = builders.submit(db, builders.sample("hl_action_plan"),
                           {"signature.png": builders.picture(200)}, blobs=blobs)
    db.commit()
    builders.login(client, "admin")
    english = client.get(f"/submissions/{plan.submission.id}").get_data(as_text=True)
    assert '<h2>Good practice to apply <span class="muted">(2)</span></h2>' in english
    client.post("/language", data={"lang": "bn", "csrf_token": builders.csrf(english)})
    bengali = client.get(f"/submissions/{plan.submission.id}").get_data(as_text=True)
    assert '<h2>প্রয়োগযোগ্য ভালো শিখন <span class="muted">(2)</span></h2>' in bengali
    inspection = client.get(f"/submissions/{world.first(RANGPUR)}").get_data(as_text=True)
    assert '<h2>ছবি <span class="muted">(2)</span></h2>' in inspection
    assert "Plans" not in bengali and "Photos" not in inspection


def test_the_forms_unlabelled_calculations_stay_out_of_the_answers(client, world):
    """``project_name`` is a calculation without a label: it is not shown as a question named
    "project name", but folded away under its field name."""
    builders.login(client, "sup_rangpur")
    html = client.get(f"/submissions/{world.first(RANGPUR)}").get_data(as_text=True)
    answers = html.split('<dl class="answers">')[1].split("</dl>")[0]
    assert "project name" not in answers and "project_name" not in answers
    assert "Progress (%)" in answers
    folded = html.split('<details class="calculated">')[1].split("</details>")[0]
    assert "Calculated by the form" in folded and "<code>project_name</code>" in folded


def test_refused_reviews_explain_themselves_in_the_readers_language(client, world):
    builders.login(client, "sup_rangpur")
    target = world.first(RANGPUR)
    token = builders.csrf(client.get(f"/submissions/{target}").get_data(as_text=True))
    client.post("/language", data={"lang": "bn", "csrf_token": token})
    _review(client, target, "rejected", "", token)
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert "মন্তব্যে লিখুন কী ভুল আছে" in page and "Say what is wrong" not in page
    _review(client, target, "comment", " ", token)
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert "সংরক্ষণের আগে একটি মন্তব্য লিখুন।" in page
    client.post(f"{LIST}/review", data={"state": "approved", "csrf_token": token})
    listing_page = client.get(LIST).get_data(as_text=True)
    assert "পর্যালোচনার জন্য অন্তত একটি জমা বাছুন।" in listing_page


def test_dashboard_counts_nepal_submissions_under_their_local_level(client, world, db, blobs):
    builders.submit(db, builders.sample("hl_action_plan"), {"signature.png": builders.picture(200)},
                    blobs=blobs)
    db.commit()
    builders.login(client, "admin")
    html = client.get("/dashboard").get_data(as_text=True)
    bars = html.split("Peer-learning action plan (Form 1)</h3>")[1].split("</table>")[0]
    assert "Shankharapur Municipality" in bars and "(no upazila)" not in bars
    inspections = html.split("Innovation project inspection</h3>")[1].split("</table>")[0]
    assert "Badarganj" in inspections  # Bangladesh rows still count by upazila


def test_dashboard_says_when_it_cannot_read_the_period(client, world):
    builders.login(client, "sup_rangpur")
    html = client.get("/dashboard?period=last+autumn").get_data(as_text=True)
    assert "“last autumn” is not a period" in html and "showing this quarter" in html
    fine = client.get("/dashboard?period=2026-Q4").get_data(as_text=True)
    assert "is not a period" not in fine


def test_an_overlong_comment_is_refused_with_a_clear_message(client, world, db):
    builders.login(client, "sup_rangpur")
    target = world.first(RANGPUR)
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert 'maxlength="5000"' in page
    token = builders.csrf(page)
    for state in ("comment", "approved"):
        _review(client, target, state, "z" * 200_000, token)
        page = client.get(f"/submissions/{target}").get_data(as_text=True)
        assert "A comment has at most 5,000 characters; this one has 200,000." in page
    client.post(f"{LIST}/review", data={"state": "approved", "ids": [str(target)],
                                        "comment": "z" * 5001, "csrf_token": token})
    assert "at most 5,000 characters" in client.get(LIST).get_data(as_text=True)
    db.rollback()
    assert db.get(Submission, target).review_state == "received"
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.submission_id == target)) is None


def test_a_refused_review_keeps_the_chosen_state_and_the_comment(client, world):
    """Forgetting to tick rows (or to write why) does not throw away what was chosen and typed."""
    builders.login(client, "sup_rangpur")
    token = builders.csrf(client.get(LIST).get_data(as_text=True))
    client.post(f"{LIST}/review", data={"state": "has_issues", "csrf_token": token,
                                        "comment": "Photos of the desk are missing"})
    html = client.get(LIST).get_data(as_text=True)
    assert "Select at least one submission to review." in html
    assert re.search(r'<option value="has_issues"\s+selected>', html)
    assert 'value="Photos of the desk are missing"' in html
    again = client.get(LIST).get_data(as_text=True)  # once only
    assert 'value="Photos of the desk are missing"' not in again
    target = world.first(RANGPUR)
    _review(client, target, "rejected", "", token)
    page = client.get(f"/submissions/{target}").get_data(as_text=True)
    assert re.search(r'value="rejected"\s+checked', page)


def test_district_filter_offers_only_the_forms_country(client, world, db, blobs):
    builders.submit(db, builders.sample("hl_action_plan"), {"signature.png": builders.picture(200)},
                    blobs=blobs)
    db.commit()
    builders.login(client, "admin")
    inspections = client.get(LIST).get_data(as_text=True)
    districts = inspections.split('name="district"')[1].split("</select>")[0]
    assert f'value="{RANGPUR}"' in districts
    assert 'value="306"' not in districts  # Kathmandu: inspections are Bangladesh only
    plans = client.get("/forms/hl_action_plan/submissions").get_data(as_text=True)
    both = plans.split('name="district"')[1].split("</select>")[0]
    assert 'value="306"' in both and f'value="{RANGPUR}"' in both  # the form asks both


def test_date_answers_read_as_the_reader_writes_dates(client, world):
    builders.login(client, "sup_rangpur")
    first = world.first(RANGPUR)  # visited 2026-11-10
    html = client.get(f"/submissions/{first}").get_data(as_text=True)
    answers = html.split('<dl class="answers">')[1].split("</dl>")[0]
    assert "<dd>Nov 10, 2026</dd>" in answers and "2026-11-10" not in answers
    client.post("/language", data={"lang": "bn", "csrf_token": builders.csrf(html)})
    bengali = client.get(f"/submissions/{first}").get_data(as_text=True)
    assert "<dd>১০ নভে, ২০২৬</dd>" in bengali.split('<dl class="answers">')[1].split("</dl>")[0]


def _unlisted_inspection(db, blobs, district, name, progress):
    """An inspection of a project the phone's list did not offer, described in the form."""
    xml = builders.inspection_xml(district, progress).decode("utf-8")
    described = (f"<project_listed>no</project_listed><new_project_name>{name}</new_project_name>"
                 "<new_project_office>UNO office</new_project_office>"
                 "<new_project_category>land</new_project_category>")
    xml, n = re.subn(r"<project_listed>yes</project_listed><project>[^<]*</project>", described, xml)
    assert n == 1
    outcome = builders.submit(db, xml.encode("utf-8"), blobs=blobs, submitter="phone-1")
    assert outcome.submission.parse_status == "ok"
    return outcome.submission.id


def test_an_admin_adds_an_inspected_project_to_the_registry_in_one_click(client, world, db, blobs):
    sid = _unlisted_inspection(db, blobs, RANGPUR, "Haor flood early warning by SMS", 40)
    db.commit()
    builders.login(client, "sup_rangpur")
    page = client.get("/projects").get_data(as_text=True)
    row = re.search(rf'data-candidate="{sid}".*?</tr>', page, re.S).group(0)
    assert "Haor flood early warning by SMS" in row and "Add to the registry" not in row
    refused = client.post(f"/projects/candidates/{sid}", data={"csrf_token": builders.csrf(page)})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": builders.csrf(page)})

    builders.login(client, "admin")
    page = client.get("/projects").get_data(as_text=True)
    assert "Add to the registry" in re.search(rf'data-candidate="{sid}".*?</tr>', page, re.S).group(0)
    added = client.post(f"/projects/candidates/{sid}", data={"csrf_token": builders.csrf(page)})
    assert added.status_code == 302
    page = client.get("/projects").get_data(as_text=True)
    assert f'data-candidate="{sid}"' not in page
    row = re.search(r'data-project="NEW-5585-001".*?</tr>', page, re.S).group(0)
    assert "Haor flood early warning by SMS" in row and "40%" in row
    again = client.post(f"/projects/candidates/{sid}", data={"csrf_token": builders.csrf(page)})
    assert again.status_code == 409


def test_candidates_show_only_inside_the_readers_area(client, world, db, blobs):
    sid = _unlisted_inspection(db, blobs, RANGPUR, "Haor flood early warning by SMS", 40)
    db.commit()
    builders.login(client, "do_kurigram")
    assert f'data-candidate="{sid}"' not in client.get("/projects").get_data(as_text=True)
