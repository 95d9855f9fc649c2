"""``sangjog forms``: build, check and publish XLSForms; list forms; open or close them."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from pipeline import forms
from pipeline.models import FORM_STATES, Form
from pipeline.problems import Problem

from ..db import get_session

# The repository's XLSForms and their static media (geo lists, sample generated CSVs).
XLSFORMS = Path(__file__).resolve().parents[2] / "xlsforms"


@click.group("forms")
def command() -> None:
    """XLSForms: build and check them, publish them to phones, open or close them."""


def _fail(problem: Problem, source: str) -> None:
    """Print a form problem by sheet and row, the way a designer looks for it; exit status 1."""
    errors = problem.details.get("errors", [])
    if not errors:
        click.echo(problem.message if source in problem.message else f"{source}: {problem.message}",
                   err=True)
    else:
        click.echo(f"{source}: {len(errors)} problem(s) to fix", err=True)
    for error in errors:
        where = []
        if error.get("sheet"):
            where.append(f"{error['sheet']} sheet")
        if error.get("row"):
            where.append(f"row {error['row']}")
        prefix = f"  {', '.join(where)}: " if where else "  "
        click.echo(prefix + error["message"], err=True)
    raise SystemExit(1)


def _convert(path: Path) -> forms.BuiltForm:
    try:
        return forms.convert(path)
    except Problem as problem:
        _fail(problem, path.name)
        raise  # unreachable: _fail exits


@command.command("build")
@click.option("--src", type=click.Path(file_okay=False, path_type=Path), default=XLSFORMS,
              show_default=True, help="Folder of .xlsx forms (media in its media/ subfolder).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/forms"),
              show_default=True, help="Folder for the XForms and the media they need.")
def build(src: Path, out: Path) -> None:
    """Convert every XLSForm to an XForm, checked by ODK Validate."""
    try:
        built = forms.build_all(src, out)
    except Problem as problem:
        _fail(problem, str(src))
    for form in built:
        media = f", media: {', '.join(form.media)}" if form.media else ""
        click.echo(f"{form.form_id} {form.version}: {out / (form.form_id + '.xml')} "
                   f"({len(form.xml) // 1024} KB{media})")
        for warning in form.warnings:
            click.echo(f"  warning: {warning}")


@command.command("check")
@click.argument("xlsx", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(xlsx: Path) -> None:
    """Check one XLSForm; print its problems by sheet and row (exit status 1 when broken)."""
    built = _convert(xlsx)
    click.echo(f"{xlsx.name}: ok — form_id {built.form_id}, version {built.version}, "
               f"{len(built.media)} media file(s), {len(built.warnings)} warning(s)")
    for warning in built.warnings:
        click.echo(f"  warning: {warning}")


@command.command("publish")
@click.argument("xlsx", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--media", "media_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A media file to attach (repeatable). Others are taken from --media-dir by name.")
@click.option("--media-dir", type=click.Path(file_okay=False, path_type=Path),
              default=XLSFORMS / "media", show_default=True)
@with_appcontext
def publish(xlsx: Path, media_files: tuple[Path, ...], media_dir: Path) -> None:
    """Publish an XLSForm (a new version of its form) to the server's database."""
    built = _convert(xlsx)
    media = forms.static_media(built, media_dir)
    media.update({path.name: path.read_bytes() for path in media_files})
    try:
        version = forms.publish(get_session(), built, xlsx.read_bytes(), media, actor=getpass.getuser())
    except Problem as problem:
        _fail(problem, xlsx.name)
    click.echo(f"Published {built.form_id} version {version.version} (md5 {version.md5}).")
    missing = sorted(set(built.media) - set(media))
    if missing:
        click.echo(f"  media not attached (the server must provide them): {', '.join(missing)}")


@command.command("list")
@with_appcontext
def list_() -> None:
    """List published forms: id, state, current version, number of versions, title."""
    rows = get_session().scalars(select(Form).order_by(Form.xml_form_id)).all()
    if not rows:
        click.echo("No forms are published.")
        return
    for form in rows:
        current = form.current_version
        click.echo(f"{form.xml_form_id}\t{form.state}\t{current.version if current else '-'}\t"
                   f"{len(form.versions)} version(s)\t{form.title}")


@command.command("state")
@click.argument("form_id")
@click.argument("state", type=click.Choice(FORM_STATES))
@with_appcontext
def state(form_id: str, state: str) -> None:
    """Open a form, close it to new downloads (closing) or close it to submissions (closed)."""
    try:
        form = forms.set_state(get_session(), form_id, state, actor=getpass.getuser())
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(f"{form.xml_form_id} is now {form.state}.")
