"""Generated media CSVs: exact columns, deterministic bytes, md5 changes exactly with content."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from sqlalchemy import delete

from pipeline.access import EVERYWHERE
from pipeline.domain.media import MEDIA_NAMES, generated_media
from pipeline.domain.projects import SAMPLE, import_projects
from pipeline.models import InnovationProject
from pipeline.review import set_review
from pipeline.storage import BlobStore
from tests import builders

HEADERS = {
    "ballot_candidates.csv": "name,label,label_en,label_bn,label_ne,upazila,workshop_day\n",
    "innovation_projects.csv": "name,label,label_en,label_bn,label_ne,division,district,upazila\n",
    "action_plans.csv": "name,label,label_en,label_bn,label_ne,district,upazila,union,local_level,"
                        "participant_name,position,plan_date,practice_count,"
                        "practice_1,practice_2,practice_3,practice_4,practice_5\n",
}


def md5(session, name):
    return hashlib.md5(generated_media(session, name, EVERYWHERE)).hexdigest()


def rows(session, name):
    return list(csv.DictReader(io.StringIO(generated_media(session, name, EVERYWHERE).decode("utf-8"))))


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path / "blobs")


def nominate(session, blobs, union, title, instance_id=None, upazila="100409"):
    answers = {"division": "10", "district": "1004", "upazila": upazila, "union": union,
               "workshop_date": "2026-03-10", "practice_title": title,
               "indicators": [{"indicator": "Tax collected"}]}
    xml = builders.submission("hl_nomination", answers, instance_id=instance_id)
    return builders.submit(session, xml, blobs=blobs).submission


def test_before_any_submission_each_file_is_its_header(session):
    for name in MEDIA_NAMES:
        assert generated_media(session, name, EVERYWHERE) == HEADERS[name].encode()
    builders.publish(session)  # published, still no submissions
    for name in MEDIA_NAMES:
        assert generated_media(session, name, EVERYWHERE) == HEADERS[name].encode()
    assert generated_media(session, "bd_union.csv", EVERYWHERE) is None
    assert generated_media(session, "../ballot_candidates.csv", EVERYWHERE) is None


def test_ballot_candidates_list_nominations_and_follow_their_review(session, blobs):
    builders.publish(session, "hl_nomination", "hl_ballot")
    nominate(session, blobs, "10040913", "Tax  fair\nevery month", "uuid:nom-1")
    second = nominate(session, blobs, "10040915", "Open budget", "uuid:nom-2")
    assert rows(session, "ballot_candidates.csv") == [
        {"name": "nom-1", "label": "Amtali · আমতলী — Tax fair every month",
         "label_en": "Amtali — Tax fair every month", "label_bn": "আমতলী — Tax fair every month",
         "label_ne": "Amtali — Tax fair every month", "upazila": "100409",
         "workshop_day": "20260310"},
        {"name": "nom-2", "label": "Arpangashia · আড়পাঙ্গাশিয়া — Open budget",
         "label_en": "Arpangashia — Open budget", "label_bn": "আড়পাঙ্গাশিয়া — Open budget",
         "label_ne": "Arpangashia — Open budget", "upazila": "100409",
         "workshop_day": "20260310"},
    ]
    data = generated_media(session, "ballot_candidates.csv", EVERYWHERE)
    assert b"\r" not in data and data.endswith(b"\n")

    before = md5(session, "ballot_candidates.csv")
    assert md5(session, "ballot_candidates.csv") == before  # asked twice, same bytes
    builders.submit(session, builders.submission("hl_ballot", {
        "upazila": "100409", "voter_name": "Rahima", "voter_role": "up_chairman", "picks": "nom-1"}),
        blobs=blobs)
    assert md5(session, "ballot_candidates.csv") == before  # another form's data: no change
    session.commit()
    set_review(session, [second.id], "approved", None, "supervisor")
    assert md5(session, "ballot_candidates.csv") == before  # approval changes no content
    set_review(session, [second.id], "rejected", "Duplicate of nom-1", "supervisor")
    after_reject = md5(session, "ballot_candidates.csv")
    assert after_reject != before
    assert [r["name"] for r in rows(session, "ballot_candidates.csv")] == ["nom-1"]
    nominate(session, blobs, "10040923", "School meals", "uuid:nom-3")
    assert md5(session, "ballot_candidates.csv") not in (before, after_reject)


def test_innovation_projects_come_from_the_registry_in_a_fixed_order(session):
    assert generated_media(session, "innovation_projects.csv", EVERYWHERE) == HEADERS["innovation_projects.csv"].encode()
    import_projects(session, SAMPLE)
    first = generated_media(session, "innovation_projects.csv", EVERYWHERE)
    kus = {r["name"]: r for r in rows(session, "innovation_projects.csv")}["KUS-2017-06"]
    assert kus == {
        "name": "KUS-2017-06",
        "label": "Citizen charters of every district office on their web portals · "
                 "জেলা পর্যায়ের প্রত্যেক দপ্তরের সিটিজেন চার্টার ওয়েব পোর্টালে সংযোজন",
        "label_en": "Citizen charters of every district office on their web portals",
        "label_bn": "জেলা পর্যায়ের প্রত্যেক দপ্তরের সিটিজেন চার্টার ওয়েব পোর্টালে সংযোজন",
        "label_ne": "Citizen charters of every district office on their web portals",
        "division": "40", "district": "4050", "upazila": "",
    }
    # The same registry imported in the opposite order gives the same bytes.
    session.execute(delete(InnovationProject))
    session.commit()
    header, *lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    import_projects(session, (header + "".join(reversed(lines))).encode())
    assert generated_media(session, "innovation_projects.csv", EVERYWHERE) == first
    # A changed title changes the file.
    import_projects(session, (header + lines[0].replace("Rural electricity", "Rural power")).encode())
    assert generated_media(session, "innovation_projects.csv", EVERYWHERE) != first


def test_action_plans_label_participant_place_and_date(session, blobs):
    builders.publish(session, "hl_action_plan")
    builders.submit(session, builders.submission("hl_action_plan", {
        "country": "bd", "division": "10", "district": "1004", "upazila": "100409",
        "union": "10040913", "participant_name": "Rahima Begum", "position": "Chairman",
        "date_prepared": "2026-01-15",
        "plans": [{"topic": "ict", "practice": f"Practice\n{n}"} for n in range(1, 7)]},
        instance_id="uuid:plan-bd"), blobs=blobs)
    builders.submit(session, builders.submission("hl_action_plan", {
        "country": "np", "province": "3", "district": "306", "local_level": "30601",
        "participant_name": "Sita Sharma", "date_prepared": "2026-02-01"},
        instance_id="uuid:plan-np"), blobs=blobs)
    assert rows(session, "action_plans.csv") == [
        {"name": "plan-bd", "label": "Rahima Begum — Amtali · আমতলী — 2026-01-15",
         "label_en": "Rahima Begum — Amtali — 2026-01-15",
         "label_bn": "Rahima Begum — আমতলী — 2026-01-15",
         "label_ne": "Rahima Begum — Amtali — 2026-01-15",
         "district": "1004", "upazila": "100409", "union": "10040913", "local_level": "",
         # What Form 2 fills in: at most five practices, each on one line.
         "participant_name": "Rahima Begum", "position": "Chairman", "plan_date": "2026-01-15",
         "practice_count": "5", **{f"practice_{n}": f"Practice {n}" for n in range(1, 6)}},
        {"name": "plan-np",
         "label": "Sita Sharma — Shankharapur Municipality · शंखरापुर नगरपालिका — 2026-02-01",
         "label_en": "Sita Sharma — Shankharapur Municipality — 2026-02-01",
         "label_bn": "Sita Sharma — Shankharapur Municipality — 2026-02-01",
         "label_ne": "Sita Sharma — शंखरापुर नगरपालिका — 2026-02-01",
         "district": "306", "upazila": "", "union": "", "local_level": "30601",
         "participant_name": "Sita Sharma", "position": "", "plan_date": "2026-02-01",
         "practice_count": "", **{f"practice_{n}": "" for n in range(1, 6)}},
    ]
