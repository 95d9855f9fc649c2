"""``sangjog projects``: the innovation project registry that inspections pick projects from."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from pipeline import loader
from pipeline.domain import inspections
from pipeline.domain.projects import import_projects
from pipeline.problems import Problem

from ..db import get_session


@click.group("projects", cls=AppGroup)  # AppGroup: each command runs in an app context
def command() -> None:
    """Innovation project registry: import it from CSV, list projects with their progress."""


@command.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(csv_file: Path) -> None:
    """Create or update projects (by code) from CSV_FILE; a bad row refuses the whole file."""
    try:
        result = import_projects(get_session(), csv_file, actor="cli")
    except Problem as problem:
        lines = [problem.message] + [
            f"  row {e['row']}, column {e['column']}: {e['message']}"
            for e in problem.details.get("errors", [])
        ]
        raise click.ClickException("\n".join(lines)) from None
    click.echo(f"{result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged.")


@command.command("list")
@click.option("--division", help="Only projects in this division (code, e.g. 55).")
@click.option("--district", help="Only projects in this district (code, e.g. 4050).")
@click.option("--upazila", help="Only projects in this upazila (code, e.g. 405079).")
def list_(division: str | None, district: str | None, upazila: str | None) -> None:
    """Projects with progress, stage and last inspection, from inspections not rejected."""
    loader.load_pending(get_session())  # uploads the server has not loaded yet count too
    statuses = inspections.registry(get_session(), division, district, upazila)
    if not statuses:
        click.echo("No projects.")
        return
    click.echo("code\tdistrict\tupazila\tprogress\tstage\tinspections\tlast inspected\ttitle")
    for s in statuses:
        progress = "-" if s.progress is None else f"{s.progress:g}%"
        last = s.last_inspected.isoformat() if s.last_inspected else "never"
        click.echo(f"{s.code}\t{s.district}\t{s.upazila or '-'}\t{progress}\t{s.stage or '-'}\t"
                   f"{s.inspections}\t{last}\t{s.title_en}")
