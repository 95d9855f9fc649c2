"""Render a ``Problem`` once per audience: OpenRosa XML for Collect, JSON for the API, HTML for
people. Any other error becomes a Problem first, so every client sees one shape."""

from __future__ import annotations

import logging
import re
from xml.sax.saxutils import escape

from flask import Flask, Response, jsonify, render_template, render_template_string, request
from werkzeug.exceptions import HTTPException

from pipeline import problems
from pipeline.db import is_transient
from pipeline.problems import Problem

from .db import close_session

log = logging.getLogger(__name__)

OPENROSA_NS = "http://openrosa.org/http/response"

_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ problem.status }} · Sangjog</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{{ url_for('static', filename='sangjog.css') }}"></head>
<body class="problem"><main><h1>{{ title }}</h1><p>{{ problem.message }}</p>
<p class="muted">Error code <code>{{ problem.code }}</code></p>
<p><a href="/">Back to the start page</a></p></main></body></html>"""


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, render)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(Exception, _from_crash)


def audience() -> str:
    if request.blueprint == "openrosa" or request.path.startswith("/key/"):
        return "openrosa"
    if (request.path.startswith("/api/") or request.blueprint == "odata"
            or request.accept_mimetypes.best == "application/json"):
        return "json"
    return "html"


def openrosa_message(text: str, status: int) -> Response:
    body = (
        f'<OpenRosaResponse xmlns="{OPENROSA_NS}">'
        f'<message nature="error">{escape(text)}</message></OpenRosaResponse>'
    )
    resp = Response(body, status=status, mimetype="text/xml")
    resp.headers["X-OpenRosa-Version"] = "1.0"
    return resp


def render(problem: Problem) -> Response:
    who = audience()
    if who == "openrosa":
        resp = openrosa_message(problem.message, problem.status)
    elif who == "json":
        body = {"code": problem.code, "message": problem.message, "status": problem.status}
        if problem.details:
            body["details"] = problem.details
        resp = jsonify(body)
        resp.status_code = problem.status
    else:
        resp = Response(_page(problem), status=problem.status, mimetype="text/html")
    if problem.status == 401 and who != "html":
        resp.headers["WWW-Authenticate"] = 'Basic realm="Sangjog", charset="UTF-8"'
    if "retry_after" in problem.details:
        resp.headers["Retry-After"] = str(problem.details["retry_after"])
    return resp


def _page(problem: Problem) -> str:
    """The site's own page (menu, language switch, texts in the reader's language); the bare
    English page when that cannot be drawn (the database is down, say)."""
    try:
        return render_template("error.html", problem=problem)
    except Exception as exc:  # noqa: BLE001 - an error page must always answer
        if not is_transient(exc):  # the database's trouble is logged once, by ``_from_crash``
            log.exception("the error page could not be drawn; sending the plain one")
        return render_template_string(_HTML, problem=problem, title=_title(problem.status))


def _title(status: int) -> str:
    return {
        400: "That request could not be understood",
        401: "Please log in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        429: "Too many attempts",
        503: "Try again in a minute",
    }.get(status, "Something went wrong")


def _from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = {413: "request.too_large", 404: "resource.not_found", 405: "request.method_not_allowed",
            429: "request.rate_limited", 400: "request.bad"}.get(status, f"http.{status}")
    if status == 413:
        return render(problems.too_large(request.max_content_length or 0))
    return render(problems.from_http(code, status, exc.description or exc.name))


RETRY_AFTER_SECONDS = 30


def _from_crash(exc: Exception) -> Response:
    # App-user keys are passwords: never let one reach the log.
    path = re.sub(r"^/key/[^/]+", "/key/…", request.path)
    if is_transient(exc):
        # Not a fault of the request: say when to come back (Collect keeps the submission).
        # The driver's own message only: SQLAlchemy's adds the statement's parameters (a key).
        log.warning("database unavailable on %s %s: %s", request.method, path,
                    getattr(exc, "orig", None) or exc)
        close_session()  # the page below starts afresh rather than on the failed transaction
        resp = render(problems.database_unavailable())
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp
    log.exception("unhandled error on %s %s", request.method, path)
    return render(problems.server_error())
