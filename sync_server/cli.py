"""The ``sangjog`` command: everything an admin does from a terminal.

Built on Flask's click integration so every command runs inside an app context with the same
settings as the server (``DATABASE_URL``, ``SANGJOG_DATA_DIR``).
"""

from __future__ import annotations

import importlib

import click
from flask.cli import FlaskGroup

from . import create_app

# Modules in sync_server.commands, each exposing a click command or group named ``command``.
COMMAND_MODULES: list[str] = ["app_users", "serve", "pipeline", "forms", "projects", "ballots",
                              "users", "setup", "export", "sources", "backup"]


class SangjogGroup(FlaskGroup):
    """Flask's group without third-party plugin commands: the CLI is ours and documented."""

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True


@click.group(cls=SangjogGroup, create_app=lambda: create_app(), add_default_commands=False)
def cli() -> None:
    """Sangjog: ODK Collect sync server, submission warehouse and export pipelines."""


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"sync_server.commands.{_name}")
    cli.add_command(_module.command)
    # A module may add top-level commands besides its group (sources: ``pull``, ``import``).
    for _extra in getattr(_module, "more_commands", ()):
        cli.add_command(_extra)


if __name__ == "__main__":  # ``python -m sync_server.cli``: what gunicorn's hooks start
    cli()
