"""The Map and the photo gallery: every door (the map page, its points, the gallery, its
thumbnails) shows exactly the submissions of the reader's area; points are coloured by review
state; the map page alone lets images come from the tile server, which is a setting."""

from __future__ import annotations

import re

import pytest

from pipeline import review
from sync_server.web import maps
from sync_server.web.auth import CONTENT_SECURITY_POLICY, map_policy
from tests import builders
from tests.builders import KURIGRAM, RANGPUR, VISIBLE

pytestmark = pytest.mark.usefixtures("fast_hashing")


def point_ids(client, query: str = "") -> set[int]:
    response = client.get(f"/map/points.json?form=innovation_inspection{query}")
    assert response.status_code == 200
    return {p["id"] for p in response.get_json()["points"]}


def photo_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'src="/attachments/(\d+)/[^"?]+\?size=thumb"', html)}


def test_every_door_shows_the_readers_own_area_only(app, world):
    for username, visible in VISIBLE.items():
        client = builders.login(app.test_client(), username)
        own = {i for d in visible for i in world.submissions[d]}
        assert point_ids(client) == own, username
        page = client.get("/map")
        assert page.status_code == 200, username
        gallery = client.get("/photos?form=innovation_inspection").get_data(as_text=True)
        assert photo_ids(gallery) == own, username
        for district in (RANGPUR, KURIGRAM):
            # Asking for the other district by filter shows nothing either.
            asked = {i for i in world.submissions[district] if district in visible}
            assert point_ids(client, f"&district={district}") == asked, (username, district)
            filtered = client.get(f"/photos?form=innovation_inspection&district={district}")
            assert photo_ids(filtered.get_data(as_text=True)) == asked, (username, district)
            other = world.first(district)
            thumb = client.get(f"/attachments/{other}/desk.jpg?size=thumb")
            assert thumb.status_code == (200 if district in visible else 404), (username, district)
    assert builders.login(app.test_client(), "do_rangpur")  # and nobody logged out gets in:
    anonymous = app.test_client()
    assert anonymous.get("/map").status_code == 302
    assert anonymous.get("/photos").status_code == 302
    assert anonymous.get("/map/points.json", headers={"Accept": "application/json"}).status_code in (302, 401)


def test_points_carry_their_review_state_and_the_filters_apply(app, world, db):
    target = world.first(RANGPUR)
    review.set_review(db, [target], "approved", None, "sup_rangpur")
    db.commit()
    client = builders.login(app.test_client(), "sup_division")
    points = client.get("/map/points.json?form=innovation_inspection").get_json()
    states = {p["id"]: p["state"] for p in points["points"]}
    assert states[target] == "approved"
    assert {s for i, s in states.items() if i != target} == {"received"}
    mine = next(p for p in points["points"] if p["id"] == target)
    assert mine["url"] == f"/submissions/{target}" and mine["state_name"] == "Approved"
    assert -90 <= mine["lat"] <= 90 and -180 <= mine["lon"] <= 180
    assert point_ids(client, "&review_state=approved") == {target}
    assert point_ids(client, "&period=2025") == set()  # visits were in November 2026
    assert len(point_ids(client, "&period=2026-11")) == 4
    assert client.get("/map/points.json?period=nonsense").status_code == 400
    assert client.get("/photos?period=nonsense").status_code == 400


def test_the_gallery_pages_through_older_submissions(app, world, monkeypatch):
    monkeypatch.setattr(maps, "GALLERY_SUBMISSIONS", 1)
    client = builders.login(app.test_client(), "do_rangpur")
    newest, oldest = sorted(world.submissions[RANGPUR], reverse=True)
    first = client.get("/photos").get_data(as_text=True)
    assert photo_ids(first) == {newest}
    # Every photo of the submission (signature included), each a thumbnail linking to the full one.
    assert len(re.findall(rf'src="/attachments/{newest}/', first)) == 3
    older = re.search(r'href="(/photos\?[^"]*before=\d+[^"]*)"', first).group(1)
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert photo_ids(second) == {oldest}
    assert "Older photos" in first and "Older photos" not in second


def test_only_the_map_page_lets_images_come_from_the_tile_server(app, world):
    client = builders.login(app.test_client(), "admin")
    page = client.get("/map")
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert policy == map_policy(app.config["MAP_TILE_URL"])
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page.get_data(as_text=True)
    for path in ("/photos", "/dashboard", "/map/points.json"):
        assert client.get(path).headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    html = page.get_data(as_text=True)
    assert " style=" not in html and "<style" not in html and "<script>" not in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.org:8443/osm/{z}/{x}/{y}.png"
    assert "img-src 'self' data: https://*.tiles.example.org:8443;" in \
        client.get("/map").headers["Content-Security-Policy"]


def test_map_policy_adds_only_a_real_host():
    assert map_policy("http://10.0.0.5/tiles/{z}/{x}/{y}.png") == CONTENT_SECURITY_POLICY.replace(
        "img-src 'self';", "img-src 'self' data: http://10.0.0.5;")
    for nonsense in ("", "/tiles/{z}/{x}/{y}.png", "javascript:alert(1)", "ftp://x/{z}"):
        assert map_policy(nonsense) == CONTENT_SECURITY_POLICY, nonsense
