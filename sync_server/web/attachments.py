"""Photos and files received with submissions, served from the BlobStore to people who may see
the submission: the scope check is the same warehouse query the submission page makes."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, redirect, request, send_file
from sqlalchemy import select

from pipeline import problems
from pipeline.models import Attachment, Submission

from ..db import get_blobs, get_session
from . import current_scope, listing, require
from .thumbnails import PLACEHOLDER, thumbnail

bp = Blueprint("attachments", __name__)
INLINE_TYPES = ("image/", "audio/", "video/")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/attachments/<int:submission_id>/<name>")
@require("admin", "supervisor", "district_officer")
def attachment(submission_id: int, name: str):
    db = get_session()
    sub = db.get(Submission, submission_id)
    if sub is None:
        raise problems.not_found("That file")
    scope = current_scope()
    if not scope.everything:
        conn = db.connection()
        table = listing.main_table(conn, sub.form.xml_form_id)
        try:
            if table is None:
                raise problems.not_found("That file")
            listing.one_row(conn, table, scope, submission_id)
        except problems.Problem:
            # Outside the user's scope reads exactly like a file that does not exist.
            raise problems.not_found("That file") from None
    found = db.scalar(select(Attachment).where(Attachment.submission_id == submission_id,
                                               Attachment.name == name))
    blobs = get_blobs()
    if found is None or not blobs.exists(found.sha256):
        raise problems.not_found("That file")
    if request.args.get("size") == "thumb" and found.content_type.startswith("image/"):
        folder = Path(current_app.config["SANGJOG_DATA_DIR"]) / "thumbs"
        small = thumbnail(lambda: blobs.open(found.sha256), folder, found.sha256)
        if small is not None:
            kind = "image/svg+xml" if small == PLACEHOLDER else "image/jpeg"
            return send_file(small, mimetype=kind, conditional=True)
    # Only pictures, sound and video open in the browser; anything else (HTML, SVG) downloads.
    inline = found.content_type.startswith(INLINE_TYPES) and found.content_type != "image/svg+xml"
    return send_blob(found.sha256, found.name, found.content_type, found.size, inline=inline)


def send_blob(sha256: str, name: str, content_type: str, size: int, *, inline: bool):
    """A stored file as a response: a short-lived address of the object store's own
    (BLOB_DOWNLOAD_URL_SECONDS) when set, else streamed in chunks from the folder or the object
    store, never whole in memory. Never stored in a cache (the page headers say no-store)."""
    blobs = get_blobs()
    seconds = int(current_app.config.get("BLOB_DOWNLOAD_URL_SECONDS") or 0)
    url = blobs.download_url(sha256, name=name, content_type=content_type,
                             inline=inline, seconds=seconds) if seconds > 0 else None
    if url is not None:
        return redirect(url, code=302)
    source = blobs.path(sha256) if blobs.kind == "files" else blobs.open(sha256)
    response = send_file(source, mimetype=content_type, as_attachment=not inline,
                         download_name=name, conditional=blobs.kind == "files", etag=sha256)
    if blobs.kind != "files":
        response.content_length = size
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
