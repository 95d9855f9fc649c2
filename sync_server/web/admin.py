"""Admins' pages for forms and sync health: upload an XLSForm (errors shown by sheet and row,
then published as a new version), open / closing / closed, and what arrived, failed or was pulled."""

from __future__ import annotations

import logging
import threading

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

from pipeline import forms as form_tools
from pipeline import problems
from pipeline.connectors import sources as configured
from pipeline.models import FORM_STATES, IS_PENDING, Form, PullRun, Source, Submission
from pipeline.problems import Problem

from ..db import get_session
from . import current_user, require

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


@bp.route("/health")
@require("admin")
def health():
    db = get_session()
    recent = list(db.scalars(select(Submission).order_by(Submission.id.desc()).limit(20)))
    failures = list(db.scalars(select(Submission).where(Submission.parse_status == "failed")
                               .order_by(Submission.id.desc()).limit(50)))
    failure_count = db.scalar(select(func.count()).select_from(Submission)
                              .where(Submission.parse_status == "failed")) or 0
    pending = db.scalar(select(func.count()).select_from(Submission)
                        .where(IS_PENDING)) or 0
    sources = list(db.scalars(select(Source).order_by(Source.name)))
    last_runs = {}
    for source in sources:
        last_runs[source.id] = db.scalar(select(PullRun).where(PullRun.source_id == source.id)
                                         .order_by(PullRun.id.desc()).limit(1))
    runs = list(db.scalars(select(PullRun).order_by(PullRun.id.desc()).limit(20)))
    return render_template("admin_health.html", recent=recent, failures=failures,
                           failure_count=failure_count, pending=pending, sources=sources,
                           last_runs=last_runs, runs=runs)


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
