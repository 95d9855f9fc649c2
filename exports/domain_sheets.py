"""The programme sheets of the workbook: Ballot results, Action plans and follow-ups, and
Innovation projects (the registry with each project's inspections in the period).

The numbers come from ``pipeline.domain`` (the same tally, plan links and registry the web pages
show); this module only lays them out, in the chosen language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from pipeline import nepal_calendar
from pipeline import scope as scopes
from pipeline.domain import ballots, followups, inspections

from . import geo, labels, query, words
from .period import Period
from .sheets import Formats, WrittenTable, print_setup, sheet_name


def _t(key: str, lang: str) -> str:
    return words.word(f"ballot.{key}", lang)


@dataclass
class Context:
    session: Session
    workbook: Any
    formats: Formats
    taken: set[str]
    lang: str
    scope: Any  # list of scope codes
    period: Period | None
    selections: dict[str, query.FormSelection] = field(default_factory=dict)
    written: list[WrittenTable] = field(default_factory=list)
    as_of: date = field(default_factory=followups.today)  # the tracker's "today"
    _tracked: list[followups.Tracked] | None = None

    @property
    def tracked(self) -> list[followups.Tracked]:
        """Every plan in the workbook's area on the follow-up tracker on ``as_of``: the same
        function, area rules and order as the /plans page."""
        if self._tracked is None:
            self._tracked = followups.tracker(self.session, self.as_of, scope=self.user_scope)
        return self._tracked

    @property
    def user_scope(self) -> scopes.Scope:
        return scopes.parse(list(self.scope))

    @property
    def since(self) -> date | None:
        return self.period.start if self.period else None

    @property
    def until(self) -> date | None:
        return self.period.end if self.period else None


def write_all(ctx: Context) -> None:
    if "hl_ballot" in ctx.selections or "hl_nomination" in ctx.selections:
        write_ballot_results(ctx)
    if "hl_action_plan" in ctx.selections:
        write_action_plans(ctx)
    if "innovation_inspection" in ctx.selections:
        write_projects(ctx)


def _header(ws: Any, fmt: Formats, row: int, headers: list[str], widths: list[float] | None = None) -> None:
    for col, text in enumerate(headers):
        ws.write_string(row, col, text, fmt.header)
        if widths:
            ws.set_column(col, col, widths[col])


def _cell(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, date):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


# ---- Ballot results ----------------------------------------------------------------------

def write_ballot_results(ctx: Context) -> None:
    lang, fmt = ctx.lang, ctx.formats
    tallies = ballots.tally(ctx.session, since=ctx.since, until=ctx.until, scope=ctx.user_scope)
    ws = ctx.workbook.add_worksheet(sheet_name("Ballot results", ctx.taken))
    print_setup(ws)
    upazilas = geo.column_names("upazila", lang)
    unions = geo.column_names("union", lang)
    yes = words.word("yes_no.yes", lang)
    # Per workshop: how many ballots counted and which were set aside.
    headers = [_t(k, lang) for k in ("upazila", "ballots", "ineligible", "duplicates", "spoiled", "tie_cutoff")]
    _header(ws, fmt, 0, headers, [28, 16, 16, 16, 18, 16])
    row = 1
    for t in tallies:
        values = [upazilas.get(t.upazila, t.upazila), t.ballots_counted, len(t.ineligible),
                  len(t.duplicates), len(t.spoiled), yes if t.tie_at_cutoff else ""]
        for col, value in enumerate(values):
            _cell(ws, row, col, value, fmt.warning if t.tie_at_cutoff and col == 5 else None)
        row += 1
    row += 1
    # Per nominated practice: votes, rank, top five with indicators, ties marked.
    headers = [_t(k, lang) for k in ("upazila", "union", "practice", "indicators", "votes", "rank",
                                    "top_five", "tied", "first")]
    _header(ws, fmt, row, headers)
    ws.set_column(2, 3, 40)
    row += 1
    chart_rows: list[tuple[str, int, int]] = []
    for t in tallies:
        first = row
        for r in t.results:
            n = r.nomination
            style = fmt.highlight if r.top_five else None
            values = [upazilas.get(t.upazila, t.upazila), unions.get(n.union, n.union),
                      n.practice_title, "; ".join(n.indicators), r.votes, r.rank,
                      yes if r.top_five else "", yes if r.tied else "", r.first_preferences]
            for col, value in enumerate(values):
                _cell(ws, row, col, value, fmt.warning if col == 7 and r.tied else style)
            row += 1
        if row > first:
            chart_rows.append((upazilas.get(t.upazila, t.upazila), first, row - 1))
    # One bar chart of votes per workshop, beside the table (at most 60 to keep the file light).
    name = ws.get_name()
    for i, (title, first, last) in enumerate(chart_rows[:60]):
        chart = ctx.workbook.add_chart({"type": "bar"})
        chart.add_series({"name": _t("votes", lang), "categories": [name, first, 2, last, 2],
                          "values": [name, first, 4, last, 4], "data_labels": {"value": True}})
        chart.set_title({"name": title})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})  # best practice on top, as in the table
        chart.set_size({"width": 560, "height": max(200, 40 + 28 * (last - first + 1))})
        ws.insert_chart(1 + 18 * i, 10, chart)


# ---- Action plans and follow-ups ---------------------------------------------------------

PLAN_COLUMNS = ("participant", "position", "district", "area", "union", "date_prepared",
                "date_prepared_bs", "practices", "schedule", "plan_status", "period_type", "covers",
                "period_status", "period", "followup_date", "followup_date_bs", "officer",
                "linked_by", "results", "plan_key", "followup_key")
PLAN_WIDTHS = [24, 18, 14, 22, 22, 12, 12, 40, 18, 16, 14, 12, 16, 14, 12, 12, 20, 18, 50, 40, 40]


def plan_headers(lang: str, as_of: date) -> list[str]:
    """The sheet's headers; the two status columns name the day they are true on."""
    return [words.word(f"plan.{key}", lang).format(day=as_of.isoformat()) for key in PLAN_COLUMNS]


