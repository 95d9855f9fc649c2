"""Every word the workbook and the workshop report write themselves, in English, Bengali and
Nepali: headers, labels of fields the forms calculate, value words (yes/no, categories, review
states), sheet and table titles. One table, ``words.csv`` (a spreadsheet opens it), so a translator
reads and fixes them in one place.

Question labels and choice labels come from the forms; place names from ``pipeline.domain.places``;
this module holds only what no form or list says. ``word(key, lang)`` gives one word (English
where a language has none), ``group(prefix, lang)`` every word under ``prefix.`` as
code → word (for ``SheetColumn.codes``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.domain.projects import CATEGORIES

LANGUAGES = ("en", "bn", "ne")  # the columns of words.csv after the key

W = dict[str, str]

WORDS_FILE = Path(__file__).with_name("words.csv")


def _read() -> dict[str, W]:
    """One row a word: its key, then English, Bengali and Nepali (an empty cell: English)."""
    found: dict[str, W] = {}
    with WORDS_FILE.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = row.pop("key")
            assert key not in found, f"{WORDS_FILE.name}: {key} twice"
            found[key] = row
    return found


WORDS = _read()

for _code in CATEGORIES:  # every registry category has its words
    assert f"category.{_code}" in WORDS, _code


def word(key: str, lang: str, fallback: str | None = None) -> str:
    """The word in ``lang``, else English; ``fallback`` (or the key) for an unknown key."""
    found = WORDS.get(key)
    if not found:
        return key if fallback is None else fallback
    return found.get(lang) or found["en"]


def has(key: str) -> bool:
    return key in WORDS


def group(prefix: str, lang: str) -> dict[str, str]:
    """Code → word for every key ``prefix.code``: ``group("state", "bn")["approved"]``."""
    start = f"{prefix}."
    return {key[len(start):]: value.get(lang) or value["en"]
            for key, value in WORDS.items() if key.startswith(start)}
