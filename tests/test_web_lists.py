"""Every form's submissions list: sorting by any shown column with keyset pages, page numbers
and sizes, the column chooser remembered per user, place names in search, and the scope."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, event, insert, select

from pipeline import scope as scoping
from pipeline.models import User
from sync_server.web import listing
from tests import builders
from tests.builders import KURIGRAM, RANGPUR, UPAZILA

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/submissions/(\d+)[?"]', html)]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_pages_in_any_order_walk_every_row_once_both_ways(app, db):
    """Ties and empty values included: forward and back, every order gives each row once, in
    the order an ORDER BY gives (empty values last), on both databases."""
    table = Table("t_keyset", MetaData(), Column("_submission_id", Integer, unique=True),
                  Column("v", Text))
    conn = db.connection()
    table.create(conn)
    values = [None, "b", "a", "b", None, "c", "a", "b", None, "c", "d"]
    conn.execute(insert(table), [{"_submission_id": i + 1, "v": v} for i, v in enumerate(values)])
    for descending in (True, False):
        sort = listing.Sort("v", descending)

        def key(i, descending=descending):
            v = values[i - 1]
            return (v is None, (v or ""), i) if not descending else (
                v is None, [-ord(ch) for ch in (v or "")], -i)

        expected = sorted(range(1, len(values) + 1), key=key)
        pages, before, number = [], None, 1
        for _ in range(10):
            page = listing.page(conn, table, [], before=before, size=3, sort=sort, number=number)
            pages.append([r._submission_id for r in page.rows])
            assert page.number == len(pages)
            if page.older is None:
                break
            before, number = page.older, page.number
        assert [i for p in pages for i in p] == expected, (descending, pages)
        # Back from the last page, one page at a time, to the first.
        page_back = page
        for n in range(len(pages) - 1, 0, -1):
            page_back = listing.page(conn, table, [], after=page_back.newer, size=3, sort=sort,
                                     number=page_back.number)
            assert [r._submission_id for r in page_back.rows] == pages[n - 1]
            assert page_back.number == n
        assert page_back.newer is None
        # A page number typed in lands on the same rows.
        third = listing.page(conn, table, [], size=3, sort=sort, number=3)
        assert [r._submission_id for r in third.rows] == pages[2] and third.number == 3
    db.rollback()


def test_sorting_by_a_column_heading_keeps_paging_and_filters(client, world, db, blobs,
                                                             monkeypatch):
    for i, name in enumerate(("Zahid", "Amina", "Mitu")):
        builders.add_inspection(db, blobs, RANGPUR, 40 + i, inspector=name)
    db.commit()
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    builders.login(client, "sup_division")
    html = client.get(f"{LIST}?district={RANGPUR}").get_data(as_text=True)
    heading = re.search(r'href="([^"]*sort=-inspector_name[^"]*)"', html).group(1)
    heading = heading.replace("&amp;", "&")
    assert f"district={RANGPUR}" in heading  # the filter stays
    seen, url = [], heading
    for _ in range(10):
        html = client.get(url).get_data(as_text=True)
        seen.append(listed_ids(html))
        url = link(html, "next")
        if url is None:
            break
    assert 'aria-sort="descending"' in html
    names = dict(zip(world.submissions[RANGPUR] + [5, 6, 7],
                     ["Farhana Yasmin"] * 2 + ["Zahid", "Amina", "Mitu"], strict=True))
    flat = [i for p in seen for i in p]
    assert flat == sorted(names, key=lambda i: (names[i], i), reverse=True)
    assert [len(p) for p in seen] == [2, 2, 1]
    # Page numbers: three pages of two, and page 2 by its number.
    assert re.search(r'aria-current="page">3<', html)
    second = client.get(heading + "&page=2").get_data(as_text=True)
    assert listed_ids(second) == seen[1]
    bigger = client.get(heading + "&size=100").get_data(as_text=True)
    assert listed_ids(bigger) == flat
    assert client.get(heading + "&size=7&page=zz").status_code == 200  # unknown: the usual


def test_the_column_choice_is_remembered_per_user_and_form(client, world, db):
    builders.login(client, "sup_rangpur")
    html = client.get(LIST).get_data(as_text=True)
    assert 'value="recommendation"' in html and 'data-label="Recommendation"' not in html
    token = builders.csrf(html)
    response = client.post("/forms/innovation_inspection/columns",
                           data={"csrf_token": token, "columns": ["recommendation", "district",
                                                                   "not_a_column"],
                                 "next": LIST})
    assert response.status_code == 302
    html = client.get(LIST).get_data(as_text=True)
    labels = re.findall(r'<td[^>]*data-label="([^"]+)"', listed_row(html))
    assert labels[1:] == ["Submission", "District", "Recommendation", "Review"]
    user = db.scalar(select(User).where(User.username == "sup_rangpur"))
    db.refresh(user)
    assert user.preferences["columns"] == {"innovation_inspection": ["district", "recommendation"]}
    # Another user keeps the usual columns; "the usual columns" brings them back.
    other = client.application.test_client()
    builders.login(other, "do_rangpur")
    assert 'data-label="Recommendation"' not in other.get(LIST).get_data(as_text=True)
    client.post("/forms/innovation_inspection/columns", data={"csrf_token": token, "reset": "1"})
    assert 'data-label="Recommendation"' not in client.get(LIST).get_data(as_text=True)


def listed_row(html: str) -> str:
    return html[html.index("<tbody>"):html.index("</tr>", html.index("<tbody>"))]


def test_search_finds_place_names_in_english_and_bengali_within_the_scope(client, world):
    builders.login(client, "sup_division")
    for q in ("Badarganj", "বদরগঞ্জ", "badargan"):
        found = listed_ids(client.get(f"{LIST}?q={q}").get_data(as_text=True))
        assert sorted(found) == world.submissions[RANGPUR], q
    assert sorted(listed_ids(client.get(f"{LIST}?q=Kurigram").get_data(as_text=True))) == \
        world.submissions[KURIGRAM]
    # Another district's place finds nothing for a reader limited to Rangpur.
    officer = client.application.test_client()
    builders.login(officer, "do_rangpur")
    assert listed_ids(officer.get(f"{LIST}?q=Kurigram").get_data(as_text=True)) == []


def test_a_cursor_from_another_district_reveals_nothing(client, world):
    """``before=`` naming a row outside the reader's area starts the list from the top, as a
    missing id does: its value is never read for the comparison."""
    builders.login(client, "do_rangpur")
    first = listed_ids(client.get(LIST).get_data(as_text=True))
    other = world.first(KURIGRAM)
    for arg in (f"before={other}&sort=-progress", f"after={other}", "before=999999"):
        page = client.get(f"{LIST}?{arg}")
        assert page.status_code == 200
        ids = listed_ids(page.get_data(as_text=True))
        assert set(ids) <= set(world.submissions[RANGPUR]) and ids, arg
    assert first
    assert client.post("/forms/innovation_inspection/columns",
                       data={"columns": ["district"]}).status_code == 400  # no CSRF token


def indexes(lookups: tuple[str, ...]) -> list[tuple[str, str]]:
    """The warehouse indexes that answer each lookup SQLite's plan names."""
    # (district, upazila, date, id) answers a district's lookup as well as (district, date):
    # SQLite picks either for a count, by its guesses (both read only the district's rows)
    names = {"(district=?)": ("district", "district_progress", "upazila"),
             "(district=? AND upazila=?)": ("upazila",), "(_review_state=?)": ("review",)}
    return [(name, lookup) for lookup in lookups for name in names[lookup]]


