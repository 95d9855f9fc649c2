"""``sangjog user``: web users (admins, supervisors, district officers) and the areas they see."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from pipeline import accounts, web_sessions
from pipeline.models import ROLES, User

from ..db import get_session
from ..web import people


# AppGroup: every subcommand runs inside the app context (Flask pushes none for group commands).
@click.group("user", cls=AppGroup)
def command() -> None:
    """Web users: who may log in, with which role, seeing which districts."""


def _password(given: str | None) -> tuple[str, bool]:
    """The password to set, and whether it was generated (then it must be printed)."""
    if given:
        return given, False
    if sys.stdin.isatty():
        typed = click.prompt("Password (empty: generate one)", default="", hide_input=True,
                             confirmation_prompt=True, show_default=False)
        if typed:
            return typed, False
    return people.generate_password(), True


@command.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--scope", "scopes", multiple=True,
              help="Area the user sees: bd_district:5585, bd_division:55, np_district:306, "
                   "np_province:3 or * (repeat for several). Admins always see everything.")
@click.option("--name", "display_name", default="", help="Full name shown in the web pages.")
@click.option("--password", help="Password (at least 10 characters). Default: prompt, or "
                                 "generate one and print it.")
def create(username: str, role: str, scopes: tuple[str, ...], display_name: str,
           password: str | None) -> None:
    """Create web user USERNAME."""
    secret, generated = _password(password)
    scope = people.checked_scope(list(scopes), role)
    accounts.create_user(get_session(), username, secret, role, scope,
                         display_name=display_name, actor="cli")
    click.echo(f"User '{username}' created: {role}, sees {', '.join(scope)}.")
    if generated:
        click.echo(f"Password: {secret}")


@command.command("list")
def list_() -> None:
    """List web users with their role, areas and status."""
    users = list(get_session().scalars(select(User).order_by(User.username)))
    if not users:
        click.echo("No web users.")
        return
    for user in users:
        state = "active" if user.active else "disabled"
        last = f"last login {user.last_login_at:%Y-%m-%d}" if user.last_login_at else "never logged in"
        click.echo(f"{user.username}\t{user.role}\t{','.join(user.scope)}\t{state}\t{last}")


@command.command("passwd")
@click.argument("username")
@click.option("--password", help="New password. Default: prompt, or generate one and print it.")
def passwd(username: str, password: str | None) -> None:
    """Set a new password for USERNAME (their open sessions are logged out)."""
    db = get_session()
    secret, generated = _password(password)
    accounts.set_password(db, people.get_user(db, username), secret, actor="cli")
    click.echo(f"Password of '{username}' changed.")
    if generated:
        click.echo(f"Password: {secret}")


@command.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable USERNAME: they cannot log in and their open sessions end."""
    _set_active(username, False)
    click.echo(f"User '{username}' disabled.")


@command.command("sign-out")
@click.argument("username")
def sign_out(username: str) -> None:
    """End every web session of USERNAME at once (a lost or shared computer)."""
    db = get_session()
    ended = web_sessions.end_all(db, people.get_user(db, username), actor="cli")
    click.echo(f"User '{username}' signed out of {ended} session{'s' if ended != 1 else ''}.")


@command.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable USERNAME again."""
    _set_active(username, True)
    click.echo(f"User '{username}' enabled.")


def _set_active(username: str, active: bool) -> None:
    db = get_session()
    people.set_active(db, people.get_user(db, username), active, actor="cli")
