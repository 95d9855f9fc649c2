"""Admins' pages for forms and sync health: upload an XLSForm (errors shown by sheet and row,
then published as a new version), open / closing / closed, and what arrived, failed or was pulled."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from pipeline import forms as form_tools
from pipeline import problems
from pipeline.models import FORM_STATES, IS_PENDING, Form, PullRun, Source, Submission
from pipeline.problems import Problem

from ..db import get_session
from . import current_user, require

bp = Blueprint("admin", __name__, url_prefix="/admin")
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