def write_action_plans(ctx: Context) -> None:
    """One row per plan and period of its follow-up schedule (as the follow-up tracker page
    computes it, on the export date): a reported period has a row per follow-up covering it, a
    due or overdue one a row without follow-up columns; a follow-up outside the schedule's
    periods (dated before the plan, say) has a row of its own without a period status. With a
    period, only the schedule's periods that overlap it and the follow-ups dated in it."""
    lang, fmt = ctx.lang, ctx.formats
    ws = ctx.workbook.add_worksheet(sheet_name("Action plans and follow-ups", ctx.taken))
    headers = plan_headers(lang, ctx.as_of)
    _header(ws, fmt, 0, headers, PLAN_WIDTHS)
    print_setup(ws)
    period_types, linked_by = words.group("period_type", lang), words.group("linked_by", lang)
    statuses = words.group("status", lang)
    districts = geo.column_names("district", lang)
    areas = {**geo.column_names("upazila", lang), **geo.column_names("local_level", lang)}
    unions = geo.column_names("union", lang)
    status_columns = (PLAN_COLUMNS.index("plan_status"), PLAN_COLUMNS.index("period_status"))
    r = 1
    for tracked in ctx.tracked:
        p = tracked.entry.plan
        rows = _plan_rows(tracked, ctx.period)
        prepared_in = ctx.period is None or (p.date_prepared and ctx.period.contains(p.date_prepared))
        if not rows and not prepared_in:
            continue
        plan_cells = [p.participant_name, p.position, districts.get(p.district, p.district),
                      areas.get(p.upazila or p.local_level, p.upazila or p.local_level),
                      unions.get(p.union, p.union), p.date_prepared,
                      _bs(p.date_prepared, p.country), "; ".join(p.practices),
                      ", ".join(period_types.get(t, t) for t in tracked.schedule),
                      statuses[tracked.status]]
        for period, f in rows or [(None, None)]:
            cells = list(plan_cells)
            period_type = period.period_type if period else f.period_type if f else ""
            cells += [period_types.get(period_type, period_type),
                      period.label if period else "", statuses[period.status] if period else ""]
            if f is not None:
                how = tracked.entry.linked_by.get(f.key, "")
                cells += [followups.period_label(f) or "", f.followup_date,
                          _bs(f.followup_date, f.country), f.officer_name,
                          linked_by.get(how, how),
                          "; ".join(f"{x.practice}: {x.result}" for x in f.results), p.key, f.key]
            else:
                cells += [""] * 6 + [p.key, ""]
            row_status = (tracked.status, period.status if period else "")
            for col, value in enumerate(cells):
                style = fmt.date if isinstance(value, date) else None
                if col in status_columns:
                    style = fmt.status.get(row_status[status_columns.index(col)])
                _cell(ws, r, col, value, style)
            r += 1
    ws.autofilter(0, 0, max(r - 1, 1), len(headers) - 1)


def _plan_rows(tracked: followups.Tracked, period: Period | None
               ) -> list[tuple[followups.Period | None, followups.Followup | None]]:
    """(schedule period, follow-up) pairs of one plan in the workbook's period, by date."""
    rows: list[tuple[Any, tuple[followups.Period | None, followups.Followup | None]]] = []
    placed = set()
    for per in tracked.periods:
        placed |= {f.key for f in per.followups}
        if period is not None and (per.end < period.start or per.start > period.end):
            continue
        order = (per.start, followups.PERIOD_TYPES.index(per.period_type))
        rows += [(order, (per, f)) for f in per.followups or (None,)]
    for f in tracked.entry.followups:
        day = f.reference_date
        if f.key in placed or (period is not None and not (day and period.contains(day))):
            continue
        rows.append(((day or date.min, len(followups.PERIOD_TYPES)), (None, f)))
    rows.sort(key=lambda item: item[0])
    return [pair for _, pair in rows]


