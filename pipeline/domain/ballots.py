"""Ballot tally per workshop: votes per nominated practice, ranks, the top five, ties.

A workshop is the ``upazila`` code shared by its nominations (``hl_nomination``) and ballots
(``hl_ballot``). ``count`` is a pure function over plain rows; ``tally`` reads them from the
warehouse. The rules (see ``docs/domain.md``):

- only elected representatives vote (``ELIGIBLE_ROLES``); other ballots are reported, not counted;
- one ballot per voter per workshop: the earliest counts, later ones from the same normalised
  name and role are reported as duplicates;
- a ballot naming more than five practices is spoiled and reported;
- a pick that is not one of the workshop's nominations is ignored and reported;
- ranks are competition ranks ("1224"): a practice's rank is one more than the number of
  practices with more votes, so equal votes share a rank and the next rank is skipped;
- the top five are the practices with at least one vote and rank five or better, so a tie that
  straddles fifth place keeps every tied practice in and is flagged (``tie_at_cutoff``).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from ..scope import Scope
from . import tables

ELIGIBLE_ROLES = frozenset({
    "up_chairman", "up_member", "up_member_reserved",
    "mayor", "councillor", "councillor_reserved",
    "upazila_chairman", "upazila_vice_chairman", "upazila_vice_chairman_female",
})
MAX_PICKS = 5
TOP = 5


@dataclass(frozen=True)
class Nomination:
    key: str  # instanceID without "uuid:", the value ballots pick
    upazila: str
    practice_title: str
    union: str = ""
    district: str = ""
    division: str = ""
    workshop_date: date | None = None
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ballot:
    key: str
    upazila: str
    voter_name: str
    voter_role: str
    picks: tuple[str, ...]  # nomination keys, as chosen
    submitted_at: datetime | None = None
    priority: tuple[str, ...] = ()  # the picks in preference order, when given


@dataclass(frozen=True)
class PracticeResult:
    nomination: Nomination
    votes: int
    rank: int
    tied: bool  # shares its vote count (and rank) with another practice
    top_five: bool
    first_preferences: int  # ballots that put it first; information, never a tie-break


@dataclass
class WorkshopTally:
    upazila: str
    district: str = ""
    division: str = ""
    results: list[PracticeResult] = field(default_factory=list)  # best first
    ballots_counted: int = 0
    ineligible: list[Ballot] = field(default_factory=list)
    duplicates: list[tuple[Ballot, Ballot]] = field(default_factory=list)  # (later, counted)
    spoiled: list[Ballot] = field(default_factory=list)  # more than five picks
    unknown_picks: list[tuple[Ballot, str]] = field(default_factory=list)
    tie_at_cutoff: bool = False
    workshop_date: date | None = None  # the earliest date its nominations give

    @property
    def top_five(self) -> list[PracticeResult]:
        return [r for r in self.results if r.top_five]


def normalise_name(name: str) -> str:
    """Fold case, compatibility forms, punctuation and spacing: "Md. Karim " == "md karim"."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(kept.split())


def split_picks(value: str | None) -> tuple[str, ...]:
    """A select_multiple answer (space-separated) as keys without ``uuid:``, order kept."""
    return tuple(tables.bare_key(p) for p in (value or "").split())


def count(nominations: Iterable[Nomination], ballots: Iterable[Ballot]) -> list[WorkshopTally]:
    """Tally every workshop found in the nominations or ballots, ordered by upazila code."""
    by_workshop: dict[str, list[Nomination]] = {}
    for n in nominations:
        by_workshop.setdefault(n.upazila, []).append(n)
    ballots_by_workshop: dict[str, list[Ballot]] = {}
    for b in ballots:
        ballots_by_workshop.setdefault(b.upazila, []).append(b)
    return [
        _count_workshop(upazila, by_workshop.get(upazila, []), ballots_by_workshop.get(upazila, []))
        for upazila in sorted(set(by_workshop) | set(ballots_by_workshop))
    ]


