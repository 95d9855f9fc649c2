"""Free-text search of the lists: the search index (pipeline/search.py) finds answers, names,
places in three scripts and project names, stays in the reader's areas, follows edits and
rebuilds, and is looked up through its index on both databases."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from pipeline import rebuild, search
from tests import builders
from tests.builders import KURIGRAM, RANGPUR

LIST = "/forms/innovation_inspection/submissions"


def found(client, q: str) -> list[int]:
    html = client.get(LIST, query_string={"q": q}).get_data(as_text=True)
    return sorted(int(i) for i in re.findall(r'href="/submissions/(\d+)[?"]', html))


def test_search_finds_answers_names_places_and_projects_in_every_script(client, world, db, blobs):
    ananya = builders.add_inspection(db, blobs, KURIGRAM, 70, inspector="Ananya Roy Chowdhury")
    builders.login(client, "sup_division")
    rangpur, kurigram = world.submissions[RANGPUR], world.submissions[KURIGRAM] + [ananya]
    assert found(client, "Ananya") == [ananya]  # an enumerator's name
    assert found(client, "roy chow") == [ananya]  # every word, parts of words, any case
    assert found(client, "Ananya Farhana") == []  # every word must be there
    assert found(client, "Badarganj") == rangpur  # an upazila's English name
    assert found(client, "বদরগঞ্জ") == rangpur  # and its Bengali name
    assert found(client, "রগঞ্") == rangpur  # part of a Bengali word
    assert found(client, "Kurigram") == kurigram
    assert found(client, "land records") == rangpur  # the registry project's name
    assert found(client, "চরের স্কুলে") == kurigram  # in Bengali
    assert found(client, builders.PROJECT[KURIGRAM].lower()) == kurigram  # its code
    assert found(client, "zz-no-such-words") == []
    assert found(client, "%_") == sorted(rangpur + kurigram)  # wildcards alone: no search


def test_search_never_returns_a_row_outside_the_readers_areas(client, world, db, blobs):
    builders.add_inspection(db, blobs, KURIGRAM, 70, inspector="Shared Name")
    own = builders.add_inspection(db, blobs, RANGPUR, 70, inspector="Shared Name")
    builders.login(client, "do_rangpur")
    assert found(client, "Shared Name") == [own]
    assert found(client, "Kurigram") == []
    for q in ("a", "an", "Farhana", "phone", "uuid", "2026"):
        assert set(found(client, q)) <= set(world.submissions[RANGPUR] + [own]), q


def test_the_index_follows_edits_and_rebuilds(client, world, db, blobs):
    first = world.submissions[RANGPUR][0]
    edited = builders.edit_inspection(db, blobs, first, 95)
    builders.login(client, "sup_rangpur")
    assert found(client, "Farhana") == sorted([edited, world.submissions[RANGPUR][1]])
    db.rollback()
    indexed = lambda: db.scalars(select(search.search_text.c.rowid)  # noqa: E731
                                 .order_by(search.search_text.c.rowid)).all()
    before = indexed()
    assert first not in before and edited in before
    rebuild.rebuild(db, "innovation_inspection")
    db.commit()
    assert indexed() == before
    # The migrations' build of the index from the warehouse's rows finds the same text, a batch
    # of rows at a time (one here, so that every row is read in a batch of its own).
    bodies = dict(db.execute(select(search.search_text.c.rowid, search.search_text.c.body)).all())
    assert search.reindex(db.connection(), batch=1) == len(bodies)
    assert dict(db.execute(select(search.search_text.c.rowid, search.search_text.c.body)).all()) \
        == bodies
    db.rollback()


def test_a_search_is_answered_from_the_index_not_by_reading_every_row(world, db):
    conn = db.connection()
    stmt = search.matching("wh_innovation_inspection", "Badarganj")
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a table of 4 rows is scanned
        plan = " ".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
        assert "ix_search_text_body" in plan, plan
    else:
        plan = " ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "VIRTUAL TABLE INDEX" in plan and ":L" in plan, plan  # FTS5's LIKE lookup
    db.rollback()


def test_bengali_and_nepali_letters_are_encoded_as_two_letters_each_their_trigrams_tell_apart():
    # Every Bengali word was "u09.."; now its trigrams differ from letter to letter.
    assert search.encode("বদ") == "o8o2" and search.encode("AbC") == "abc"
    assert search.encode("नेपाल é 😀") == "iwj7iyjyi6 u00e9 v01f600"
    assert len({search.encode(chr(c)) for c in search.INDIC}) == 256
    # Why a word is only found where a character starts: a character's first ASCII character
    # says how long it is, and never comes anywhere else in one.
    others = [chr(c) for c in (*range(0x80, 0x900, 7), *range(0xA00, 0x10000, 97),
                               *range(0x10000, 0x110000, 4099))]
    encoded = [search.encode(ch) for ch in (*map(chr, search.INDIC), *others)
               if len(ch.casefold()) == 1]  # some fold to several ("ΐ"), each encoded alone
    lengths = {e[0]: len(e) for e in encoded}
    assert all(lengths[e[0]] == len(e) and not set(e[1:]) & set(lengths) for e in encoded)
    # Two Bengali or Nepali letters are enough for the index; one letter of another script too.
    assert len(search.encode("বদ")) >= search.MIN_INDEXED > len(search.encode("ব"))
    assert len(search.encode("é")) >= search.MIN_INDEXED


def _no_ascii_when_folded(ch: str) -> bool:
    """Letters whose case folding gives ASCII letters or digits (the Kelvin sign, "ß", "ﬁ") read
    as the ASCII they fold to, and ASCII text can hold what an encoding writes."""
    return not any(c.isascii() and c.isalnum() for c in ch.casefold())


SCRIPTS = st.one_of(
    st.characters(min_codepoint=0x0980, max_codepoint=0x09FF),  # Bengali
    st.characters(min_codepoint=0x0900, max_codepoint=0x097F),  # Devanagari
    st.characters(min_codepoint=0x80, categories=("Lu", "Ll", "Lt", "Lo", "Mn"))
    .filter(_no_ascii_when_folded),  # other letters, in and past the BMP
    st.sampled_from(" \n.,;:-/()!?'\"#%_"))


@settings(max_examples=400)
@given(st.data())
def test_an_encoded_word_is_found_in_an_encoded_text_exactly_when_the_word_is_in_the_text(data):
    text = data.draw(st.text(SCRIPTS, max_size=40))
    if text and data.draw(st.booleans()):  # a part of the text, so that many words are in it
        start = data.draw(st.integers(0, len(text) - 1))
        word = text[start:data.draw(st.integers(start + 1, len(text)))]
    else:
        word = data.draw(st.text(SCRIPTS, min_size=1, max_size=4))
    assert (search.encode(word) in search.encode(text)) == (word.casefold() in text.casefold())
