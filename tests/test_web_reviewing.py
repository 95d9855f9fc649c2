"""A day of reviewing: "save and next" through the list a submission was opened from, what an
edit changed (field by field), and what needs the reader's attention on the dashboard."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from tests import builders
from tests.builders import KURIGRAM, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"


def links(page: str) -> list[str]:
    return [htmllib.unescape(h) for h in re.findall(r'href="(/submissions/\d+\?list=[^"]*)"', page)]


def save(client, url: str, state: str, then: str = "next"):
    page = client.get(url).get_data(as_text=True)
    listed = re.search(r'name="list" value="([^"]*)"', page)
    assert listed, "the review form keeps the list"
    return client.post(url.split("?")[0] + "/review",
                       data={"state": state, "comment": "ok", "then": then,
                             "list": htmllib.unescape(listed.group(1)),
                             "csrf_token": builders.csrf(page)})


def test_save_and_next_walks_the_filtered_list_and_stops_at_its_end(client, world, db, blobs):
    for progress in (55, 65):
        builders.add_inspection(db, blobs, RANGPUR, progress)
    db.commit()
    builders.login(client, "sup_rangpur")
    listed = client.get(f"{LIST}?review_state=received&sort=progress").get_data(as_text=True)
    order = [int(re.search(r"/submissions/(\d+)", u).group(1)) for u in links(listed)]
    assert len(order) == 4  # Rangpur's four, smallest progress first; Kurigram's never
    url, seen = links(listed)[0], []
    for _ in range(6):
        seen.append(int(re.search(r"/submissions/(\d+)", url).group(1)))
        response = save(client, url, "approved")
        assert response.status_code == 302
        url = response.headers["Location"]
        if "/submissions/" not in url:
            break
    assert seen == order
    assert url.startswith(LIST) and "review_state=received" in url
    assert "That was the last submission of the list." in client.get(url).get_data(as_text=True)
    # Without "next", the review stays on the submission.
    back = save(client, links(client.get(LIST).get_data(as_text=True))[0], "has_issues", "")
    assert re.match(r"/submissions/\d+\?list=", back.headers["Location"])


def test_an_edit_shows_what_it_changed_field_by_field(client, world, db, blobs):
    first = world.first(RANGPUR)
    edited = builders.edit_inspection(db, blobs, first, progress=75)
    db.commit()
    builders.login(client, "sup_rangpur")
    page = client.get(f"/submissions/{edited}").get_data(as_text=True)
    section = page[page.index('id="changes"'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r'<tr><td[^>]*>([^<]*)</td><td[^>]*class="before">([^<]*)</td>'
                      r'<td[^>]*class="after">([^<]*)</td></tr>', section)
    assert rows == [("Progress (%)", "20", "75")]
    # A submission never edited has no comparison.
    other = world.submissions[RANGPUR][1]
    assert 'id="changes"' not in client.get(f"/submissions/{other}").get_data(as_text=True)


def test_the_dashboard_counts_what_needs_the_readers_attention(client, world):
    builders.login(client, "sup_rangpur")
    page = client.get("/dashboard").get_data(as_text=True)
    box = page[page.index('id="attention"'):page.index("</section>", page.index('id="attention"'))]
    assert "(2)" in box  # Rangpur's two inspections to review; Kurigram's not counted
    assert f'href="{LIST}?review_state=received"' in box
    target = world.first(RANGPUR)
    token = builders.csrf(page)
    client.post(f"/submissions/{target}/review",
                data={"state": "has_issues", "comment": "Photo missing", "csrf_token": token})
    page = client.get("/dashboard").get_data(as_text=True)
    assert "(1)" in page[page.index('id="attention"'):]
    # The district officer's attention: what came back with issues, in their district only.
    officer = client.application.test_client()
    builders.login(officer, "do_rangpur")
    page = officer.get("/dashboard").get_data(as_text=True)
    box = page[page.index('id="attention"'):page.index("</section>", page.index('id="attention"'))]
    assert "(1)" in box and "review_state=has_issues" in box
    other = client.application.test_client()
    builders.login(other, "do_kurigram")
    page = other.get("/dashboard").get_data(as_text=True)
    assert "(0)" in page[page.index('id="attention"'):]
    assert KURIGRAM
