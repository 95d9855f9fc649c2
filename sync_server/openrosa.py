"""OpenRosa endpoints for ODK Collect: form list, form and media download, submission upload.

Every route exists twice: at the root for web users (HTTP Basic) and under ``/key/<token>`` for
app users, whose Collect server URL is ``{SERVER_URL}/key/<token>`` (as ODK Central's
``/v1/key/<token>/projects/1``). Collect appends ``/formList`` and ``/submission`` itself; the
download links it follows are the absolute URLs given in the form list and manifests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import func, select

from pipeline import access, problems
from pipeline.domain.media import media_content, media_names
from pipeline.forms import fillable_version
from pipeline.ingest import Incoming, accept
from pipeline.models import Form, FormMedia, FormVersion

from . import auth, health
from . import openrosa_xml as bodies
from .db import get_blobs, get_session
from .upload_parts import read_upload

bp = Blueprint("openrosa", __name__)

OPENROSA_XML = "text/xml; charset=utf-8"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_openrosa_headers)


def _route(rule: str, **options: Any) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a view at ``rule`` and at ``/key/<token>`` + ``rule``."""

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        bp.add_url_rule(rule, view_func=view, **options)
        bp.add_url_rule(f"/key/<token>{rule}", view_func=view, **options)
        return view

    return register


@_route("/formList")
def form_list(token: str | None = None) -> Response:
    who = auth.collect_user(token)
    session = get_session()
    wanted = request.args.get("formID")
    latest = select(func.max(FormVersion.id)).group_by(FormVersion.form_id)
    query = (select(Form, FormVersion).join(FormVersion, FormVersion.form_id == Form.id)
             .where(FormVersion.id.in_(latest), Form.state == "open")
             .order_by(Form.xml_form_id))
    if wanted:
        query = query.where(Form.xml_form_id == wanted)
    with_static = set(session.scalars(select(FormMedia.form_version_id).distinct()))
    listed = []
    for form, version in session.execute(query):
        if not access.may_fill(who.principal, form.xml_form_id):
            continue
        has_media = bool(version.media) or version.id in with_static
        listed.append(bodies.ListedForm(
            form_id=form.xml_form_id,
            name=version.title or form.title or form.xml_form_id,
            version=version.version,
            md5=hashlib.md5(version.xml).hexdigest(),
            download_url=_url(token, f"/formXml/{quote(form.xml_form_id)}"),
            manifest_url=_url(token, f"/formManifest/{quote(form.xml_form_id)}") if has_media else None,
        ))
    return _xml(bodies.form_list(listed))


@_route("/formXml/<xml_form_id>")
def form_download(xml_form_id: str, token: str | None = None) -> Response:
    version, _who = _fillable_version(xml_form_id, token)
    return _xml(version.xml)


@_route("/formManifest/<xml_form_id>")
def manifest(xml_form_id: str, token: str | None = None) -> Response:
    # Generated media hold only the requester's area, so each requester's md5 is of its own
    # copy: Collect downloads again exactly when what it may see changes.
    version, who = _fillable_version(xml_form_id, token)
    session = get_session()
    entries = []
    for name in media_names(version):
        content = media_content(session, version, name, who.principal)
        if content is None:
            continue  # referenced but neither uploaded nor generated: Collect would get a 404
        entries.append(bodies.MediaEntry(
            filename=name,
            md5=hashlib.md5(content).hexdigest(),
            download_url=_url(token, f"/formMedia/{quote(xml_form_id)}/{quote(name)}"),
        ))
    return _xml(bodies.manifest(entries))


@_route("/formMedia/<xml_form_id>/<name>")
def media_file(xml_form_id: str, name: str, token: str | None = None) -> Response:
    version, who = _fillable_version(xml_form_id, token)
    content = media_content(get_session(), version, name, who.principal)
    if content is None:
        raise problems.not_found(f"Media file '{name}' of form '{xml_form_id}'")
    mimetype = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return Response(content, mimetype=mimetype)


@_route("/submission", methods=["HEAD", "POST"])
def submission(token: str | None = None) -> Response:
    who = auth.collect_user(token)  # a wrong key is told before a bad upload
    if request.method == "HEAD":
        return Response(status=204)
    upload = read_upload(request)
    incoming = Incoming(xml=upload.xml, files=upload.files, source="collect",
                        device_id=(request.args.get("deviceID") or "")[:255] or None,
                        incomplete=upload.incomplete)
    # Stored now; the loader puts it in the warehouse moments later (``background_loader``).
    outcome = accept(get_session(), get_blobs(), incoming, by=who.writer, load=False)
    health.upload_outcome(outcome.status)
    return _xml(bodies.submission_received(), status=201)


def _fillable_version(xml_form_id: str, token: str | None) -> tuple[FormVersion, auth.CollectUser]:
    who = auth.collect_user(token)
    version = fillable_version(get_session(), xml_form_id)
    principal = who.principal
    if not access.may_fill(principal, xml_form_id):
        raise (access.read_only(principal) if principal.kind == "web"
               else access.form_not_given(principal, xml_form_id))
    return version, who


def _url(token: str | None, path: str) -> str:
    base = (current_app.config.get("SERVER_URL") or request.url_root).rstrip("/")
    prefix = f"/key/{quote(token, safe='')}" if token is not None else ""
    return f"{base}{prefix}{path}"


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type=OPENROSA_XML)


def _openrosa_headers(response: Response) -> Response:
    """Collect checks these on every answer, errors included."""
    if request.blueprint == "openrosa" or request.path.startswith("/key/"):
        response.headers["X-OpenRosa-Version"] = "1.0"
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        response.headers["X-OpenRosa-Accept-Content-Length"] = str(limit)
    return response
