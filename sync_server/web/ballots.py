"""Workshop ballots on the web: each workshop's ranking (votes, competition ranks, ties, the
top five) and the ballots set aside with the reason, from the same tally as the workbook's
Ballot results sheet, the workshop report and ``sangjog ballots tally``; limited to the
reader's area like every other page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, flash, render_template, request
from flask_babel import gettext as _

from exports.period import Period
from exports.workshop_report import role_names
from pipeline import problems
from pipeline.domain import ballots as tallying
from pipeline.problems import Problem

from ..db import get_session
from . import current_scope, require
from .dashboard import home_country
from .i18n import locale

bp = Blueprint("ballots", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@dataclass(frozen=True)
class SetAside:
    ballot: tallying.Ballot
    role: str  # the voter's role in the reader's language
    reason: str


def chosen_period() -> Period | None:
    """The period asked for (by workshop and ballot date), or None for every workshop."""
    text = request.args.get("period", "").strip()
    if not text:
        return None
    try:
        return Period.parse(text, country=home_country())
    except Problem:
        flash(_("“%(text)s” is not a period (2026-Q3, 2026-07, 2026): showing every workshop.",
                text=text[:40]), "warning")
        return None


def set_aside(tally: tallying.WorkshopTally, roles: dict[str, str]) -> list[SetAside]:
    """The ballots that were not counted, each with why, in the reader's language."""
    out = [SetAside(b, roles.get(b.voter_role, b.voter_role),
                    _("Not eligible: this role does not vote.")) for b in tally.ineligible]
    out += [SetAside(later, roles.get(later.voter_role, later.voter_role),
                     _("A second ballot from the same voter: only the first one counts."))
            for later, _kept in tally.duplicates]
    out += [SetAside(b, roles.get(b.voter_role, b.voter_role),
                     _("More than %(num)s practices picked.", num=tallying.MAX_PICKS))
            for b in tally.spoiled]
    return sorted(out, key=lambda s: (s.ballot.submitted_at is None,
                                      s.ballot.submitted_at or 0, s.ballot.key))


def _page(upazila: str | None):
    period = chosen_period()
    lang = locale()
    tallies = tallying.tally(get_session(), upazila=upazila, scope=current_scope(),
                             since=period.start if period else None,
                             until=period.end if period else None)
    if upazila is not None:
        tallies = [t for t in tallies if t.upazila == upazila]
        if not tallies:  # outside the reader's area reads exactly like no workshop at all
            raise problems.not_found("That workshop")
    roles = role_names(get_session(), lang)
    shown = [(t, set_aside(t, roles)) for t in tallies]
    return render_template("ballots.html", workshops=shown, period=period, single=upazila,
                           lang=lang, top=tallying.TOP)


@bp.route("/ballots")
@require()
def index():
    return _page(None)


@bp.route("/ballots/<upazila>")
@require()
def workshop(upazila: str):
    if not (upazila.isascii() and upazila.isdigit() and len(upazila) <= 12):
        raise problems.not_found("That workshop")
    return _page(upazila)
