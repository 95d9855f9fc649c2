"""The free-text search index of every form's submissions: one row of text per current
submission, so a list's search box looks words up in an index instead of reading every row.

A submission's text (``document``) is its answers' text, its instance name, submitter and key,
the English and Bengali or Nepali names of its places and the names of the registry project it
inspects, case-folded. A search (``matching``) finds the submissions whose text contains every
word typed, anywhere (part of a word too: "rampur" finds Birampur), in any script.

The one database difference of search lives here (``create``):

- SQLite: an FTS5 table with the trigram tokenizer, whose ``LIKE '%…%'`` is answered from the
  index for three characters or more;
- PostgreSQL: a table with a ``pg_trgm`` GIN index, which answers the same ``LIKE``.

Both are asked the same ``LIKE`` on the same text, so both find the same rows. ``pg_trgm`` only
makes trigrams of letters its database's locale calls letters (ASCII alone under the C locale),
so every character outside ASCII is written in ASCII letters and digits (``encode``), and a
search encodes its words the same way:

- a Bengali or Devanagari character (U+0900–U+09FF: Bengali and Nepali) as two: one of
  ``FIRST`` (g–t) then one of ``SECOND`` (w–z, 0–9, a–f), so the trigrams of a Bengali word tell
  its letters apart as an English word's do (until 0020 they were ``u09..``, which every Bengali
  word shares: at a million rows the index named nearly every row, 3.3 s for a Bengali word
  against 192 ms for the same name in English);
- any other as ``u`` and its four hex digits (``v`` and six past U+FFFF).

An encoded word is found only where a character starts: ``FIRST``, ``u`` and ``v`` open a
character and never appear inside one, and what follows each opener has a fixed length, so
``encode(word) in encode(text)`` exactly when ``word.casefold() in text.casefold()`` for text
without ASCII letters or digits (tests/test_search.py checks it with hypothesis). ASCII letters
and digits stand for themselves, so an ASCII word can still meet an encoded one ("mama" is the
encoding of "আআ"): a rare extra row, never a missed one. ``MIN_INDEXED`` counts encoded
characters: two Bengali or Nepali letters are enough for the index.

The index is kept by ``pipeline.warehouse`` (``index`` when a submission's rows are written,
``forget`` when they go), built for existing rows by migration 0014 and re-encoded by 0020
(``reindex``, which reads and writes a batch of rows at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    insert,
    inspect,
    select,
)

from pipeline.domain.places import COLUMN_LEVELS, place
from pipeline.schema import table_name

TABLE = "search_text"
# The index's rows: rowid = the submission's id (SQLite's FTS5 rowid; a column on PostgreSQL).
search_text = Table(TABLE, MetaData(), Column("rowid", BigInteger, primary_key=True),
                    Column("main_table", Text), Column("body", Text))
# Encoded characters a word needs to be looked up in the index (shorter ones scan): three ASCII
# letters, two Bengali or Nepali ones, one of any other script.
MIN_INDEXED = 3


def create(conn: Connection) -> None:
    """Create the index (nothing when it exists)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (rowid bigint PRIMARY KEY, "
                             "main_table text NOT NULL, body text NOT NULL)")
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_body ON {TABLE} "
                             "USING gin (body gin_trgm_ops)")
    else:
        conn.exec_driver_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
                             "main_table UNINDEXED, body, tokenize = 'trigram')")


