"""Admins' pages for forms and sync health: upload an XLSForm (errors shown by sheet and row,
then published as a new version), open / closing / closed, and what arrived, failed or was pulled
(supervisors see sync health for their areas: what arrived, and what failed, opened, retried or
dismissed)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline import access, loader, problems
from pipeline import forms as form_tools
from pipeline import scope as scoping
from pipeline.connectors import sources as configured
from pipeline.models import FORM_STATES, IS_PENDING, AppUser, Form, PullRun, Source, Submission
from pipeline.problems import Problem

from ..db import get_session
from . import current_user, listing, require

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)
MAX_FORM_BYTES = 20 * 1024 * 1024


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _forms() -> list[tuple[Form, int]]:
    db = get_session()
    counts = dict(db.execute(select(Submission.form_id, func.count())
                             .where(Submission.current.is_(True)).group_by(Submission.form_id)).all())
    return [(f, counts.get(f.id, 0)) for f in db.scalars(select(Form).order_by(Form.xml_form_id))]


@bp.route("/forms", methods=["GET", "POST"])
@require("admin")
def forms():
    if request.method == "GET":
        return render_template("admin_forms.html", forms=_forms(), states=FORM_STATES)
    upload = request.files.get("xlsform")
    if upload is None or not upload.filename:
        flash(_("Choose an XLSForm file to upload."), "error")
        return render_template("admin_forms.html", forms=_forms(), states=FORM_STATES), 400
    content = upload.read(MAX_FORM_BYTES + 1)
    media = {f.filename: f.read(MAX_FORM_BYTES) for f in request.files.getlist("media")
             if f.filename}
    try:
        if len(content) > MAX_FORM_BYTES:
            raise problems.form_file_too_large(_("The form file is larger than 20 MB."))
        built = form_tools.convert(content, upload.filename)
        version = form_tools.publish(get_session(), built, content, media, current_user().username)
    except Problem as problem:
        errors = problem.details.get("errors") or []
        return render_template("admin_forms.html", forms=_forms(), states=FORM_STATES,
                               problem=problem, errors=errors,
                               filename=upload.filename), problem.status
    missing = sorted(set(built.media) - set(media))
    flash(_("Published %(form)s version %(version)s.", form=built.form_id,
            version=version.version), "info")
    for warning in built.warnings:
        flash(warning, "warning")
    if missing:
        flash(_("Media files not uploaded (generated ones are fine): %(names)s",
                names=", ".join(missing)), "warning")
    return redirect(url_for("admin.forms"))


@bp.route("/forms/<form_id>/state", methods=["POST"])
@require("admin")
def form_state(form_id: str):
    state = request.form.get("state", "")
    form_tools.set_state(get_session(), form_id, state, current_user().username)
    flash(_("%(form)s is now %(state)s.", form=form_id, state=state), "info")
    return redirect(url_for("admin.forms"))


# Who may watch sync health: admins everything; supervisors the submissions of their areas
# (failed ones by their raw XML's location, ``access.may_see_stored``), and retry or dismiss
# those. District officers only read the warehouse.
HEALTH_ROLES = ("admin", "supervisor")
RECENT, FAILED_SHOWN, FAILED_SCANNED = 20, 50, 5000


def _reader() -> access.Principal:
    return access.web_user(current_user())


def _failed(db: Session, who: access.Principal) -> tuple[list[Submission], int]:
    """The newest failed submissions ``who`` may see, and how many there are (for a scoped
    reader, counted among the newest ``FAILED_SCANNED``: their location is in the raw XML)."""
    query = (select(Submission).where(Submission.parse_status == "failed")
             .order_by(Submission.received_at.desc(), Submission.id.desc()))
    if who.scope.everything:
        count = db.scalar(select(func.count()).select_from(Submission)
                          .where(Submission.parse_status == "failed")) or 0
        return list(db.scalars(query.limit(FAILED_SHOWN))), count
    seen = [s for s in db.scalars(query.limit(FAILED_SCANNED))
            if access.may_see_stored(who, s.xml)]
    return seen[:FAILED_SHOWN], len(seen)


def _recent(db: Session, who: access.Principal) -> list[Submission]:
    """The last submissions received, newest first by the time they arrived: everything for
    admins, for a scoped reader those loaded into the warehouse inside their areas."""
    newest = select(Submission).order_by(Submission.received_at.desc(), Submission.id.desc())
    if who.scope.everything:
        return list(db.scalars(newest.limit(RECENT)))
    conn = db.connection()
    found: list[tuple[Any, int]] = []
    for form_id in db.scalars(select(Form.xml_form_id)):
        table = listing.main_table(conn, form_id)
        if table is None:
            continue
        found += conn.execute(select(table.c._submitted_at, table.c._submission_id)
                              .where(scoping.where(table, who.scope))
                              .order_by(table.c._submitted_at.desc()).limit(RECENT)).all()
    ids = [i for _at, i in sorted(found, key=lambda r: (r[0] is not None, r[0], r[1]),
                                  reverse=True)[:RECENT]]
    return list(db.scalars(newest.where(Submission.id.in_(ids)))) if ids else []


def _last_seen(db: Session) -> tuple[list[AppUser], list[Any]]:
    """App users by when their phone was last heard from, and each device (the deviceID its
    submissions carry) by its last submission."""
    app_users = list(db.scalars(select(AppUser).where(AppUser.revoked_at.is_(None))
                                .order_by(AppUser.last_seen_at.desc().nulls_last(),
                                          AppUser.name)))
    devices = db.execute(
        select(Submission.device_id, func.max(Submission.submitter).label("submitter"),
               func.max(Submission.received_at).label("last"), func.count().label("n"))
        .where(Submission.device_id.is_not(None), Submission.device_id != "")
        .group_by(Submission.device_id).order_by(func.max(Submission.received_at).desc())
        .limit(50)).all()
    return app_users, list(devices)


@bp.route("/health")
@require(*HEALTH_ROLES)
def health():
    db = get_session()
    who = _reader()
    admin = who.role == "admin"
    recent = _recent(db, who)
    failures, failure_count = _failed(db, who)
    if who.scope.everything:
        last_received = db.scalar(select(func.max(Submission.received_at)))
    else:
        last_received = recent[0].received_at if recent else None
    context = {"recent": recent, "failures": failures, "failure_count": failure_count,
               "last_received": last_received, "admin": admin}
    if admin:
        context["pending"] = db.scalar(select(func.count()).select_from(Submission)
                                       .where(IS_PENDING)) or 0
        sources = list(db.scalars(select(Source).order_by(Source.name)))
        context.update(
            sources=sources,
            last_runs={s.id: db.scalar(select(PullRun).where(PullRun.source_id == s.id)
                                       .order_by(PullRun.id.desc()).limit(1)) for s in sources},
            runs=list(db.scalars(select(PullRun).order_by(PullRun.id.desc()).limit(20))))
        context["app_users"], context["devices"] = _last_seen(db)
    return render_template("admin_health.html", **context)


def _stored(submission_id: int) -> Submission:
    """A stored submission the reader may see by its raw XML's location, or 404 (outside
    their areas it is as if it did not exist)."""
    sub = get_session().get(Submission, submission_id)
    if sub is None or not access.may_see_stored(_reader(), sub.xml):
        raise problems.not_found(f"Submission {submission_id}")
    return sub


@bp.route("/health/submissions/<int:submission_id>")
@require(*HEALTH_ROLES)
def stored(submission_id: int):
    """One stored submission as it arrived: the reason it did not load, its raw XML and the
    files received with it; retry and dismiss."""
    sub = _stored(submission_id)
    return render_template("admin_stored.html", sub=sub,
                           xml=sub.xml.decode("utf-8", errors="replace"))


@bp.route("/health/submissions/<int:submission_id>/retry", methods=["POST"])
@require(*HEALTH_ROLES)
def retry(submission_id: int):
    sub = _stored(submission_id)
    if sub.parse_status == "ok":
        return redirect(url_for("review.submission", submission_id=sub.id))
    loader.retry(get_session(), [sub.id], actor=current_user().username)
    db = get_session()
    db.expire_all()
    sub = db.get(Submission, submission_id)
    if sub.parse_status == "ok":
        flash(_("Submission %(id)s loaded.", id=sub.id), "info")
        return redirect(url_for("review.submission", submission_id=sub.id))
    flash(_("Submission %(id)s still does not load: %(reason)s", id=sub.id,
            reason=sub.parse_error or sub.parse_status), "error")
    return redirect(url_for("admin.stored", submission_id=sub.id))


@bp.route("/health/submissions/<int:submission_id>/dismiss", methods=["POST"])
@require(*HEALTH_ROLES)
def dismiss(submission_id: int):
    sub = _stored(submission_id)
    loader.dismiss(get_session(), sub.instance_id, actor=current_user().username)
    flash(_("Submission %(id)s dismissed: pulls no longer retry it.", id=sub.id), "info")
    return redirect(url_for("admin.health"))


@bp.route("/sources/<int:source_id>/pull", methods=["POST"])
@require("admin")
def pull_now(source_id: int):
    """Start a pull of one source in the background; the page shows its run when it ends. The
    source's claim (``runs``) keeps a second pull from running beside one already going."""
    source = get_session().get(Source, source_id)
    if source is None:
        abort(404)
    if source.pull_run_id is not None:
        flash(_("A pull of %(source)s is already running.", source=source.name), "warning")
        return redirect(url_for("admin.health"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_pull_in_background, args=(app, source.id),
                     name=f"pull-{source.name}", daemon=True).start()
    flash(_("Pulling %(source)s in the background: reload this page to see the run.",
            source=source.name), "info")
    return redirect(url_for("admin.health"))


def _pull_in_background(app: Flask, source_id: int) -> None:
    with app.app_context():
        session = app.extensions["sessions"]()
        try:
            source = session.get(Source, source_id)
            if source is not None:
                configured.pull(session, app.extensions["blobs"], source)
        except Problem as problem:  # another pull took the source first: that run shows
            log.info("pull of source %s not started: %s", source_id, problem.message)
        except Exception:  # noqa: BLE001 - a background thread: logged, the run says failed
            log.exception("pull of source %s failed", source_id)
        finally:
            session.close()