def test_a_district_readers_sort_by_district_and_upazila_filter_read_along_an_index(world, db):
    """The SQL the list builds for a one-district reader sorted by district (every row has the
    same district, so the list reads in its default order), sorted by progress (largest
    first), and for an upazila and a review state: the page and its count walk an index, with no sort of every row in the area and no
    check of every row of the district (0.5-0.7 s each at 100,000 inspections on SQLite,
    docs/benchmarks.md), on both databases."""
    conn = db.connection()
    table = listing.main_table(conn, "innovation_inspection")
    scope = scoping.parse([f"bd_district:{RANGPUR}"])
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # a table of a few rows is scanned whole otherwise
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    cases = [(listing.Filters(), listing.Sort("district", False), ("(district=?)",)),
             (listing.Filters({"upazila": UPAZILA[RANGPUR]}, review_state="received"),
              # SQLite without statistics may count along the review state's index instead:
              # which of two equality lookups it takes depends on its guesses, and either reads
              # only the matching rows, not the whole district
              listing.default_sort(table), ("(district=? AND upazila=?)", "(_review_state=?)")),
             (listing.Filters(), listing.Sort("progress", True), ("(district=?)",))]
    for filters, sort, lookup in cases:
        where = listing.conditions(table, scope, filters)
        statements: list[tuple[str, Any]] = []

        def grab(_conn, _cursor, statement, parameters, _context, _many, into=statements):
            into.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", grab)
        try:
            listing.page(conn, table, where, sort=listing.reading_order(table, sort, scope, filters))
            listing.cheap_count(conn, table, where)
        finally:
            event.remove(conn, "before_cursor_execute", grab)
        assert len(statements) == 2
        for sql, params in statements:
            if postgres:
                plan = " ".join(conn.exec_driver_sql(f"EXPLAIN {sql}", params).scalars())
                assert "Index" in plan and "Sort" not in plan and "Seq Scan" not in plan, plan
            else:
                plan = " ".join(row[-1] for row in
                                conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
                assert "INDEX ix_wh_innovation_inspection_" in plan, plan
                assert any(f"INDEX ix_wh_innovation_inspection_{name} {way}" in plan
                           for name, way in indexes(lookup)), plan
                assert "TEMP B-TREE" not in plan and "SCAN wh_" not in plan, plan
    db.rollback()
