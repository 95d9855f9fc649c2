"""The Ballots page: each workshop's ranking with ties and the ballots set aside with the
reason, limited to the reader's area (another district's workshop is neither listed nor
opened)."""

from __future__ import annotations

import re

import pytest

from tests import builders
from tests.builders import KURIGRAM, RANGPUR, VISIBLE

pytestmark = pytest.mark.usefixtures("fast_hashing")


def rows(html: str, table: str) -> list[list[str]]:
    """The cells' text of each body row of ``table.<table>`` (tags stripped)."""
    body = html.split(f'class="data {table}"', 1)[1].split("</table>", 1)[0]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in
             re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)]


def test_ranking_with_ties_and_every_ballot_set_aside_with_its_reason(app, workshops):
    client = builders.login(app.test_client(), "do_rangpur")
    page = client.get(f"/ballots/{builders.UPAZILA[RANGPUR]}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    ranking = rows(html, "ranking")
    # Land desk 2 votes (rank 1); SMS reminders and budget wall 1 each: tied at rank 2.
    assert [(r[0], r[1], r[3]) for r in ranking] == [
        ("1", "Rangpur land desk top five", "2"),
        ("2 tie", "Rangpur SMS reminders top five", "1"),
        ("2 tie", "Rangpur budget wall top five", "1")]
    aside = {r[0]: (r[1], r[2]) for r in rows(html, "setaside")}
    assert aside == {
        "amina khatun.": ("UP chairman",
                          "A second ballot from the same voter: only the first one counts."),
        "Chanda Rani": ("UP secretary", "Not eligible: this role does not vote."),
        "Dulal Hossain": ("Pourashava mayor", "More than 5 practices picked."),
    }
    assert "2 ballots · 3 set aside" in html
    # In Bengali: the same table in Bengali words (tables keep Latin digits).
    client.post("/language", data={"lang": "bn", "csrf_token": builders.csrf(html)})
    bengali = client.get(f"/ballots/{builders.UPAZILA[RANGPUR]}").get_data(as_text=True)
    assert "বাদ দেওয়া ব্যালট" in bengali
    assert [r[0] for r in rows(bengali, "ranking")] == ["1", "2 সমান", "2 সমান"]
    assert "অযোগ্য: এই পদের ভোটাধিকার নেই।" in bengali


def test_every_role_sees_the_workshops_of_its_own_area_only(app, workshops):
    for username, visible in VISIBLE.items():
        client = builders.login(app.test_client(), username)
        listing = client.get("/ballots").get_data(as_text=True)
        shown = set(re.findall(r'data-upazila="(\d+)"', listing))
        assert shown == {builders.UPAZILA[d] for d in visible}, username
        assert ("Rangpur land desk" in listing) == (RANGPUR in visible), username
        assert ("Kurigram boat school" in listing) == (KURIGRAM in visible), username
        assert ("Chanda Rani" in listing) == (RANGPUR in visible), username
        for district in (RANGPUR, KURIGRAM):
            opened = client.get(f"/ballots/{builders.UPAZILA[district]}")
            assert opened.status_code == (200 if district in visible else 404), (username, district)
    assert app.test_client().get("/ballots").status_code == 302  # to the login page
    client = builders.login(app.test_client(), "admin")
    assert client.get("/ballots/99999999999999999999").status_code == 404
    assert client.get("/ballots?period=2025-Q1").status_code == 200
    assert "data-upazila" not in client.get("/ballots?period=2025-Q1").get_data(as_text=True)
    warned = client.get("/ballots?period=nonsense").get_data(as_text=True)
    assert "is not a period" in warned and 'data-upazila="' in warned