def _count_workshop(upazila: str, noms: list[Nomination], ballots: list[Ballot]) -> WorkshopTally:
    nominated = {n.key: n for n in noms}
    first_place = next(iter(noms), None)
    result = WorkshopTally(
        upazila=upazila,
        district=first_place.district if first_place else "",
        division=first_place.division if first_place else "",
        workshop_date=min((n.workshop_date for n in noms if n.workshop_date), default=None),
    )
    votes: Counter[str] = Counter()
    firsts: Counter[str] = Counter()
    counted_by_voter: dict[tuple[str, str], Ballot] = {}
    # Earliest first, so the ballot that counts is the one cast first; the key breaks equal times.
    for ballot in sorted(ballots, key=lambda b: (b.submitted_at is None, b.submitted_at or 0, b.key)):
        role = (ballot.voter_role or "").strip().lower()
        if role not in ELIGIBLE_ROLES:
            result.ineligible.append(ballot)
            continue
        voter = (normalise_name(ballot.voter_name), role)
        if voter in counted_by_voter:
            result.duplicates.append((ballot, counted_by_voter[voter]))
            continue
        counted_by_voter[voter] = ballot
        picks = list(dict.fromkeys(ballot.picks))  # a practice picked twice counts once
        if len(picks) > MAX_PICKS:
            result.spoiled.append(ballot)
            continue
        result.ballots_counted += 1
        for pick in picks:
            if pick in nominated:
                votes[pick] += 1
            else:
                result.unknown_picks.append((ballot, pick))
        preferred = [p for p in (ballot.priority or tuple(picks)) if p in nominated and p in picks]
        if preferred:
            firsts[preferred[0]] += 1
    result.results, result.tie_at_cutoff = _rank(noms, votes, firsts)
    return result


def _rank(
    noms: list[Nomination], votes: Counter[str], firsts: Counter[str]
) -> tuple[list[PracticeResult], bool]:
    ordered = sorted(noms, key=lambda n: (-votes[n.key], n.practice_title, n.key))
    per_count = Counter(votes[n.key] for n in noms)
    results = []
    for n in ordered:
        v = votes[n.key]
        rank = 1 + sum(c for value, c in per_count.items() if value > v)
        results.append(PracticeResult(
            nomination=n, votes=v, rank=rank, tied=per_count[v] > 1,
            top_five=v > 0 and rank <= TOP, first_preferences=firsts[n.key],
        ))
    # More than five practices at rank five or better can only mean a tie across fifth place.
    return results, sum(r.top_five for r in results) > TOP


def tally(
    session: Session,
    upazila: str | None = None,
    district: str | None = None,
    since: date | None = None,
    until: date | None = None,
    division: str | None = None,
    scope: Scope | None = None,
) -> list[WorkshopTally]:
    """Tally from the warehouse; rejected and replaced (edited) submissions are left out.

    ``since``/``until`` (inclusive) select nominations by workshop date and ballots by ballot
    date (for either, the date received when the form has no such date).
    """
    places = {"upazila": upazila, "district": district, "division": division}
    nominations = [
        _nomination(row, indicators)
        for row, indicators in _nomination_rows(session, places, scope)
        if _within(row.get("workshop_date") or row.get("_submitted_at"), since, until)
    ]
    ballots = [
        _ballot(row)
        for row in tables.current_rows(session, "hl_ballot", places, scope=scope)
        if _within(row.get("ballot_date") or row.get("_submitted_at"), since, until)
    ]
    return count(nominations, ballots)


def _nomination_rows(session: Session, places: dict[str, str | None], scope: Scope | None):
    rows = tables.current_rows(session, "hl_nomination", places, scope=scope)
    indicators = tables.repeat_values(session, "hl_nomination", "indicators", "indicator")
    return [(row, indicators.get(row["_key"], ())) for row in rows]


def _nomination(row: dict, indicators: tuple[str, ...]) -> Nomination:
    return Nomination(
        key=row["_root_key"],  # stays the same when the nomination is edited
        upazila=str(row.get("upazila") or ""),
        practice_title=str(row.get("practice_title") or ""),
        union=str(row.get("union") or ""),
        district=str(row.get("district") or ""),
        division=str(row.get("division") or ""),
        workshop_date=tables.as_date(row.get("workshop_date")),
        indicators=tuple(i for i in indicators if i),
    )


def _ballot(row: dict) -> Ballot:
    return Ballot(
        key=tables.bare_key(row["_key"]),
        upazila=str(row.get("upazila") or ""),
        voter_name=str(row.get("voter_name") or ""),
        voter_role=str(row.get("voter_role") or ""),
        picks=split_picks(row.get("picks")),
        submitted_at=tables.as_datetime(row.get("_submitted_at")),
        priority=split_picks(row.get("priority")),
    )


def _within(value: object, since: date | None, until: date | None) -> bool:
    day = tables.as_date(value)
    if day is None:
        return since is None and until is None
    return (since is None or day >= since) and (until is None or day <= until)
