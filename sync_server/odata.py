"""The OData feed (docs/odata.md): each form as an OData v4 service for Power BI, Excel and R.

Served at ``/odata/{form_id}.svc`` and at ODK Central's address shape,
``/v1/projects/1/forms/{form_id}.svc``, so tools written for Central work with only the base
address changed. Web users authenticate with HTTP Basic (the login Collect's door uses, with its
limits) or their logged-in session; the rows are those the web pages show them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.orm import Session

from exports import odata_model
from pipeline import problems
from pipeline.models import User

from .auth import basic_login
from .db import get_session
from .web import current_user
from .web.review import READERS

if TYPE_CHECKING:
    from exports import odata

bp = Blueprint("odata", __name__)
PREFIXES = ("/odata", "/v1/projects/1/forms")
JSON_TYPE = "application/json; odata.metadata=minimal"
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(?:\('([^'/]+)'\))?$")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _user() -> User:
    """Basic credentials when sent (they win over a cookie), else the logged-in session; only
    the roles that may read submissions on the web pages."""
    user = basic_login() if request.authorization is not None else current_user()
    if user is None:
        raise problems.unauthorized()
    if user.role not in READERS:
        raise problems.forbidden("submissions")
    return user


def _feed(form_id: str) -> odata.Feed:
    # Imported on the first feed request: its query parser is slow to import, and neither the
    # other pages nor the command line need it.
    from exports import odata

    user = _user()
    return odata.open_feed(get_session(), form_id, list(user.scope or []))


def _root(form_id: str) -> str:
    """The service root as the client should call it back (``SERVER_URL`` when set)."""
    base = (current_app.config.get("SERVER_URL") or request.host_url).rstrip("/")
    prefix = next(p for p in PREFIXES if request.path.startswith(p + "/"))
    return f"{base}{prefix}/{form_id}.svc"


def _json(body: Any) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    resp.headers["Content-Type"] = JSON_TYPE
    resp.headers["OData-Version"] = "4.0"
    return resp


def service_document(form_id: str) -> Response:
    feed = _feed(form_id)
    return _json(odata_model.service_document(feed.service, f"{_root(form_id)}/$metadata"))


def metadata(form_id: str) -> Response:
    feed = _feed(form_id)
    resp = Response(odata_model.edmx(feed.service), mimetype="application/xml")
    resp.headers["OData-Version"] = "4.0"
    return resp


def resource(form_id: str, resource: str) -> Response:
    from exports import odata
    from exports.odata_query import Options

    feed = _feed(form_id)
    entity, parent = _target(feed.service, resource)
    opts = Options.parse(request.args)
    if opts.skiptoken is not None and opts.skip:
        opts.skip = 0  # the token says where to go on, as in Central
    root = _root(form_id)
    context = f"{root}/$metadata#{entity.name}"

    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("$skip", "$skiptoken")]

    def next_link(token: str) -> str:
        return f"{root}/{resource}?{urlencode([*args, ('$skiptoken', token)])}"

    # The rows are written after this view returns: they are read on a session of their own,
    # closed when the response is (a client that hangs up included), not on the request's.
    session = current_app.extensions["sessions"]()
    try:
        body = odata.stream(session, feed, entity, opts, context, next_link, parent)
    except BaseException:
        session.close()
        raise
    resp = Response(_closing(body, session), mimetype="application/json")
    resp.headers["Content-Type"] = JSON_TYPE
    resp.headers["OData-Version"] = "4.0"
    return resp


def _closing(body: Iterator[str], session: Session) -> Iterator[str]:
    try:
        yield from body
    finally:
        session.close()


def _target(service: odata_model.Service,
            resource: str) -> tuple[odata_model.Entity, tuple[str, list[str]] | None]:
    """``Submissions.photos`` → (entity, None); ``Submissions('uuid:…')/photos('…')/marks`` →
    (entity, (instanceID, enclosing repeat row ids)), checked against the form's structure."""
    segments = resource.rstrip("/").split("/")
    parsed = [_SEGMENT.match(s) for s in segments]
    if not segments or any(m is None for m in parsed):
        raise problems.not_found(f"'{resource}'")
    first_name, instance_id = parsed[0].group(1), parsed[0].group(2)  # type: ignore[union-attr]
    if len(segments) == 1 and instance_id is None:
        entity = service.entity(first_name)
        if entity is None:
            raise problems.not_found(f"Entity set '{first_name}'")
        return entity, None
    if first_name != "Submissions" or instance_id is None:
        raise problems.not_found(f"'{resource}'")
    names: list[str] = []
    row_ids: list[str] = []
    marks: list[int] = []  # path length at each repeat row id
    for m in parsed[1:]:
        names.append(m.group(1))  # type: ignore[union-attr]
        if m.group(2) is not None:  # type: ignore[union-attr]
            row_ids.append(m.group(2))  # type: ignore[union-attr]
            marks.append(len(names))
    if not names:
        return service.main, (instance_id, [])
    if marks and marks[-1] == len(names):
        raise problems.odata_unsupported("Reading one repeat row by its id")
    entity = service.entity("Submissions." + ".".join(names))
    if entity is None:
        raise problems.not_found(f"'{resource}'")
    ancestors = []
    node = entity.parent
    while node is not None and node.parent is not None:
        ancestors.append(len(node.parts))
        node = node.parent
    if sorted(ancestors) != marks:
        raise problems.not_found(f"'{resource}'")
    return entity, (instance_id, row_ids)


for _prefix in PREFIXES:
    bp.add_url_rule(f"{_prefix}/<form_id>.svc", f"service{_prefix}", service_document)
    bp.add_url_rule(f"{_prefix}/<form_id>.svc/", f"service_slash{_prefix}", service_document)
    bp.add_url_rule(f"{_prefix}/<form_id>.svc/$metadata", f"metadata{_prefix}", metadata)
    bp.add_url_rule(f"{_prefix}/<form_id>.svc/<path:resource>", f"resource{_prefix}", resource)
