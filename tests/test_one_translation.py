"""One English word, one translation: a text the pages' catalogue translates reads the same as
the forms' own label for it (a stage, a recommendation), and the workbook's word for a review
state, in Bengali and in Nepali, so a supervisor never sees "পাইলট চলমান" on a phone and
"পাইলট চলছে" on the list."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from babel.messages.pofile import read_po

from sync_server.web.i18n import TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = {"bn": "label::Bengali", "ne": "label::Nepali"}


def form_labels(lang: str) -> dict[str, set[str]]:
    """English label → the forms' labels in ``lang`` for it (survey questions and choices)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "xlsforms").glob("*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in ("survey", "choices"):
            rows = list(book[sheet].iter_rows(values_only=True))
            head = [str(h or "") for h in rows[0]]
            en = next((i for i, h in enumerate(head) if h.startswith("label::English")), None)
            local = next((i for i, h in enumerate(head) if h.startswith(COLUMNS[lang])), None)
            if en is None or local is None:
                continue
            for row in rows[1:]:
                if row[en] and row[local]:
                    found.setdefault(str(row[en]).strip(), set()).add(str(row[local]).strip())
    return found


@pytest.mark.parametrize("lang", sorted(COLUMNS))
def test_the_pages_and_the_forms_translate_a_word_one_way(lang):
    labels = form_labels(lang)
    assert labels.get("Pilot running")  # the forms were read
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    clashes = [f"{m.id!r}: pages {m.string!r}, forms {sorted(labels[m.id])}"
               for m in catalogue
               if isinstance(m.id, str) and m.id in labels and m.string
               and labels[m.id] != {m.string}]
    assert not clashes, "\n".join(clashes)


@pytest.mark.parametrize("lang", sorted(COLUMNS))
def test_the_pages_and_the_workbook_name_review_states_alike(lang):
    """A submission the list shows as rejected is rejected in the workbook too, in the same word
    (the pages read Babel's catalogue, the workbook ``exports/words.csv``)."""
    from exports import words
    from pipeline.models import REVIEW_STATES

    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        pages = {m.id: m.string for m in read_po(fh) if isinstance(m.id, str)}
    clashes = []
    for state in REVIEW_STATES:
        english = words.word(f"state.{state}", "en")
        assert english in pages, english  # the pages name the state in the same English
        if pages[english] != words.word(f"state.{state}", lang):
            clashes.append(f"{state}: pages {pages[english]!r}, "
                           f"workbook {words.word(f'state.{state}', lang)!r}")
    assert not clashes, "\n".join(clashes)
