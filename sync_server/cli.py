"""The ``sangjog`` command: everything an admin does from a terminal.

Built on Flask's click integration so every command runs inside an app context with the same
settings as the server (``DATABASE_URL``, ``SANGJOG_DATA_DIR``).
"""

from __future__ import annotations

import importlib

import click
from flask.cli import FlaskGroup, with_appcontext

from . import create_app

# Modules in sync_server.commands, each exposing a click command or group named ``command``.
COMMAND_MODULES: list[str] = ["app_users", "serve", "pipeline", "forms", "projects", "ballots",
                              "users", "setup", "export", "sources"]


class SangjogGroup(FlaskGroup):
    """Flask's group without third-party plugin commands: the CLI is ours and documented."""

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True


@click.group(cls=SangjogGroup, create_app=lambda: create_app(), add_default_commands=False)
def cli() -> None:
    """Sangjog: ODK Collect sync server, submission warehouse and export pipelines."""


def _in_app_context(command: click.Command) -> None:
    """Give every leaf command an app context, however its module declared it.

    Flask pushes one only for commands made through ``AppGroup``; a plain click command added
    here would otherwise fail with "Working outside of application context" from a terminal.
    Wrapping twice is harmless: ``with_appcontext`` reuses a context that is already there.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _in_app_context(sub)
    elif command.callback is not None:
        command.callback = with_appcontext(command.callback)


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"sync_server.commands.{_name}")
    _in_app_context(_module.command)
    cli.add_command(_module.command)
    # A module may add top-level commands besides its group (sources: ``pull``, ``import``).
    for _extra in getattr(_module, "more_commands", ()):
        _in_app_context(_extra)
        cli.add_command(_extra)
