"""Dates and times read in the reader's language and digits: Bengali with Bengali digits and
CLDR's Bengali words for the part of the day (no Latin "PM"), Nepali with Devanagari digits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import session

ARRIVED = datetime(2026, 12, 2, 9, 4, 5, tzinfo=UTC)  # 15:04 in Dhaka, 14:49 in Kathmandu
LATIN_DIGIT = re.compile(r"[0-9]")


def _in(app, lang: str, format_it):
    with app.test_request_context("/"):
        session["lang"] = lang
        return format_it()


@pytest.mark.parametrize(("lang", "written"), [
    ("en", "Dec 2, 2026, 3:04:05\u202fPM"),
    ("bn", "২ ডিসে, ২০২৬ ৩:০৪ দুপুর"),
    ("ne", "२०२६ डिसेम्बर २, १५:०४"),
])
def test_a_moment_is_written_in_the_readers_words_and_digits(app, lang, written):
    from sync_server.web.i18n import when

    shown = _in(app, lang, lambda: when(ARRIVED, "bd"))
    assert shown == written
    if lang != "en":
        assert not LATIN_DIGIT.search(shown) and "AM" not in shown and "PM" not in shown


def test_bengali_mornings_and_evenings_have_their_own_words(app):
    from sync_server.web.i18n import when

    morning = _in(app, "bn", lambda: when(datetime(2026, 12, 2, 2, 30, tzinfo=UTC), "bd"))
    night = _in(app, "bn", lambda: when(datetime(2026, 12, 2, 16, 30, tzinfo=UTC), "bd"))
    assert morning == "২ ডিসে, ২০২৬ ৮:৩০ সকাল" and night == "২ ডিসে, ২০২৬ ১০:৩০ রাত্রি"


def test_days_and_nepal_dates_use_the_readers_digits(app):
    from sync_server.web.i18n import day, when

    assert _in(app, "bn", lambda: day(date(2026, 11, 10))) == "১০ নভে, ২০২৬"
    assert _in(app, "en", lambda: day(date(2026, 11, 10))) == "Nov 10, 2026"
    assert _in(app, "ne", lambda: when(ARRIVED, "np")) == "२०८३/०८/१६ १४:४९"
    assert _in(app, "bn", lambda: when(ARRIVED, "np")).endswith("২:৪৯ দুপুর")


def test_counts_in_bengali_tables_keep_their_digits(app):
    from sync_server.web.i18n import count

    assert _in(app, "bn", lambda: count(1234)) == "1,234"
    assert _in(app, "ne", lambda: count(1234)) == "१,२३४"
