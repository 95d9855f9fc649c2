"""Admins' pages for people: web users (role and the districts they see) and app users (one
Collect QR code per phone, limited to chosen forms)."""

from __future__ import annotations

from collections.abc import Callable

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
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import accounts, web_sessions
from pipeline.models import ROLES, AppUser, Form, User
from pipeline.problems import Problem

from .. import qr
from ..db import get_session
from . import current_user, people, require
from .i18n import form_title, locale, problem_text

bp = Blueprint("admin_users", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["scope_label"] = lambda code: people.scope_label(code, locale())
    app.jinja_env.globals["form_names"] = form_names


def form_names(form_ids: list[str]) -> str:
    """An app user's forms by title, in the reader's language (an id no longer published as
    itself)."""
    forms = {f.xml_form_id: f for f in get_session().scalars(
        select(Form).where(Form.xml_form_id.in_(list(form_ids))))}
    return ", ".join(form_title(forms[i]) if i in forms else i for i in form_ids)


def _users_page(status: int = 200, **extra):
    db = get_session()
    users = list(db.scalars(select(User).order_by(User.username)))
    return render_template("admin_users.html", users=users, roles=ROLES,
                           scope_choices=people.scope_choices(locale()), **extra), status


@bp.route("/users", methods=["GET", "POST"])
@require("admin")
def users():
    if request.method == "GET":
        return _users_page()
    db = get_session()
    role = request.form.get("role", "")
    password = request.form.get("password", "").strip()
    generated = not password
    password = password or people.generate_password()
    try:
        scope = people.checked_scope(request.form.getlist("scope"), role)
        user = accounts.create_user(db, request.form.get("username", ""), password, role, scope,
                                    display_name=request.form.get("display_name", "").strip(),
                                    actor=current_user().username)
    except Problem as problem:
        flash(problem_text(problem), "error")
        return _users_page(problem.status, draft=request.form)
    if generated:
        flash(_("User %(name)s created. Their password (shown once): %(password)s",
                name=user.username, password=password), "secret")
    else:
        flash(_("User %(name)s created.", name=user.username), "info")
    return redirect(url_for("admin_users.users"))


@bp.route("/places/local-levels.json")
@require("admin")
def local_levels():
    """Nepal's local levels by district, for the area picker (loaded when first needed)."""
    response = jsonify(people.local_levels(locale()))
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/users/<path:username>/access", methods=["POST"])
@require("admin")
def access(username: str):
    def change(db: Session, user: User, actor: str) -> str:
        people.set_access(db, user, request.form.get("role", ""), request.form.getlist("scope"),
                          actor)
        return _("Access of %(name)s changed.", name=username)

    return _change_user(username, change)


@bp.route("/users/<path:username>/active", methods=["POST"])
@require("admin")
def active(username: str):
    def change(db: Session, user: User, actor: str) -> str:
        people.set_active(db, user, request.form.get("active") == "1", actor)
        return (_("%(name)s is enabled.", name=username) if user.active
                else _("%(name)s is disabled and logged out.", name=username))

    return _change_user(username, change)


def _change_user(username: str, change: Callable[[Session, User, str], str]):
    """An admin's change to a web user: refused, the people page again with the reason; done,
    back to it saying what changed."""
    db = get_session()
    user = people.get_user(db, username)
    try:
        done = change(db, user, current_user().username)
    except Problem as problem:
        flash(problem_text(problem), "error")
        return _users_page(problem.status)
    flash(done, "info")
    return redirect(url_for("admin_users.users"))


@bp.route("/users/<path:username>/sign-out", methods=["POST"])
@require("admin")
def sign_out(username: str):
    db = get_session()
    user = people.get_user(db, username)
    web_sessions.end_all(db, user, actor=current_user().username)
    flash(_("%(name)s is signed out on every browser.", name=username), "info")
    return redirect(url_for("admin_users.users"))


def _app_users_page(status: int = 200, **extra):
    db = get_session()
    return render_template(
        "admin_app_users.html",
        app_users=accounts.list_app_users(db, include_revoked=True),
        forms=list(db.scalars(select(Form).order_by(Form.xml_form_id))),
        scope_choices=people.scope_choices(locale()), masked=accounts.masked, **extra), status


@bp.route("/app-users", methods=["GET", "POST"])
@require("admin")
def app_users():
    if request.method == "GET":
        return _app_users_page()
    try:
        app_user = accounts.create_app_user(get_session(), request.form.get("name", ""),
                                            request.form.getlist("forms"), current_user().username,
                                            scope=people.checked_area(request.form.getlist("scope")))
    except Problem as problem:
        flash(problem_text(problem), "error")
        return _app_users_page(problem.status, draft=request.form)
    return redirect(url_for("admin_users.app_user", app_user_id=app_user.id))


@bp.route("/app-users/<int:app_user_id>")
@require("admin")
def app_user(app_user_id: int):
    found = _active_app_user(app_user_id)
    return render_template("admin_app_user.html", app_user=found, url=_collect_url(found))


@bp.route("/app-users/<int:app_user_id>/qr.png")
@require("admin")
def app_user_qr(app_user_id: int):
    found = _active_app_user(app_user_id)
    png = qr.app_user_qr(_server_url(), found.token, f"Sangjog · {found.name}")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/app-users/<int:app_user_id>/forms", methods=["POST"])
@require("admin")
def app_user_forms(app_user_id: int):
    chosen = request.form.getlist("forms")

    def change(db: Session, found: AppUser, actor: str) -> str:
        accounts.set_app_user_forms(db, found, chosen, actor)
        return _("The forms of %(name)s are changed; its phone gets them at its next form list "
                 "refresh.", name=found.name)

    return _change_app_user(app_user_id, change, forms_draft={"id": app_user_id, "forms": chosen})


@bp.route("/app-users/<int:app_user_id>/scope", methods=["POST"])
@require("admin")
def app_user_scope(app_user_id: int):
    chosen = request.form.getlist("scope")

    def change(db: Session, found: AppUser, actor: str) -> str:
        accounts.set_app_user_scope(db, found, people.checked_area(chosen), actor)
        return _("The area of %(name)s is changed.", name=found.name)

    return _change_app_user(app_user_id, change, scope_draft={"id": app_user_id, "scope": chosen})


def _change_app_user(app_user_id: int, change: Callable[[Session, AppUser, str], str], **draft):
    """An admin's change to an active app user: refused, the app users page again with the
    reason and what was chosen (``draft``); done, back to it saying what changed."""
    found = _active_app_user(app_user_id)
    try:
        done = change(get_session(), found, current_user().username)
    except Problem as problem:
        flash(problem_text(problem), "error")
        return _app_users_page(problem.status, **draft)
    flash(done, "info")
    return redirect(url_for("admin_users.app_users"))


@bp.route("/app-users/<int:app_user_id>/revoke", methods=["POST"])
@require("admin")
def revoke(app_user_id: int):
    found = _active_app_user(app_user_id)
    accounts.revoke_app_user(get_session(), found.name, current_user().username)
    flash(_("%(name)s is revoked: that phone can no longer send or download forms.",
            name=found.name), "info")
    return redirect(url_for("admin_users.app_users"))


def _active_app_user(app_user_id: int) -> AppUser:
    found = get_session().get(AppUser, app_user_id)
    if found is None or found.revoked_at is not None:
        from pipeline import problems

        raise problems.not_found("An active app user with that id")
    return found


def _server_url() -> str:
    return (current_app.config.get("SERVER_URL") or request.host_url).rstrip("/")


def _collect_url(found: AppUser) -> str:
    return qr.collect_url(_server_url(), found.token)
