"""Which Form 1 action plans have a Form 2 follow-up, in each quarter, half-year and year.

A follow-up (``hl_followup``) names the plan it follows in ``action_plan`` (the Form 1 key,
chosen from ``action_plans.csv``); its ``results`` are the rows whose practice was tried
(``tried`` is not ``no``). When that field is empty it is matched by participant name
(normalised as for ballots) and local government (union in Bangladesh, local level in Nepal);
among several such plans the one prepared on the follow-up's ``plan_date`` wins, otherwise the
latest prepared on or before the follow-up. A follow-up belongs to the period its
``period_start`` falls in (``period_end``, then ``followup_date``, when that is empty). Periods
are calendar quarters, halves and years, or fiscal ones with ``year_start_month`` (7 = July);
a Nepal follow-up's are Nepal's fiscal periods (``2083/84-Q2``, ``2083/84-H1``, ``2083/84``:
the year from 1 Shrawan, as the handbook's त्रैमासिक, अर्धवार्षिक and वार्षिक reports count).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from .. import nepal_calendar
from ..scope import Scope
from . import places, tables
from .ballots import normalise_name

PERIOD_TYPES = ("quarterly", "half_yearly", "annual")


@dataclass(frozen=True)
class Plan:
    key: str
    participant_name: str
    position: str = ""
    country: str = ""
    division: str = ""
    district: str = ""
    upazila: str = ""
    union: str = ""
    province: str = ""
    local_level: str = ""
    date_prepared: date | None = None
    practices: tuple[str, ...] = ()
    submission_id: int | None = None  # the current version's submission (for links)

    @property
    def local_government(self) -> str:
        """The union / pourashava code in Bangladesh, the local level code in Nepal."""
        return self.local_level if self.country == "np" or not self.union else self.union


@dataclass(frozen=True)
class Result:
    practice: str
    result: str
    verification: str


@dataclass(frozen=True)
class Followup:
    key: str
    action_plan: str  # as sent; may be empty
    participant_name: str
    local_government: str
    period_type: str
    period_start: date | None = None
    period_end: date | None = None
    followup_date: date | None = None
    plan_date: date | None = None
    officer_name: str = ""
    results: tuple[Result, ...] = ()
    country: str = ""  # "np": periods are Nepal's fiscal ones
    submission_id: int | None = None

    @property
    def reference_date(self) -> date | None:
        return self.period_start or self.period_end or self.followup_date


@dataclass
class PlanFollowups:
    plan: Plan
    followups: list[Followup] = field(default_factory=list)  # by reference date
    linked_by: dict[str, str] = field(default_factory=dict)  # follow-up key -> "key" | "name"

    def of_type(self, period_type: str) -> list[Followup]:
        return [f for f in self.followups if f.period_type == period_type]

    def in_period(self, label: str, year_start_month: int = 1) -> list[Followup]:
        """Follow-ups whose period is ``label`` ("2026 Q1", "2026 H2", "2026")."""
        return [f for f in self.followups if period_label(f, year_start_month) == label]


NEPAL_KINDS = {"quarterly": "quarter", "half_yearly": "half", "annual": "year"}


def period_label(f: Followup, year_start_month: int = 1) -> str | None:
    """"2026 Q1" / "2026 H2" / "2026" (a fiscal year is named by the year it starts in); for
    Nepal "2083/84-Q2" / "2083/84-H1" / "2083/84" (its fiscal year, whatever the start month)."""
    day = f.reference_date
    if day is None or f.period_type not in PERIOD_TYPES:
        return None
    if f.country == "np":
        try:
            return nepal_calendar.fiscal_label(day, NEPAL_KINDS[f.period_type])
        except ValueError:  # outside the Bikram Sambat table
            return None
    months_in = (day.month - year_start_month) % 12
    year = day.year if day.month >= year_start_month else day.year - 1
    if f.period_type == "quarterly":
        return f"{year} Q{months_in // 3 + 1}"
    if f.period_type == "half_yearly":
        return f"{year} H{months_in // 6 + 1}"
    return str(year)


def covering(period_type: str, day: date, year_start_month: int = 1) -> str | None:
    """The label of the ``period_type`` period that ``day`` falls in."""
    return period_label(Followup("", "", "", "", period_type, period_start=day), year_start_month)


def bounds(label: str, year_start_month: int = 1) -> tuple[date, date]:
    """First and last day of the period "2026 Q4", "2026 H2" or "2026"."""
    year_text, _, part = label.partition(" ")
    months = {"Q": 3, "H": 6}.get(part[:1], 12)
    index = int(part[1:]) - 1 if part else 0
    first = (year_start_month - 1) + index * months  # months after January of ``year``
    start = date(int(year_text) + first // 12, first % 12 + 1, 1)
    after = first + months
    return start, date(int(year_text) + after // 12, after % 12 + 1, 1) - timedelta(days=1)


def _next_label(label: str, period_type: str, year_start_month: int) -> str:
    return covering(period_type, bounds(label, year_start_month)[1] + timedelta(days=1),
                    year_start_month) or ""


# ---- the follow-up schedule ----------------------------------------------------------------

GRACE_DAYS = 30  # a period's report is due until this many days after it ends, then overdue
STATUSES = ("overdue", "due", "reported")  # a plan's status is the worst of its periods'
DEFAULT_SCHEDULE = ("quarterly",)  # until a plan's first follow-up names its reporting choice


@dataclass(frozen=True)
class Period:
    label: str  # "2026 Q4"
    period_type: str
    start: date
    end: date
    status: str  # reported | due | overdue
    followups: tuple[Followup, ...] = ()


@dataclass
class Tracked:
    """One plan on the follow-up tracker: its schedule and every period of it up to today."""

    entry: PlanFollowups
    schedule: tuple[str, ...]
    periods: list[Period]

    @property
    def status(self) -> str:
        found = {p.status for p in self.periods}
        return next((s for s in STATUSES if s in found), "reported")

    def count(self, status: str) -> int:
        return sum(1 for p in self.periods if p.status == status)


def schedule_of(entry: PlanFollowups) -> tuple[str, ...]:
    """The reporting choices (Form 2's ``period_type``) of the plan's follow-ups, in the
    handbook's order; a plan not yet followed up is expected quarterly."""
    chosen = {f.period_type for f in entry.followups if f.period_type in PERIOD_TYPES}
    return tuple(t for t in PERIOD_TYPES if t in chosen) or DEFAULT_SCHEDULE


def track(entry: PlanFollowups, today: date, year_start_month: int = 1,
          grace_days: int = GRACE_DAYS) -> Tracked:
    """Pure: every period of the plan's schedule from the one it was prepared in up to the
    one ``today`` falls in (calendar periods, or fiscal ones from ``year_start_month``; a Nepal
    follow-up counts for the period its dates fall in), each reported (a follow-up covers it),
    due (no report yet, and the
    period has not ended more than ``grace_days`` ago) or overdue."""
    schedule = schedule_of(entry)
    first_day = entry.plan.date_prepared or min(
        (f.reference_date for f in entry.followups if f.reference_date), default=today)
    first_day = min(first_day, today)
    periods: list[Period] = []
    for period_type in schedule:
        label = covering(period_type, first_day, year_start_month) or ""
        last = covering(period_type, today, year_start_month)
        for _ in range(200):  # 50 years of quarters at most
            start, end = bounds(label, year_start_month)
            reports = tuple(f for f in entry.followups if f.period_type == period_type
                            and f.reference_date and start <= f.reference_date <= end)
            status = ("reported" if reports else
                      "due" if today <= end + timedelta(days=grace_days) else "overdue")
            periods.append(Period(label, period_type, start, end, status, reports))
            if label == last:
                break
            label = _next_label(label, period_type, year_start_month)
    periods.sort(key=lambda p: (p.end, PERIOD_TYPES.index(p.period_type)))
    return Tracked(entry, schedule, periods)


def now() -> datetime:
    """The current instant (tests move it)."""
    return datetime.now(UTC)


def today(scope: Scope | None = None) -> date:
    """The tracker's "today", one for every reader of it (``/plans``, the dashboard's counts,
    the workbook's Action plans sheet): the date on the clock of the reader's area's country
    (Asia/Dhaka; Asia/Kathmandu for an area only in Nepal), as ``pipeline.domain.places.ZONES``
    names them, not UTC's (six hours behind Dhaka: a period would turn overdue at 06:00)."""
    countries = scope.countries if scope is not None else frozenset()
    country = next((c for c in places.ZONES if c in countries), "bd")
    return now().astimezone(ZoneInfo(places.ZONES[country])).date()


def tracker(session: Session, today: date, scope: Scope | None = None,
            where: dict[str, str | None] | None = None,
            year_start_month: int = 1) -> list[Tracked]:
    """Every plan in the area (``where``: division, district, upazila, province) on the
    tracker, latest prepared first."""
    rows, _ = _linked(session, where or {}, scope)
    tracked = [track(row, today, year_start_month) for row in rows]
    tracked.reverse()
    return tracked


def overdue_by_district(rows: Iterable[Tracked]) -> list[tuple[str, int]]:
    """(district code, plans overdue there), most first: the dashboard's line per district and
    the workbook Summary's table."""
    counts = Counter(t.entry.plan.district for t in rows if t.status == "overdue")
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def periods_of(year: int) -> list[str]:
    """Every period label of one year, in the order reports show them."""
    return [f"{year} Q{q}" for q in range(1, 5)] + [f"{year} H1", f"{year} H2", str(year)]


def link(
    plans: Iterable[Plan], followups: Iterable[Followup]
) -> tuple[list[PlanFollowups], list[Followup]]:
    """Pure: attach each follow-up to its plan; returns (one row per plan, unlinked follow-ups)."""
    rows = {p.key: PlanFollowups(p) for p in sorted(plans, key=_plan_order)}
    by_person: dict[tuple[str, str], list[Plan]] = {}
    for row in rows.values():
        p = row.plan
        if p.local_government:
            by_person.setdefault((normalise_name(p.participant_name), p.local_government), []).append(p)
    unlinked = []
    for f in sorted(followups, key=lambda f: (f.reference_date or date.min, f.key)):
        wanted = tables.bare_key(f.action_plan.strip())
        if wanted:
            target, how = (wanted if wanted in rows else None), "key"
        else:
            candidates = by_person.get((normalise_name(f.participant_name), f.local_government), [])
            chosen = _closest(candidates, f)
            target, how = (chosen.key if chosen else None), "name"
        if target is None:
            unlinked.append(f)
            continue
        rows[target].followups.append(f)
        rows[target].linked_by[f.key] = how
    return list(rows.values()), unlinked


def plan_followups(
    session: Session, year: int | None = None, division: str | None = None,
    district: str | None = None, upazila: str | None = None, province: str | None = None,
    scope: Scope | None = None, year_start_month: int = 1,
) -> list[PlanFollowups]:
    """Every plan in the area with its follow-ups; with ``year``, only that year's follow-ups,
    and only plans prepared before the year ended."""
    where = {"division": division, "district": district, "upazila": upazila, "province": province}
    rows, _ = _linked(session, where, scope)
    if year is None:
        return rows
    labels = set(periods_of(year))
    kept = []
    for row in rows:
        prepared = row.plan.date_prepared
        if prepared is not None and prepared > _year_end(year, year_start_month):
            continue
        # Nepal follow-ups are named by fiscal period: they count in the year their day is in.
        row.followups = [f for f in row.followups
                         if (f.reference_date is not None and f.reference_date.year == year
                             if f.country == "np" else period_label(f, year_start_month) in labels)]
        row.linked_by = {k: v for k, v in row.linked_by.items()
                         if any(f.key == k for f in row.followups)}
        kept.append(row)
    return kept


def unlinked_followups(session: Session, scope: Scope | None = None) -> list[Followup]:
    """Follow-ups that name no known plan and match none by participant and local government."""
    return _linked(session, {}, scope)[1]


def _linked(
    session: Session, where: dict[str, str | None], scope: Scope | None
) -> tuple[list[PlanFollowups], list[Followup]]:
    practices = tables.repeat_values(session, "hl_action_plan", "plans", "practice")
    plans = [_plan(r, practices.get(r["_key"], ()))
             for r in tables.current_rows(session, "hl_action_plan", where, scope=scope)]
    results = tables.repeat_rows(session, "hl_followup", "results")
    followups = [_followup(r, results.get(r["_key"], []))
                 for r in tables.current_rows(session, "hl_followup", scope=scope)]
    return link(plans, followups)


def _closest(candidates: list[Plan], f: Followup) -> Plan | None:
    if not candidates:
        return None
    same_day = [p for p in candidates if f.plan_date and p.date_prepared == f.plan_date]
    if same_day:
        return same_day[-1]
    cutoff = f.followup_date or f.reference_date
    before = [p for p in candidates
              if cutoff is None or p.date_prepared is None or p.date_prepared <= cutoff]
    return (before or candidates)[-1]  # candidates are in preparation order


def _plan_order(p: Plan) -> tuple[Any, ...]:
    return (p.date_prepared or date.min, p.key)


def _year_end(year: int, year_start_month: int) -> date:
    return date(year + 1, year_start_month, 1) - timedelta(days=1)


def _text(row: dict[str, Any], column: str) -> str:
    return str(row.get(column) or "")


def _plan(row: dict[str, Any], practices: tuple[str, ...]) -> Plan:
    return Plan(
        key=row["_root_key"], participant_name=_text(row, "participant_name"),
        position=_text(row, "position"), country=_text(row, "country"),
        division=_text(row, "division"), district=_text(row, "district"),
        upazila=_text(row, "upazila"), union=_text(row, "union"),
        province=_text(row, "province"), local_level=_text(row, "local_level"),
        date_prepared=tables.as_date(row.get("date_prepared")),
        practices=tuple(p for p in practices if p),
        submission_id=row.get("_submission_id"),
    )


def _followup(row: dict[str, Any], results: list[dict[str, Any]]) -> Followup:
    country = _text(row, "country")
    union, local_level = _text(row, "union"), _text(row, "local_level")
    return Followup(
        key=row["_root_key"], action_plan=_text(row, "action_plan"),
        participant_name=_text(row, "participant_name"),
        local_government=local_level if country == "np" or not union else union,
        period_type=_text(row, "period_type"),
        period_start=tables.as_date(row.get("period_start")),
        period_end=tables.as_date(row.get("period_end")),
        followup_date=tables.as_date(row.get("followup_date")),
        plan_date=tables.as_date(row.get("plan_date")),
        officer_name=_text(row, "officer_name"), country=places.country_of(row),
        # A practice of the plan the follow-up says was not tried has no result to report.
        results=tuple(Result(_text(r, "practice"), _text(r, "result"), _text(r, "verification"))
                      for r in results if _text(r, "tried") != "no"),
        submission_id=row.get("_submission_id"),
    )
