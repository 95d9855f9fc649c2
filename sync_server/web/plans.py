"""The follow-up tracker: every Form 1 action plan in the reader's area with its follow-up
schedule (Form 2's reporting choice) and, per period, whether it was reported, is due or is
overdue; links to the plan's submission and to each follow-up."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, Flask, render_template, request

from pipeline.domain import followups

from ..db import get_session
from . import current_scope, require
from .i18n import locale

bp = Blueprint("plans", __name__)
PAGE = 200  # plans a page shows at most (the filters narrow the rest)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def tracked(district: str | None = None) -> list[followups.Tracked]:
    """Every plan the reader may see (in ``district`` if given) on the tracker."""
    scope = current_scope()
    return followups.tracker(get_session(), followups.today(scope), scope=scope,
                             where={"district": district})


@bp.route("/plans")
@require()
def page():
    district = request.args.get("district", "").strip() or None
    status = request.args.get("status", "").strip()
    status = status if status in followups.STATUSES else ""
    wanted = request.args.get("plan", "").strip()
    everything = tracked()
    districts = sorted({t.entry.plan.district for t in everything if t.entry.plan.district})
    rows = [t for t in everything
            if (district is None or t.entry.plan.district == district)
            and (not status or t.status == status)
            and (not wanted or t.entry.plan.key == wanted)]
    totals = Counter(t.status for t in rows)
    return render_template("plans.html", rows=rows[:PAGE], total=len(rows), totals=totals,
                           districts=districts, district=district or "", status=status,
                           statuses=followups.STATUSES, plan=wanted, lang=locale(),
                           grace=followups.GRACE_DAYS)
