"""Forms filled in a browser (ODK Web Forms): ``/f/<form>`` for logged-in web users and
``/l/<token>`` for public links an admin makes (a workshop's participants, no Collect, no login).

Both are doors like Collect's and keep its rules: the same form XML, the form's media as the
caller may see them (``pipeline.domain.media``: the user's scope, or the link's area and
upazila), and every submission through ``ingest.accept`` (role, area, idempotent resends,
photos), marked with its source (``web`` or ``link``). A link's submissions are also counted
against its hourly limit, and a revoked or expired link answers 410.

The page itself only names the form's three addresses; the filler is the committed bundle in
``static/vendor/webforms`` (built by ``tools/webforms/build.sh``), so serving needs no Node.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import Headers

from pipeline import access, links, problems
from pipeline.domain.media import media_content
from pipeline.forms import fillable_version
from pipeline.ingest import Incoming, accept
from pipeline.models import FormVersion

from .. import health
from ..db import get_blobs, get_session
from ..upload_parts import read_upload
from . import current_user, require
from .auth import BROWSER_FORM_POLICY

pages = Blueprint("browser_forms", __name__, url_prefix="/f")
public = Blueprint("form_links", __name__, url_prefix="/l")
manage = Blueprint("link_admin", __name__, url_prefix="/admin/links")


def init_app(app: Flask) -> None:
    app.register_blueprint(pages)
    app.register_blueprint(public)
    app.register_blueprint(manage)
    # The Forms page lists the links (``_form_links.html``) with what it already shows.
    app.jinja_env.globals["form_links"] = lambda: links.listed(get_session())
    app.jinja_env.globals["link_address"] = link_address


# ---- logged-in web users: /f/<form_id> ----

def _user_version(xml_form_id: str) -> tuple[FormVersion, access.Principal]:
    who = access.web_user(current_user())
    version = fillable_version(get_session(), xml_form_id)
    if not access.may_fill(who, xml_form_id):
        raise access.read_only(who)
    return version, who


@pages.route("/<xml_form_id>")
@require()
def fill(xml_form_id: str) -> Response:
    version, _who = _user_version(xml_form_id)
    base = url_for("browser_forms.fill", xml_form_id=xml_form_id)
    return _page(version, base, csrf=True)


@pages.route("/<xml_form_id>/form.xml")
@require()
def form_xml(xml_form_id: str) -> Response:
    version, _who = _user_version(xml_form_id)
    return Response(version.xml, mimetype="text/xml")


@pages.route("/<xml_form_id>/media/<name>")
@require()
def media(xml_form_id: str, name: str) -> Response:
    version, who = _user_version(xml_form_id)
    return _media(version, name, who)


@pages.route("/<xml_form_id>/submission", methods=["POST"])
@require()
def submit(xml_form_id: str) -> Response:
    user = current_user()
    _user_version(xml_form_id)
    return _accept("web", by=user, device=None)


# ---- public links: /l/<token> ----

def _link(token: str) -> tuple[FormVersion, links.FormLink, access.Principal]:
    session = get_session()
    link = links.usable(session, token)
    version = fillable_version(session, link.form.xml_form_id)
    return version, link, access.form_link(link)


@public.route("/<token>")
def link_page(token: str) -> Response:
    version, link, _who = _link(token)
    base = url_for("form_links.link_page", token=token)
    return _page(version, base, csrf=False, link=link)


@public.route("/<token>/form.xml")
def link_form_xml(token: str) -> Response:
    version, link, _who = _link(token)
    return Response(links.fixed_form(version.xml, link), mimetype="text/xml")


@public.route("/<token>/media/<name>")
def link_media(token: str, name: str) -> Response:
    version, _link_row, who = _link(token)
    return _media(version, name, who)


@public.route("/<token>/submission", methods=["POST"])
def link_submit(token: str) -> Response:
    _version, link, who = _link(token)
    session = get_session()
    links.take_turn(session, link, int(current_app.config["LINK_SUBMISSIONS_PER_HOUR"]))
    return _accept("link", by=who, device=None, source_ref=f"link:{link.id}")


# ---- admins: make and withdraw links (the Forms page) ----

@manage.route("", methods=["POST"])
@require("admin")
def create_link() -> Response:
    form = request.form
    try:
        link = links.create(
            get_session(), form.get("form_id", ""), by=current_user().username,
            upazila=(form.get("upazila") or "").strip() or None,
            workshop_date=_day(form.get("workshop_date")),
            expires_at=_end_of(_day(form.get("expires"))),
            once_per_device=bool(form.get("once_per_device")))
    except (problems.Problem, ValueError) as exc:
        flash(exc.message if isinstance(exc, problems.Problem) else _("That is not a date."),
              "error")
        return redirect(url_for("admin.forms") + "#links")
    flash(_("Link made for %(form)s: %(address)s", form=link.form.xml_form_id,
            address=link_address(link)), "info")
    return redirect(url_for("admin.forms") + "#links")


@manage.route("/<int:link_id>/revoke", methods=["POST"])
@require("admin")
def revoke_link(link_id: int) -> Response:
    link = links.revoke(get_session(), str(link_id))
    flash(_("Link %(id)s for %(form)s withdrawn: it now answers that it is gone.",
            id=link.id, form=link.form.xml_form_id), "info")
    return redirect(url_for("admin.forms") + "#links")


def link_address(link: links.FormLink) -> str:
    base = (current_app.config.get("SERVER_URL") or request.url_root).rstrip("/")
    return f"{base}/l/{link.token}"


def _day(text: str | None) -> date | None:
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


def _end_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.max, tzinfo=UTC) if day else None


# ---- shared ----

def _page(version: FormVersion, base: str, *, csrf: bool, link: links.FormLink | None = None
          ) -> Response:
    body = render_template("browser_form.html", version=version, base=base, csrf=csrf, link=link)
    headers = Headers({"Content-Security-Policy": BROWSER_FORM_POLICY})
    return Response(body, headers=headers, mimetype="text/html")


def _media(version: FormVersion, name: str, who: access.Principal) -> Response:
    content = media_content(get_session(), version, name, who)
    if content is None:
        raise problems.not_found(f"Media file '{name}' of form '{version.form.xml_form_id}'")
    mimetype = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return Response(content, mimetype=mimetype)


def _accept(source: str, *, by: object, device: str | None, source_ref: str | None = None
            ) -> Response:
    upload = read_upload(request)
    incoming = Incoming(xml=upload.xml, files=upload.files, source=source, source_ref=source_ref,
                        device_id=device)
    outcome = accept(get_session(), get_blobs(), incoming, by=by, load=False)  # type: ignore[arg-type]
    health.upload_outcome(outcome.status)
    return jsonify({"status": outcome.status, "id": outcome.submission_id}), 201
