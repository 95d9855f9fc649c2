"""The OData door keeps the web pages' rules: each user reads exactly the rows of their area,
on both addresses, in every entity set, through navigation links, counts and filters."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from pipeline.models import Submission
from tests import builders
from tests.builders import KURIGRAM, PASSWORD, RANGPUR, VISIBLE

pytestmark = pytest.mark.usefixtures("fast_hashing")
FORM = "innovation_inspection"
DOORS = ("/odata", "/v1/projects/1/forms")


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def instance_ids(db, world, district: str) -> set[str]:
    return {db.get(Submission, i).instance_id for i in world.submissions[district]}


@pytest.mark.parametrize("door", DOORS)
def test_each_user_reads_exactly_their_own_districts(app, db, world, door):
    client = app.test_client()
    svc = f"{door}/{FORM}.svc"
    by_district = {d: instance_ids(db, world, d) for d in (RANGPUR, KURIGRAM)}
    for username, visible in VISIBLE.items():
        own = set().union(*(by_district[d] for d in visible)) if visible else set()
        body = client.get(f"{svc}/Submissions?$count=true", headers=basic(username),
                          buffered=True).get_json()
        assert {r["__id"] for r in body["value"]} == own, username
        assert body["@odata.count"] == len(own), username
        assert {r["district"] for r in body["value"]} == visible, username
        photos = client.get(f"{svc}/Submissions.photos", headers=basic(username),
                            buffered=True).get_json()["value"]
        assert {p["__Submissions-id"] for p in photos} == own, username
        expanded = client.get(f"{svc}/Submissions?$expand=*", headers=basic(username),
                              buffered=True).get_json()["value"]
        assert {r["__id"] for r in expanded} == own, username
        # A filter only narrows: it can never reach past the user's area.
        wide = client.get(f"{svc}/Submissions", headers=basic(username), buffered=True,
                          query_string={"$filter": f"district eq '{KURIGRAM}' or true"}).get_json()
        assert {r["__id"] for r in wide["value"]} <= own, username
        for district in (RANGPUR, KURIGRAM):
            for iid in by_district[district]:
                one = client.get(f"{svc}/Submissions('{quote(iid)}')", headers=basic(username),
                                 buffered=True)
                link = client.get(f"{svc}/Submissions('{quote(iid)}')/photos",
                                  headers=basic(username), buffered=True)
                if district in visible:
                    assert [r["__id"] for r in one.get_json()["value"]] == [iid], username
                    assert link.status_code == 200 and len(link.get_json()["value"]) >= 1
                else:  # another district's submission reads as one that does not exist
                    assert one.get_json()["value"] == [], username
                    assert link.status_code == 404, username


def test_own_district_and_other_district_side_by_side(app, db, world):
    """The Kurigram officer against the Rangpur officer, row for row."""
    client = app.test_client()
    svc = f"/odata/{FORM}.svc/Submissions"
    kurigram = client.get(svc, headers=basic("do_kurigram"), buffered=True).get_json()["value"]
    rangpur = client.get(svc, headers=basic("do_rangpur"), buffered=True).get_json()["value"]
    assert {r["__id"] for r in kurigram} == instance_ids(db, world, KURIGRAM)
    assert {r["__id"] for r in rangpur} == instance_ids(db, world, RANGPUR)
    assert not {r["__id"] for r in kurigram} & {r["__id"] for r in rangpur}


def test_a_logged_in_browser_reads_the_feed_with_its_session(app, world):
    client = builders.login(app.test_client(), "do_kurigram")
    body = client.get(f"/odata/{FORM}.svc/Submissions", buffered=True).get_json()
    assert {r["district"] for r in body["value"]} == {KURIGRAM}


def test_wrong_passwords_and_disabled_users_get_nothing(app, db, world):
    from pipeline.models import User

    client = app.test_client()
    svc = f"/odata/{FORM}.svc/Submissions"
    assert client.get(svc, headers=basic("do_rangpur", "wrong")).status_code == 401
    assert client.get(svc).status_code == 401
    assert client.get(svc, headers=basic("do_rangpur"), buffered=True).status_code == 200
    user = db.query(User).filter_by(username="do_rangpur").one()
    user.active = False
    db.commit()
    assert client.get(svc, headers=basic("do_rangpur")).status_code == 401


def test_wrong_passwords_at_the_feed_are_limited_like_every_basic_login(app, world):
    app.config["LOGIN_FAILURES_PER_USER"] = "3 per minute"
    client = app.test_client()
    svc = f"/odata/{FORM}.svc/Submissions"
    answers = [client.get(svc, headers=basic("do_rangpur", "wrong")).status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    refused = client.get(svc, headers=basic("do_rangpur"))  # even the right password waits now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # The same count as Collect's Basic login: the user name is blocked there too.
    assert client.get("/formList", headers=basic("do_rangpur")).status_code == 429
