"""The start page: what arrived this period per form and upazila, each workshop's top five
practices, innovation projects behind schedule; and the project registry with progress."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select

from exports.period import Period
from pipeline.domain import ballots, inspections
from pipeline.models import Form
from pipeline.problems import Problem

from ..db import get_session
from . import current_scope, current_user, listing, require
from .i18n import locale

bp = Blueprint("dashboard", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def current_quarter(today: date | None = None) -> str:
    today = today or datetime.now(UTC).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def chosen_period() -> Period:
    text = request.args.get("period", "").strip() or current_quarter()
    try:
        return Period.parse(text)
    except Problem:
        return Period.parse(current_quarter())


@bp.route("/")
def home():
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("dashboard.overview"))


@bp.route("/dashboard")
@require()
def overview():
    db = get_session()
    scope = current_scope()
    period = chosen_period()
    start, end = period.bounds()
    conn = db.connection()
    counts = []  # (form, total, [(upazila, n), ...])
    for form in db.scalars(select(Form).order_by(Form.title)):
        table = listing.main_table(conn, form.xml_form_id)
        if table is None:
            counts.append((form, 0, []))
            continue
        where = [listing.scoping.where(table, scope),
                 table.c._submitted_at >= start, table.c._submitted_at < end]
        if "upazila" in table.c:
            per = list(conn.execute(
                select(table.c.upazila, func.count()).where(*where)
                .group_by(table.c.upazila).order_by(func.count().desc()).limit(12)))
        else:
            per = []
        total = conn.scalar(select(func.count()).select_from(table).where(*where)) or 0
        counts.append((form, int(total), per))
    tallies = [t for t in ballots.tally(db, since=period.start, until=period.end, scope=scope)
               if t.results]
    today = datetime.now(UTC).date()
    behind = inspections.behind_schedule(db, today, scope=scope)
    shown = [(b, [reason_text(code, b.status, today) or sentence for code, sentence in b.reasons])
             for b in behind[:50]]
    return render_template("dashboard.html", period=period, counts=counts, tallies=tallies,
                           behind=shown, behind_total=len(behind), lang=locale())


def reason_text(code: str, status: inspections.ProjectStatus, today: date) -> str | None:
    """Why a project is behind schedule, in the reader's language (None: a reason we do not
    know, shown as the pipeline wrote it)."""
    if code == "never_inspected" and status.started_on is not None:
        return _("Never inspected; started %(date)s, %(days)s days ago.",
                 date=format_date(status.started_on, "medium"),
                 days=format_decimal((today - status.started_on).days))
    if code == "no_recent_inspection" and status.last_inspected is not None:
        return _("Last inspected %(date)s, %(days)s days ago.",
                 date=format_date(status.last_inspected, "medium"),
                 days=format_decimal((today - status.last_inspected).days))
    if code == "progress_stalled" and status.previous is not None and status.latest is not None \
            and status.previous.progress is not None and status.latest.progress is not None:
        return _("Progress did not increase: %(before)s%% then %(after)s%%.",
                 before=format_decimal(status.previous.progress),
                 after=format_decimal(status.latest.progress))
    return None


@bp.route("/projects")
@require()
def projects():
    db = get_session()
    scope = current_scope()
    district = request.args.get("district", "").strip() or None
    statuses = inspections.registry(db, district=district, scope=scope)
    districts = sorted({s.district for s in inspections.registry(db, scope=scope)})
    return render_template("projects.html", statuses=statuses, districts=districts,
                           district=district or "", lang=locale())
