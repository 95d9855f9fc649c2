"""The web pages' catalogues: every message of the pages and their Python code has a translation
in Bengali and in Nepali (English is the messages' own language), with the same placeholders.

Messages are extracted from the sources exactly as ``pybabel extract`` does
(``sync_server/translations/babel.cfg``), so a new ``_("...")`` without its translations fails
here, naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from sync_server.web.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("sync_server/**.py", "python"), ("sync_server/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def source_messages() -> dict[str | tuple[str, ...], str]:
    """Every message the pages use → where it is (file:line)."""
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[str | tuple[str, ...], str] = {}
    for path, line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=keywords,
            directory_filter=lambda d: ".venv" not in d and "node_modules" not in d):
        found.setdefault(message, f"{path}:{line}")
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str | tuple[str, ...], str]:
    found = source_messages()
    assert len(found) > 200  # the extraction really read the pages
    return found


def test_every_language_but_english_has_a_catalogue():
    catalogues = {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert catalogues == set(LANGUAGES) - {"en"}
    assert set(LANGUAGES) == {"en", "bn", "ne"}


def problems_in(catalogue, messages) -> dict[str, list[str]]:
    """Messages of the pages this catalogue lacks a text for, marks fuzzy, or whose text uses a
    placeholder the message does not have."""
    out: dict[str, list[str]] = {"untranslated": [], "fuzzy": [], "placeholders": []}
    for message, where in messages.items():
        key = message if isinstance(message, str) else message[0]
        entry = catalogue.get(key)
        strings = [] if entry is None else (
            [entry.string] if isinstance(entry.string, str) else list(entry.string))
        if not strings or not all(s.strip() for s in strings):
            out["untranslated"].append(f"{where}: {key!r}")
            continue
        if entry.fuzzy:
            out["fuzzy"].append(f"{where}: {key!r}")
        ids = [message] if isinstance(message, str) else list(message)
        wanted = {p for i in ids for p in PLACEHOLDER.findall(i)}
        if any(set(PLACEHOLDER.findall(s)) - wanted for s in strings):
            out["placeholders"].append(f"{where}: {key!r}")
    return out


def read_catalogue(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.mark.parametrize("lang", sorted(set(LANGUAGES) - {"en"}))
def test_every_message_is_translated(lang, messages):
    found = problems_in(read_catalogue(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"),
                        messages)
    for kind, where in found.items():
        assert not where, f"{kind} in {lang}:\n" + "\n".join(where)


def test_the_check_sees_an_untranslated_message(tmp_path, messages):
    """The check itself: a catalogue missing one message's text is caught, naming it."""
    text = (TRANSLATIONS / "ne" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    broken = text.replace('msgstr "ड्यासबोर्ड"', 'msgstr ""')
    assert broken != text
    (tmp_path / "messages.po").write_text(broken, encoding="utf-8")
    found = problems_in(read_catalogue(tmp_path / "messages.po"), messages)
    assert [w.split(": ", 1)[1] for w in found["untranslated"]] == ["'Dashboard'"]
