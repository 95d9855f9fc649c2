# ruff: noqa: F811 (pytest fixtures imported from tests.webdata are redefined as arguments)
"""Nepal in the web pages: the Nepali interface (texts, digits)."""

from __future__ import annotations

import re

import pytest

from tests import webdata
from tests.webdata import blobs, db, fast_hashing, world  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"


def in_nepali(client) -> None:
    token = webdata.csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"lang": "ne", "csrf_token": token})


def test_the_pages_speak_nepali_with_devanagari_digits_in_sentences(client, world):
    webdata.login(client, "sup_rangpur")
    english = client.get(LIST).get_data(as_text=True)
    assert "2 submissions match" in english
    # The switch offers all three languages on every page.
    assert re.findall(r'name="lang" value="(\w+)"', english) == ["en", "bn", "ne"]
    in_nepali(client)
    page = client.get(LIST).get_data(as_text=True)
    assert '<html lang="ne">' in page
    assert "ड्यासबोर्ड" in page and "परियोजनाहरू" in page
    # A count in a sentence is in Devanagari digits; the table's dates too.
    assert "२ फारामहरू मेल खान्छन्" in page
    dates = re.findall(r'<td class="nowrap">([^<]*)</td>', page)
    assert dates and all(re.search("[०-९]", d) and not re.search("[0-9]", d) for d in dates)
    # Errors read in Nepali as well.
    missing = client.get("/submissions/999999")
    assert missing.status_code == 404 and "भेटिएन" in missing.get_data(as_text=True)