def drop(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")


def is_index_table(name: str) -> bool:
    """The index's tables (FTS5 keeps its own beside it), which the app's models do not name."""
    return name == TABLE or name.startswith(TABLE + "_")


# Bengali and Devanagari (U+0900–U+09FF) as two letters each: one of FIRST, then one of SECOND.
# The two alphabets, ``u``/``v`` and the hex digits are arranged so that an encoded word is only
# found at a character's start (see the module's docstring).
INDIC = range(0x0900, 0x0A00)
FIRST = "ghijklmnopqrst"  # 14
SECOND = "wxyz0123456789abcdef"  # 20: 14 × 20 = 280 ≥ 256
_INDIC = {code: FIRST[i // len(SECOND)] + SECOND[i % len(SECOND)]
          for i, code in enumerate(INDIC)}


def encode(text: str) -> str:
    """Case-folded text with every character outside ASCII in ASCII letters and digits, so a
    trigram index sees Bengali and Nepali words as words in any locale: a Bengali or Devanagari
    character as two (``_INDIC``), any other as ``u`` + 4 hex digits (``v`` + 6 past U+FFFF)."""
    out = []
    for ch in text.casefold():
        code = ord(ch)
        out.append(ch if code < 128 else _INDIC.get(code) or
                   (f"u{code:04x}" if code <= 0xFFFF else f"v{code:06x}"))
    return "".join(out)


def words(q: str) -> list[str]:
    """The words of a search, each matched anywhere in a submission's text (LIKE's wildcards
    are taken as spaces)."""
    return q.replace("%", " ").replace("_", " ").split()


def document(row: Mapping[str, Any], projects: Mapping[str, tuple[str, ...]] | None = None,
             encoding: Callable[[str], str] = encode) -> str:
    """The searchable text of a warehouse main row (a dict of its columns), encoded (by
    ``encode``; a migration may give the encoding it undoes to)."""
    parts = [str(value) for name, value in sorted(row.items())
             if isinstance(value, str) and value and
             (not name.startswith("_") or name in ("_instance_name", "_submitter", "_key"))]
    for column, levels in COLUMN_LEVELS.items():
        code = row.get(column)
        for level in levels if code else ():
            found = place(level, code)
            if found:
                parts += [found.en, found.local]
    code = row.get("project")
    if code and projects:
        parts += projects.get(str(code), ())
    return encoding(" \n ".join(p for p in parts if p))


def _project_names(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    from pipeline.models import InnovationProject

    codes = {str(r["project"]) for r in rows if r.get("project")}
    if not codes:
        return {}
    found = conn.execute(select(InnovationProject.code, InnovationProject.title_en,
                                InnovationProject.title_bn)
                         .where(InnovationProject.code.in_(sorted(codes)))).all()
    return {code: (en, bn) for code, en, bn in found}


def index(conn: Connection, form_id: str, rows: list[Mapping[str, Any]]) -> None:
    """Index the main rows just written (each with ``_submission_id``) in place of any text
    their submissions had."""
    if not rows:
        return
    forget(conn, [r["_submission_id"] for r in rows])
    _write(conn, form_id, rows)


def _write(conn: Connection, form_id: str, rows: list[Mapping[str, Any]],
           encoding: Callable[[str], str] = encode) -> None:
    projects = _project_names(conn, rows)
    conn.execute(insert(search_text), [
        {"rowid": r["_submission_id"], "main_table": table_name(form_id),
         "body": document(r, projects, encoding)}
        for r in rows])


def forget(conn: Connection, submission_ids: Iterable[int]) -> None:
    ids = sorted(set(submission_ids))
    for start in range(0, len(ids), 500):
        conn.execute(delete(search_text).where(search_text.c.rowid.in_(ids[start:start + 500])))


def forget_form(conn: Connection, form_id: str) -> None:
    conn.execute(delete(search_text).where(search_text.c.main_table == table_name(form_id)))


def matching(main_table: str, q: str) -> Any:
    """The ids of the submissions in warehouse table ``main_table`` whose text contains every word of ``q`` (a
    subquery for ``_submission_id.in_(...)``); ``None`` when ``q`` has no words."""
    found = words(q)
    if not found:
        return None
    likes = [search_text.c.body.like(f"%{encode(w)}%") for w in found]
    return select(search_text.c.rowid).where(and_(*likes), search_text.c.main_table == main_table)


def reindex(conn: Connection, batch: int = 2000, encoding: Callable[[str], str] = encode) -> int:
    """Index every current submission of every form from its warehouse main row, in place of
    what the index held (migration 0014 built it, 0020 re-encoded it; the warehouse keeps it
    from then on). Reads and writes ``batch`` rows at a time in order of submission id, so its
    memory stays the same whatever the number of rows. Returns the rows indexed."""
    from pipeline.warehouse_tables import form_tables

    conn.execute(delete(search_text))
    forms = conn.exec_driver_sql("SELECT xml_form_id FROM forms").scalars().all()
    names = set(inspect(conn).get_table_names())
    done = 0
    for form_id in forms:
        if table_name(form_id) not in names:
            continue
        main = form_tables(conn, form_id)[table_name(form_id)]
        after = None
        while True:
            page = select(main).order_by(main.c._submission_id).limit(batch)
            if after is not None:
                page = page.where(main.c._submission_id > after)
            chunk = [dict(r) for r in conn.execute(page).mappings()]
            if not chunk:
                break
            _write(conn, form_id, chunk, encoding)
            done += len(chunk)
            after = chunk[-1]["_submission_id"]
    return done


__all__ = ["MIN_INDEXED", "TABLE", "create", "document", "drop", "encode", "forget",
           "forget_form", "index", "is_index_table", "matching", "reindex", "search_text",
           "words"]
