"""One engine per app; one session per request, kept on ``g`` and closed at teardown (flaskr)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from pipeline.db import make_engine, session_factory, upgrade
from pipeline.storage import AnyStore, open_store


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"],
                         busy_seconds=float(app.config["SQLITE_BUSY_SECONDS"]))
    app.extensions["engine"] = engine
    app.extensions["sessions"] = session_factory(engine)
    app.extensions["blobs"] = open_store(app.config["BLOB_STORE"], app.config["SANGJOG_DATA_DIR"],
                                         endpoint_url=app.config["BLOB_STORE_ENDPOINT_URL"])
    if app.config.get("AUTO_MIGRATE", True):
        upgrade(engine)
        _bring_in_old_workbooks(app)
    # A request may run inside a longer app context (tests, CLI): its session ends with it.
    app.teardown_request(close_session)
    app.teardown_appcontext(close_session)


def _bring_in_old_workbooks(app: Flask) -> None:
    """Part of the upgrade: the scheduled workbooks earlier versions left in ``{data}/exports``
    go into the attachment store and the Downloads page's listing (``exports.old_workbooks``)."""
    folder = Path(app.config["SANGJOG_DATA_DIR"]) / "exports"
    if not folder.is_dir():  # every install made since: nothing to read, nothing imported
        return
    from exports import old_workbooks

    session = app.extensions["sessions"]()
    try:
        outcome = old_workbooks.bring_in(session, app.extensions["blobs"], folder)
    finally:
        session.close()
    for line in outcome.lines() if outcome is not None else ():
        app.logger.warning(line)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["sessions"]()
    return g.db_session


def get_blobs() -> AnyStore:
    return current_app.extensions["blobs"]


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
