"""Free-text search of the lists: the search index (pipeline/search.py) finds answers, names,
places in three scripts and project names, stays in the reader's areas, follows edits and
rebuilds, and is looked up through its index on both databases."""

from __future__ import annotations

import re

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
    # The migration's build of the index from the warehouse's rows finds the same text.
    bodies = dict(db.execute(select(search.search_text.c.rowid, search.search_text.c.body)).all())
    search.reindex(db.connection())
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
    # Bengali is indexed as words too (encoded into ASCII, which every locale's pg_trgm reads).
    assert search.encode("বদ") == "u09acu09a6" and search.encode("AbC") == "abc"
    db.rollback()
