"""The start page: what arrived this period per form and upazila, each workshop's top five
practices, innovation projects behind schedule; and the project registry with progress."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, literal, select

from exports.period import Period, current_quarter
from pipeline.domain import ballots, followups, inspections
from pipeline.models import Form
from pipeline.problems import Problem

from ..db import get_session
from . import current_scope, current_user, listing, plans, require
from .answers import place_name
from .i18n import count, day, locale

bp = Blueprint("dashboard", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def home_country() -> str:
    """``np`` for a user whose areas are all in Nepal: their periods are Nepal's fiscal ones."""
    return "np" if current_scope().countries == {"np"} else ""


def chosen_period() -> Period:
    country = home_country()
    text = request.args.get("period", "").strip() or current_quarter(country=country)
    try:
        return Period.parse(text, country=country)
    except Problem:
        flash(_("“%(text)s” is not a period (2026-Q3, 2026-07, 2026): showing this quarter.",
                text=text[:40]), "warning")
        return Period.parse(current_quarter(country=country))


# What "needs my attention" counts, by role: reviewers, what is still to review (new and
# edited submissions); district officers, what a reviewer sent back (has issues).
ATTENTION = {"admin": ("received", "edited"), "supervisor": ("received", "edited"),
             "district_officer": ("has_issues",)}


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
    lang = locale()
    conn = db.connection()
    counts = []  # (form, total, [(upazila, n), ...])
    attention = []  # (form, review state, n)
    wanted = ATTENTION.get(current_user().role, ())
    for form in db.scalars(select(Form).order_by(Form.title)):
        table = listing.main_table(conn, form.xml_form_id)
        if table is None:
            counts.append((form, 0, []))
            continue
        if wanted:
            attention += [(form, state, int(n)) for state, n in conn.execute(
                select(table.c._review_state, func.count())
                .where(listing.scoping.where(table, scope), table.c._review_state.in_(wanted))
                .group_by(table.c._review_state)) if n]
        where = [listing.scoping.where(table, scope),
                 table.c._submitted_at >= start, table.c._submitted_at < end]
        if "upazila" in table.c:
            # Nepal has no upazilas: its rows count under their local level (palika).
            nepal = table.c.local_level if "local_level" in table.c else None
            place = (func.coalesce(table.c.upazila, nepal) if nepal is not None
                     else table.c.upazila)
            kind = (case((table.c.upazila.is_(None) & nepal.is_not(None), "local_level"),
                         else_="upazila") if nepal is not None else literal("upazila"))
            per = [(name, n) for name, n in (
                (place_name(str(k), code, lang) if code else None, n)
                for code, k, n in conn.execute(
                    select(place.label("place"), kind.label("kind"), func.count()).where(*where)
                    .group_by(place, kind).order_by(func.count().desc()).limit(12)))]
        else:
            per = []
        total = conn.scalar(select(func.count()).select_from(table).where(*where)) or 0
        counts.append((form, int(total), per))
    tallies = [t for t in ballots.tally(db, since=period.start, until=period.end, scope=scope)
               if t.results]
    today = followups.today(scope)
    behind = inspections.behind_schedule(db, today, scope=scope)
    shown = [(b, [reason_text(code, b.status, today) or sentence for code, sentence in b.reasons])
             for b in behind[:50]]
    tracked = plans.tracked()
    return render_template("dashboard.html", period=period, counts=counts, tallies=tallies,
                           behind=shown, behind_total=len(behind), lang=lang,
                           plans_tracked=len(tracked), attention=attention,
                           attention_total=sum(n for _f, _s, n in attention),
                           plans_overdue=followups.overdue_by_district(tracked))


def reason_text(code: str, status: inspections.ProjectStatus, today: date) -> str | None:
    """Why a project is behind schedule, in the reader's language (None: a reason we do not
    know, shown as the pipeline wrote it)."""
    if code == "never_inspected" and status.started_on is not None:
        return _("Never inspected; started %(date)s, %(days)s days ago.",
                 date=day(status.started_on), days=count((today - status.started_on).days))
    if code == "no_recent_inspection" and status.last_inspected is not None:
        return _("Last inspected %(date)s, %(days)s days ago.",
                 date=day(status.last_inspected),
                 days=count((today - status.last_inspected).days))
    if code == "progress_stalled" and status.previous is not None and status.latest is not None \
            and status.previous.progress is not None and status.latest.progress is not None:
        return _("Progress did not increase: %(before)s%% then %(after)s%%.",
                 before=count(status.previous.progress), after=count(status.latest.progress))
    return None


@bp.route("/projects")
@require()
def projects():
    db = get_session()
    scope = current_scope()
    district = request.args.get("district", "").strip() or None
    statuses = inspections.registry(db, district=district, scope=scope)
    districts = sorted({s.district for s in inspections.registry(db, scope=scope)})
    candidates = [c for c in inspections.candidates(db, scope=scope)
                  if district is None or c.district == district]
    return render_template("projects.html", statuses=statuses, districts=districts,
                           district=district or "", lang=locale(), candidates=candidates,
                           is_admin=current_user().role == "admin")


@bp.route("/projects/candidates/<int:submission_id>", methods=["POST"])
@require("admin")
def add_candidate(submission_id: int):
    """One click: the project an inspection described goes into the registry, and its
    inspections count toward its progress from now on."""
    project = inspections.add_candidate(get_session(), submission_id, current_user().username,
                                        scope=current_scope())
    flash(_("%(title)s is now in the registry as %(code)s.", title=project.title_en,
            code=project.code), "info")
    return redirect(url_for("dashboard.projects"))
