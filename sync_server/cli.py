"""The ``sangjog`` command: everything an admin does from a terminal.

Built on Flask's click integration so every command runs inside an app context with the same
settings as the server (``DATABASE_URL``, ``SANGJOG_DATA_DIR``).

Commands are loaded on demand: ``sangjog forms list`` imports ``sync_server.commands.forms`` and
nothing else, and ``sangjog --help`` imports no command at all (its one-line summaries are in
``COMMANDS``; ``tests/test_cli.py`` checks they match each command's own help). A command module
imports what only some of its commands need (pandas, pyxform, xlsxwriter) inside those commands.
A command lets a ``Problem`` from the catalogue propagate: the group prints its message.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import click
from flask.cli import FlaskGroup

if TYPE_CHECKING:
    from flask import Flask

# Command name -> (module in sync_server.commands, attribute, one-line help for ``--help``).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "app-user": ("app_users", "command",
                 "App users: one key (and QR code) per phone or team, limited to chosen forms."),
    "backup": ("backup", "command",
               "Back up the database, attachments and secret key while the server runs."),
    "blobs": ("blobs", "command",
              "Attachments: move them to object storage, check that every one is there."),
    "ballots": ("ballots", "command", "Workshop ballots: tally votes for nominated good practices."),
    "export": ("export", "command",
               "Excel workbooks for district offices and ODK Central-layout CSV zips."),
    "forms": ("forms", "command",
              "XLSForms: build and check them, publish them to phones, open or close them."),
    "import": ("sources", "import_command", "Import submissions from files."),
    "link": ("links", "command",
             "Public links (/l/TOKEN) to fill a form in a browser, without Collect or a login."),
    "pipeline": ("pipeline", "command",
                 "The warehouse: typed tables built from the raw submissions."),
    "projects": ("projects", "command",
                 "Innovation project registry: import it from CSV, list projects with their "
                 "progress."),
    "pull": ("sources", "pull_command",
             "Pull new and changed submissions from SOURCE (default: every source)."),
    "restore": ("backup", "restore",
                "Restore a backup into an empty database and data folder, checking every sha256."),
    "serve": ("serve", "command", "Serve ODK Collect (OpenRosa) and the web pages."),
    "setup": ("setup", "command",
              "Migrate the database, publish new forms, explain the project registry, make the "
              "first admin."),
    "source": ("sources", "command",
               "Remote servers to pull submissions from: KoBoToolbox assets and ODK Central forms."),
    "user": ("users", "command",
             "Web users: who may log in, with which role, seeing which districts."),
}


def _create_app() -> Flask:
    from . import create_app  # here, so that ``--help`` does not import the app's modules

    return create_app(http=False)  # ``sangjog serve`` builds the app with its endpoints itself


class SangjogGroup(FlaskGroup):
    """Flask's group with our commands only (no plugins, no app-provided commands), each imported
    the first time it is asked for."""

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, attribute, _ = COMMANDS[name]
            loaded = getattr(importlib.import_module(f"sync_server.commands.{module}"), attribute)
            self.add_command(loaded, name)
        return self.commands.get(name)

    def invoke(self, ctx: click.Context) -> object:
        """A problem from the catalogue ends any command the same way: its message, exit 1."""
        from pipeline.problems import Problem

        try:
            return super().invoke(ctx)
        except Problem as problem:
            raise click.ClickException(problem.message) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short(text, limit)) for name, text in rows])


def _short(text: str, limit: int) -> str:
    """click's own shortening of a command's help to one line (what ``--help`` always showed)."""
    return click.Command(None, help=text).get_short_help_str(limit)


@click.group(cls=SangjogGroup, create_app=_create_app, add_default_commands=False)
def cli() -> None:
    """Sangjog: ODK Collect sync server, submission warehouse and export pipelines."""


if __name__ == "__main__":  # ``python -m sync_server.cli``: what gunicorn's hooks start
    cli()
