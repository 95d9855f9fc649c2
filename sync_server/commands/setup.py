"""``sangjog setup``: make a fresh install usable in one step (``make run`` calls it).

Migrates the database, publishes every XLSForm in ``xlsforms/`` whose version is not published
yet, explains the innovation project registry while it is empty (and imports the sample with
``--sample-projects``, or when asked at a terminal), and creates the first admin with a
generated password, printing how to log in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from pipeline import accounts, forms
from pipeline.db import upgrade
from pipeline.domain.projects import SAMPLE, import_projects
from pipeline.models import InnovationProject, User
from pipeline.problems import Problem

from ..db import get_session
from ..web import people

XLSFORMS = Path(__file__).resolve().parents[2] / "xlsforms"


@click.command("setup")
@with_appcontext
@click.option("--forms", "forms_dir", type=click.Path(file_okay=False, path_type=Path),
              default=XLSFORMS, show_default=True, help="Folder of XLSForms (media in media/).")
@click.option("--sample-projects/--no-sample-projects", default=None,
              help="Import (or not) the 16 sample innovation projects into an empty registry; "
                   "asked at a terminal when not given.")
def command(forms_dir: Path, sample_projects: bool | None) -> None:
    """Migrate the database, publish new forms, explain the project registry, make the first admin."""
    upgrade(current_app.extensions["engine"])
    click.echo("Database is up to date.")
    _publish_forms(forms_dir)
    _project_registry(sample_projects)
    _first_admin()


def _project_registry(sample: bool | None) -> None:
    db = get_session()
    if db.scalar(select(InnovationProject.id).limit(1)) is not None:
        return
    click.echo("")
    for line in (
        "The innovation project registry is empty. The inspection form lists the registry's",
        "projects of the chosen district and upazila; a project not in it can still be inspected",
        "(the inspector answers that it is not in the list and describes it), and an admin adds",
        "it from the Projects page. Load your registry from a CSV file (columns: code, title_en,",
        "title_bn, division, district, upazila, office, started_on, category):",
    ):
        click.echo(line)
    click.echo("  sangjog projects import registry.csv")
    if sample is None and sys.stdin is not None and sys.stdin.isatty():
        sample = click.confirm("Import the 16 sample projects (Kushtia and Rangpur division) "
                               "to try the inspection form?", default=False)
    if sample:
        result = import_projects(db, SAMPLE, actor="setup")
        click.echo(f"Sample registry imported: {result.created} projects.")
    else:
        click.echo(f"To try it with 16 sample projects: sangjog projects import {SAMPLE}")


def _publish_forms(folder: Path) -> None:
    db = get_session()
    sources = sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))
    if not sources:
        click.echo(f"No XLSForms in {folder}.")
    for path in sources:
        content = path.read_bytes()
        # The same spreadsheet already published: skip ODK Validate, which takes seconds.
        if forms.identical_version(db, content) is not None:
            click.echo(f"  {path.name}: already published")
            continue
        try:
            built = forms.convert(content, path.name)
            version = forms.publish(db, built, content, forms.static_media(built, folder / "media"),
                                    actor="setup").version
        except Problem as problem:
            click.echo(f"  {path.name}: NOT published: {problem.message}", err=True)
            for error in problem.details.get("errors", []):
                click.echo(f"    sheet {error.get('sheet')}, row {error.get('row')}: "
                           f"{error.get('message')}", err=True)
            continue
        click.echo(f"  {path.name}: {built.form_id} version {version.version} published")


def _first_admin() -> None:
    db = get_session()
    if db.scalar(select(User.id).where(User.role == "admin", User.active.is_(True)).limit(1)):
        click.echo("An admin exists; log in with that account.")
        return
    password = people.generate_password()
    try:
        accounts.create_user(db, "admin", password, "admin", ["*"], display_name="Administrator",
                             actor="setup")
    except Problem as problem:
        raise click.ClickException(
            f"{problem.message} Create an admin with: sangjog user create NAME --role admin"
        ) from None
    url = (current_app.config.get("SERVER_URL") or "http://127.0.0.1:5000").rstrip("/")
    click.echo("")
    click.echo("First admin created. Log in at:")
    click.echo(f"  URL:       {url}/login")
    click.echo("  User name: admin")
    click.echo(f"  Password:  {password}")
    click.echo("Change the password after logging in (menu at the top right).")
