"""OpenRosa endpoints for ODK Collect (formList, form download, manifest, media, submission)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("openrosa", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
