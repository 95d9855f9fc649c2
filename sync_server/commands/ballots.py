"""``sangjog ballots``: workshop ballot results."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from pipeline import loader
from pipeline.domain.ballots import TOP, WorkshopTally, tally

from ..db import get_session


@click.group("ballots", cls=AppGroup)  # AppGroup: each command runs in an app context
def command() -> None:
    """Workshop ballots: tally votes for nominated good practices."""


@command.command("tally")
@click.option("--upazila", help="Only this workshop (upazila code, e.g. 100409).")
@click.option("--district", help="Only workshops in this district (code, e.g. 1004).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
def tally_(upazila: str | None, district: str | None, since: datetime | None,
           until: datetime | None) -> None:
    """Each workshop's ranking: votes, rank, top five (*), ties (=) and refused ballots."""
    loader.load_pending(get_session())  # uploads the server has not loaded yet count too
    workshops = tally(get_session(), upazila=upazila, district=district,
                      since=since.date() if since else None, until=until.date() if until else None)
    if not workshops:
        click.echo("No nominations or ballots.")
        return
    for i, workshop in enumerate(workshops):
        if i:
            click.echo("")
        _print(workshop)


def _print(w: WorkshopTally) -> None:
    click.echo(f"Workshop {w.upazila} (district {w.district or '?'}): "
               f"{w.ballots_counted} ballot(s) counted")
    for r in w.results:
        marks = ("*" if r.top_five else " ") + ("=" if r.tied else " ")
        n = r.nomination
        click.echo(f" {marks} {r.rank:>3}. {r.votes:>4} vote(s)  {n.practice_title}"
                   f"  [union {n.union or '?'}, {n.key}]")
    if w.tie_at_cutoff:
        click.echo(f"  Tie across place {TOP}: {len(w.top_five)} practices share the top {TOP}; "
                   "the workshop must decide between the tied ones.")
    for b in w.ineligible:
        click.echo(f"  Not counted (role '{b.voter_role}' may not vote): {b.voter_name} [{b.key}]")
    for later, kept in w.duplicates:
        click.echo(f"  Not counted (second ballot of {later.voter_name}, first was {kept.key}): "
                   f"[{later.key}]")
    for b in w.spoiled:
        click.echo(f"  Not counted (more than {TOP} picks): {b.voter_name} [{b.key}]")
    for b, pick in w.unknown_picks:
        click.echo(f"  Pick ignored (not nominated at this workshop): {pick} on [{b.key}]")
