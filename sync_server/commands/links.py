"""``sangjog link``: public links to fill a form in a browser, e.g. for a workshop."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import click
from flask import current_app
from flask.cli import with_appcontext

from pipeline import links

from ..db import get_session
from ..web import people


@click.group("link")
def command() -> None:
    """Public links (/l/TOKEN) to fill a form in a browser, without Collect or a login."""


@command.command("create")
@with_appcontext
@click.argument("form_id")
@click.option("--upazila", help="A workshop's upazila code: its media and submissions keep to it.")
@click.option("--date", "workshop_date", type=click.DateTime(["%Y-%m-%d"]),
              help="The workshop's date (YYYY-MM-DD): the form's date questions are set to it.")
@click.option("--scope", "scopes", multiple=True,
              help="An area the link may send for (repeatable), as for app users "
                   "(default: the upazila's district, or everywhere).")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day the link works (YYYY-MM-DD, through the end of that day, UTC).")
@click.option("--once-per-device", is_flag=True,
              help="Ask each browser to send only once (best effort: browser storage).")
@click.option("--server-url", help="Address participants reach the server at (default: SERVER_URL).")
def create(form_id: str, upazila: str | None, workshop_date: datetime | None,
           scopes: tuple[str, ...], expires: datetime | None, once_per_device: bool,
           server_url: str | None) -> None:
    """Create a public link to fill FORM_ID and print its address."""
    link = links.create(
        get_session(), form_id, by="cli", scope=people.checked_area(scopes),
        upazila=upazila, workshop_date=workshop_date.date() if workshop_date else None,
        expires_at=_end_of(expires.date()) if expires else None,
        once_per_device=once_per_device)
    click.echo(f"Link {link.id} for form '{form_id}': {_address(link.token, server_url)}")


@command.command("list")
@with_appcontext
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked links.")
@click.option("--server-url", help="Address participants reach the server at (default: SERVER_URL).")
def list_(include_revoked: bool, server_url: str | None) -> None:
    """List the links: id, form, area, workshop, expiry and address."""
    found = links.listed(get_session(), include_revoked=include_revoked)
    if not found:
        click.echo("No form links.")
    for link in found:
        state = "revoked" if link.revoked_at else (
            f"until {link.expires_at:%Y-%m-%d}" if link.expires_at else "no expiry")
        workshop = f" upazila {link.upazila}" if link.upazila else ""
        workshop += f" on {link.workshop_date.isoformat()}" if link.workshop_date else ""
        area = ", ".join(link.scope) or "everywhere"
        click.echo(f"{link.id}\t{link.form.xml_form_id}\t{area}{workshop}\t{state}\t"
                   f"{_address(link.token, server_url)}")


@command.command("revoke")
@with_appcontext
@click.argument("link")
def revoke(link: str) -> None:
    """Withdraw LINK (its id or token): its address then answers 410."""
    found = links.revoke(get_session(), link)
    click.echo(f"Link {found.id} for form '{found.form.xml_form_id}' revoked.")


def _address(token: str, server_url: str | None) -> str:
    base = (server_url or current_app.config.get("SERVER_URL") or "http://127.0.0.1:5000")
    return f"{base.rstrip('/')}/l/{token}"


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)
