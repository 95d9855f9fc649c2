"""Upgrading from a version that wrote scheduled workbooks into ``{data}/exports``: the app's
start brings them into the attachment store once (``exports/old_workbooks.py``), and the
Downloads page lists and serves them under the same area rules as the workbooks made since.
What a name does not say is left in place and reported, never listed."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from exports import old_workbooks
from pipeline.models import ScheduledExport
from pipeline.storage import BlobStore
from tests import builders

RANGPUR_BOOK = "sangjog-rangpur-5585-2026-Q3-en.xlsx"
KURIGRAM_BOOK = "sangjog-kurigram-5549-2026-Q3-bn.xlsx"
UNREADABLE = {  # what each of these names fails to say
    "sangjog-dhaka-5585-2026-Q3-en.xlsx": old_workbooks.UNREADABLE,  # Dhaka's name, Rangpur's code
    "sangjog-rangpur-2026-Q3-en.xlsx": old_workbooks.UNREADABLE,  # no code: which Rangpur?
    "sangjog-rangpur-5585-2026-13-en.xlsx": old_workbooks.UNREADABLE,  # no month 13
    "sangjog-rangpur-5585-2026-Q3-fr.xlsx": old_workbooks.UNREADABLE,
    "rangpur.xlsx": old_workbooks.NOT_A_WORKBOOK,
    "sangjog-rangpur-5585-2026-Q4-en.xlsx.part": old_workbooks.NOT_A_WORKBOOK,  # never finished
    "sangjog-rangpur-5585-2026-Q3-innovation_inspection.zip": old_workbooks.NOT_A_WORKBOOK,
}
MADE = datetime(2026, 10, 1, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(("name", "area", "period", "lang"), [
    (RANGPUR_BOOK, "bd_district:5585", "2026-Q3", "en"),
    ("sangjog-kathmandu-306-2083-84-Q1-ne.xlsx", "np_district:306", "2083-84-Q1", "ne"),
    ("sangjog-shankharapur-municipality-30601-2026-11-ne.xlsx", "np_local_level:30601", "2026-11",
     "ne"),
    ("sangjog-bagmati-province-3-2083-84-ne.xlsx", "np_province:3", "2083-84", "ne"),
    ("sangjog-rangpur-55-2026-H2-bn.xlsx", "bd_division:55", "2026-H2", "bn"),
    ("sangjog-rangpur-5585-2026-07-01_2026-09-30-bn.xlsx", "bd_district:5585",
     "2026-07-01_2026-09-30", "bn"),
    ("sangjog-cox-s-bazar-2022-2026-08-en.xlsx", "bd_district:2022", "2026-08", "en"),
    ("sangjog-cox's-bazar-2022-2026-08-en.xlsx", "bd_district:2022", "2026-08", "en"),  # 1st form
    ("sangjog-all-2026-Q3-en.xlsx", "*", "2026-Q3", "en"),  # for those who see everything only
])
def test_a_name_says_its_area_period_and_language(name, area, period, lang):
    assert old_workbooks.read_name(name) == old_workbooks.Reading(area, period, lang)


@pytest.mark.parametrize(("name", "why"), UNREADABLE.items())
def test_a_name_that_does_not_say_them_is_not_guessed(name, why):
    assert old_workbooks.read_name(name) == why


def _start(database_url: str, data: Path, blob_settings: dict[str, str]):
    """Start the app as a server does: it migrates the database, then brings the old
    workbooks in."""
    from sync_server import create_app

    return create_app({"TESTING": True, "SANGJOG_DATA_DIR": str(data),
                       "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                       "WTF_CSRF_ENABLED": True, **blob_settings})


def _stop(app) -> None:
    from pipeline import caches
    from pipeline.db import writer_for
    from sync_server import background_loader

    caches.clear_all()
    background_loader.stop(app)
    writer_for(app.extensions["engine"]).close()
    app.extensions["engine"].dispose()


def _at_0014(database_url: str) -> None:
    """The database as the version before scheduled workbooks went into the store left it."""
    from alembic import command

    from pipeline.db import alembic_config, make_engine

    engine = make_engine(database_url)
    command.downgrade(alembic_config(engine), "0014")
    engine.dispose()


def _old_folder(data: Path) -> Path:
    exports = data / "exports"
    exports.mkdir(parents=True)
    for name in (RANGPUR_BOOK, KURIGRAM_BOOK, *UNREADABLE):
        (exports / name).write_bytes(f"workbook {name}".encode())
        os.utime(exports / name, (MADE.timestamp(), MADE.timestamp()))
    return exports


def _bring_in(app, exports: Path) -> old_workbooks.Outcome | None:
    session = app.extensions["sessions"]()
    try:
        return old_workbooks.bring_in(session, app.extensions["blobs"], exports)
    finally:
        session.close()


def _listed(app) -> dict[str, tuple[str, str, str, str]]:
    session = app.extensions["sessions"]()
    try:
        return {row.name: (row.area, row.period, row.lang, row.sha256)
                for row in session.scalars(select(ScheduledExport))}
    finally:
        session.close()


@pytest.mark.parametrize("blob_settings", ["files", "s3"], indirect=True)
@pytest.mark.usefixtures("fast_hashing")
def test_an_upgrade_lists_the_old_workbooks_for_their_districts_only(
        database_url, blob_settings, tmp_path, caplog):
    """The Downloads door after an upgrade, from the folder and from object storage: Rangpur's
    reader lists and downloads Rangpur's old workbook, and Kurigram's is a file that does not
    exist for them; the names that say no area stay in the folder, listed for nobody."""
    from pipeline import accounts

    _at_0014(database_url)
    data = tmp_path / "data"
    exports = _old_folder(data)
    with caplog.at_level(logging.WARNING):
        app = _start(database_url, data, blob_settings)
    try:
        listed = _listed(app)
        assert {name: row[:3] for name, row in listed.items()} == {
            RANGPUR_BOOK: ("bd_district:5585", "2026-Q3", "en"),
            KURIGRAM_BOOK: ("bd_district:5549", "2026-Q3", "bn")}
        store = app.extensions["blobs"]
        assert store.get(listed[RANGPUR_BOOK][3]) == f"workbook {RANGPUR_BOOK}".encode()
        # Stored and checked, the originals are gone; what no name says is where it was.
        assert sorted(p.name for p in exports.iterdir()) == sorted([*UNREADABLE,
                                                                    old_workbooks.REPORT])
        for name in UNREADABLE:
            assert (exports / name).read_bytes() == f"workbook {name}".encode()
        report = (exports / old_workbooks.REPORT).read_text()
        for name, why in UNREADABLE.items():
            assert f"{name}\t{why}\n" in report
        said = caplog.text
        assert "2 scheduled workbook(s) written by an earlier version" in said
        assert "7 file(s) in " in said and "sangjog-dhaka-5585-2026-Q3-en.xlsx: " in said

        session = app.extensions["sessions"]()
        accounts.create_user(session, "do_rangpur", builders.PASSWORD, "district_officer",
                             ["bd_district:5585"])
        accounts.create_user(session, "do_kurigram", builders.PASSWORD, "district_officer",
                             ["bd_district:5549"])
        accounts.create_user(session, "root", builders.PASSWORD, "admin", ["*"])
        session.commit()
        session.close()
        for user, own, other in (("do_rangpur", RANGPUR_BOOK, KURIGRAM_BOOK),
                                 ("do_kurigram", KURIGRAM_BOOK, RANGPUR_BOOK)):
            client = builders.login(app.test_client(), user)
            page = client.get("/downloads").get_data(as_text=True)
            assert own in page and other not in page, user
            assert not any(name in page for name in UNREADABLE), user
            got = client.get(f"/downloads/files/{own}")
            assert got.status_code == 200 and got.data == f"workbook {own}".encode(), user
            assert "attachment" in got.headers["Content-Disposition"]
            refused = client.get(f"/downloads/files/{other}")
            assert refused.status_code == 404 and f"workbook {other}".encode() not in refused.data, user
        admin = builders.login(app.test_client(), "root")
        page = admin.get("/downloads").get_data(as_text=True)
        assert RANGPUR_BOOK in page and KURIGRAM_BOOK in page
        for name in UNREADABLE:  # not even for those who see everything
            assert name not in page and admin.get(f"/downloads/files/{name}").status_code == 404
    finally:
        _stop(app)


@pytest.mark.usefixtures("fast_hashing")
def test_a_second_start_or_the_same_files_again_add_nothing(database_url, tmp_path, caplog):
    data = tmp_path / "data"
    exports = _old_folder(data)
    _stop(_start(database_url, data, {}))
    report = (exports / old_workbooks.REPORT).read_text()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        app = _start(database_url, data, {})  # nothing new: nothing done, nothing said
    try:
        before = _listed(app)
        assert len(before) == 2 and str(exports) not in caplog.text
        assert (exports / old_workbooks.REPORT).read_text() == report
        # The same workbook copied back (a restored folder): already listed, so only removed.
        (exports / RANGPUR_BOOK).write_bytes(f"workbook {RANGPUR_BOOK}".encode())
        # Another workbook of a listed name (made again since): left, the listed one kept.
        (exports / KURIGRAM_BOOK).write_bytes(b"another Kurigram workbook")
        outcome = _bring_in(app, exports)
        assert outcome is not None and outcome.brought == [RANGPUR_BOOK]
        assert (KURIGRAM_BOOK, old_workbooks.OTHER_LISTED) in outcome.left
        assert _listed(app) == before
        assert not (exports / RANGPUR_BOOK).exists()
        assert (exports / KURIGRAM_BOOK).read_bytes() == b"another Kurigram workbook"
        assert f"{KURIGRAM_BOOK}\t{old_workbooks.OTHER_LISTED}" in (
            exports / old_workbooks.REPORT).read_text()
        # A name made readable is brought in at the next start; the others stay reported.
        (exports / "rangpur.xlsx").rename(exports / "sangjog-rangpur-5585-2026-Q2-en.xlsx")
        outcome = _bring_in(app, exports)
        assert outcome is not None and outcome.brought == ["sangjog-rangpur-5585-2026-Q2-en.xlsx"]
        assert len(_listed(app)) == 3
        assert _bring_in(app, exports) is None
    finally:
        _stop(app)


def test_a_file_the_store_did_not_keep_whole_stays(database_url, tmp_path):
    """Never removed before the store's copy is read back with the file's sha256: a store that
    cannot take it (here a store path that is a file, not a folder) lists nothing and leaves the
    file, tried again at the next start; a store holding a damaged copy under its sha256 lists
    nothing and leaves it, reported."""
    import hashlib

    data = tmp_path / "data"
    exports = data / "exports"
    exports.mkdir(parents=True)
    (exports / RANGPUR_BOOK).write_bytes(b"the only copy")
    not_a_folder = tmp_path / "store-is-a-file"
    not_a_folder.write_bytes(b"")
    _stop(_start(database_url, data, {"BLOB_STORE": str(not_a_folder)}))
    assert (exports / RANGPUR_BOOK).read_bytes() == b"the only copy"
    assert not (exports / old_workbooks.REPORT).exists()  # not given up on
    app = _start(database_url, data, {})
    try:
        assert list(_listed(app)) == [RANGPUR_BOOK]
        assert not exports.exists()  # emptied, so removed: later starts find nothing to read
        exports.mkdir()
        content = b"the only copy of another"
        (exports / KURIGRAM_BOOK).write_bytes(content)
        damaged = BlobStore(data / "blobs").path(hashlib.sha256(content).hexdigest())
        damaged.parent.mkdir(parents=True, exist_ok=True)
        damaged.write_bytes(content[:-1])  # a copy the store lost a byte of
        outcome = _bring_in(app, exports)
        assert outcome is not None and outcome.left == [(KURIGRAM_BOOK, old_workbooks.DAMAGED)]
        assert list(_listed(app)) == [RANGPUR_BOOK]
        assert (exports / KURIGRAM_BOOK).read_bytes() == content
        assert f"{KURIGRAM_BOOK}\t{old_workbooks.DAMAGED}" in (
            exports / old_workbooks.REPORT).read_text()
    finally:
        _stop(app)
