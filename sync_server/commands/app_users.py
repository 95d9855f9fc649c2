"""``sangjog app-user``: phones that send submissions with a key instead of a password."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from pipeline import accounts

from ..db import get_session
from ..qr import app_user_qr, collect_url
from ..web import people

DEFAULT_SERVER_URL = "http://127.0.0.1:5000"


@click.group("app-user")
def command() -> None:
    """App users: one key (and QR code) per phone or team, limited to chosen forms."""


@command.command("create")
@with_appcontext
@click.argument("name")
@click.option("--forms", default="", help="Comma-separated form ids this phone may fill (default: every open form).")
@click.option("--scope", "scopes", multiple=True,
              help="An area it may send for (repeatable): bd_division:NN, bd_district:NNNN, "
                   "np_province:N or np_district:NNN (default: everywhere).")
@click.option("--server-url", help="Address phones reach the server at (default: SERVER_URL).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the QR code PNG (default: DATA_DIR/qr/NAME.png).")
def create(name: str, forms: str, scopes: tuple[str, ...], server_url: str | None,
           output: Path | None) -> None:
    """Create app user NAME, print its Collect server URL and write its QR code."""
    app_user = accounts.create_app_user(get_session(), name, forms.split(","), actor="cli",
                                        scope=people.checked_area(scopes))
    base = _server_url(server_url)
    path = _write_qr(name, app_user.token, base, output)
    click.echo(f"App user '{name}' created for forms: {', '.join(app_user.forms) or 'all open forms'}"
               f"; area: {_area(app_user.scope)}")
    click.echo(f"Server URL to type in Collect: {collect_url(base, app_user.token)}")
    click.echo(f"QR code to scan in Collect (Add project → Scan code): {path}")


@command.command("list")
@with_appcontext
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked app users.")
def list_(include_revoked: bool) -> None:
    """List app users (keys shortened: the full key is only in the QR code)."""
    users = accounts.list_app_users(get_session(), include_revoked=include_revoked)
    if not users:
        click.echo("No app users.")
        return
    for user in users:
        state = f"revoked {user.revoked_at:%Y-%m-%d}" if user.revoked_at else "active"
        click.echo(f"{user.name}\t{accounts.masked(user.token)}\t{state}\t"
                   f"{', '.join(user.forms) or 'all open forms'}\t{_area(user.scope)}\t"
                   f"created {user.created_at:%Y-%m-%d}")


@command.command("forms")
@with_appcontext
@click.argument("name")
@click.option("--forms", required=True,
              help='Comma-separated form ids this phone may fill ("": every open form).')
def forms_(name: str, forms: str) -> None:
    """Change the forms app user NAME may fill (its key and QR code stay the same)."""
    db = get_session()
    app_user = accounts.set_app_user_forms(db, accounts.active_app_user(db, name),
                                           forms.split(","), actor="cli")
    click.echo(f"App user '{name}' may now fill: {', '.join(app_user.forms) or 'all open forms'}")


@command.command("scope")
@with_appcontext
@click.argument("name")
@click.option("--scope", "scopes", multiple=True,
              help="An area it may send for (repeatable); none, or *, for everywhere.")
def scope_(name: str, scopes: tuple[str, ...]) -> None:
    """Change the area app user NAME may send for (its key and QR code stay the same)."""
    db = get_session()
    app_user = accounts.set_app_user_scope(db, accounts.active_app_user(db, name),
                                           people.checked_area(scopes), actor="cli")
    click.echo(f"App user '{name}' may now send for: {_area(app_user.scope)}")


def _area(codes: list[str]) -> str:
    return ", ".join(codes) or "everywhere"


@command.command("revoke")
@with_appcontext
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke app user NAME: its phone can no longer get forms or send submissions."""
    accounts.revoke_app_user(get_session(), name, actor="cli")
    click.echo(f"App user '{name}' revoked.")


@command.command("qr")
@with_appcontext
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG file to write.")
@click.option("--server-url", help="Address phones reach the server at (default: SERVER_URL).")
def qr(name: str, output: Path, server_url: str | None) -> None:
    """Write the QR code of app user NAME again (for a new phone or a lost printout)."""
    app_user = accounts.active_app_user(get_session(), name)
    path = _write_qr(name, app_user.token, _server_url(server_url), output)
    click.echo(f"QR code written to {path}")


def _server_url(option: str | None) -> str:
    url = option or current_app.config.get("SERVER_URL")
    if not url:
        click.echo(f"Note: no --server-url or SERVER_URL set; using {DEFAULT_SERVER_URL}, "
                   "which only this computer can reach.", err=True)
        url = DEFAULT_SERVER_URL
    if not re.match(r"^https?://", url):
        raise click.BadParameter("the server URL must start with http:// or https://",
                                 param_hint="--server-url")
    return url.rstrip("/")


def _write_qr(name: str, token: str, server_url: str, output: Path | None) -> Path:
    if output is None:
        slug = re.sub(r"[^\w.-]+", "_", name).strip("._") or "app-user"
        output = Path(current_app.config["SANGJOG_DATA_DIR"]) / "qr" / f"{slug}.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(app_user_qr(server_url, token, f"Sangjog ({name})"))
    return output