def _bs(day: date | None, country: str) -> str:
    """A Nepal plan's or follow-up's date in Bikram Sambat (``2083/07/03``), else empty."""
    if day is None or country != "np":
        return ""
    try:
        return nepal_calendar.written(day)
    except ValueError:  # outside the BS table
        return ""


# ---- Innovation projects -----------------------------------------------------------------

PROJECT_COLUMNS = ("code", "title", "district", "upazila", "office", "category", "started",
                   "inspections", "last_inspected", "progress", "stage", "recommendation",
                   "time_before", "time_after", "cost_before", "cost_after", "visits_before",
                   "visits_after", "in_period", "received", "approved", "has_issues", "rejected",
                   "latest", "latest_state")


def project_headers(lang: str) -> list[str]:
    states = labels.review_state_names(lang)
    return [states[key] if key in states else words.word(f"project.{key}", lang)
            for key in PROJECT_COLUMNS]


def _choice_names(ctx: Context, field_name: str) -> dict[str, str]:
    sel = ctx.selections["innovation_inspection"]
    try:
        spec = sel.schema.main.column(field_name)
    except KeyError:
        return {}
    return {v: labels.pick(names, ctx.lang, v) for v, names in (spec.choices or {}).items()}


def write_projects(ctx: Context) -> None:
    lang, fmt = ctx.lang, ctx.formats
    statuses = inspections.registry(ctx.session, scope=ctx.user_scope)  # streamed
    ws = ctx.workbook.add_worksheet(sheet_name("Innovation projects", ctx.taken))
    headers = project_headers(lang)
    _header(ws, fmt, 0, headers, [16, 40, 14, 16, 20, 14, 12, 11, 13, 11, 18, 22] + [11] * 11 + [14, 14])
    print_setup(ws)
    ws.freeze_panes(1, 2)  # the code and the project's name stay in view
    categories = words.group("category", lang)
    districts, upazilas = geo.column_names("district", lang), geo.column_names("upazila", lang)
    stages, recommendations = _choice_names(ctx, "stage"), _choice_names(ctx, "recommendation")
    in_period = _period_inspections(ctx)
    state_names = labels.review_state_names(lang)
    r = 1
    for s in statuses:
        seen = in_period.get(s.code, {})
        latest_day, latest_state = seen.get("latest", (None, ""))
        title = s.title_bn if lang == "bn" and s.title_bn else s.title_en
        cells = [s.code, title, districts.get(s.district, s.district),
                 upazilas.get(s.upazila or "", s.upazila or ""), s.office,
                 categories.get(s.category, s.category), s.started_on,
                 s.inspections, s.last_inspected, s.progress,
                 stages.get(s.stage or "", s.stage or ""),
                 recommendations.get(s.recommendation or "", s.recommendation or ""),
                 *(s.tcv(name) for name in inspections.TCV_FIELDS),
                 sum(seen.get(state, 0) for state in REVIEW_COLUMNS), *(seen.get(state, 0) for state in REVIEW_COLUMNS),
                 latest_day, state_names.get(latest_state, latest_state)]
        for col, value in enumerate(cells):
            _cell(ws, r, col, value, fmt.date if isinstance(value, date) else None)
        r += 1
    ws.autofilter(0, 0, max(r - 1, 1), len(headers) - 1)


# Review states counted per project for the period; "edited" counts as received.
REVIEW_COLUMNS = ("received", "approved", "has_issues", "rejected")


def _period_inspections(ctx: Context) -> dict[str, dict[str, Any]]:
    """Per project: the period's inspections (the workbook's selection) by review state, and the
    latest one's visit date and state. Reads three columns, in chunks."""
    sel = ctx.selections["innovation_inspection"]
    found: dict[str, dict[str, Any]] = {}
    if not {"project", "visit_date"} <= set(sel.main.c.keys()):
        return found
    wanted = ["project", "visit_date", "_review_state"]
    for chunk in query.column_chunks(ctx.session, sel, columns=wanted):
        for project, day, state in zip(*(chunk[c] for c in wanted), strict=True):
            entry = found.setdefault(project or "", {})
            state = "received" if state in (None, "edited") else state
            entry[state] = entry.get(state, 0) + 1
            if day is not None and (entry.get("latest") is None or day >= entry["latest"][0]):
                entry["latest"] = (day, state)
    return found
