"""Docs are checked: every setting and every CLI command has documentation."""

from __future__ import annotations

from pathlib import Path

import click

from sync_server.cli import cli
from sync_server.config import SETTINGS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _command_paths(group: click.Group, prefix: str = "") -> list[str]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        full = f"{prefix}{name}"
        paths.append(full)
        if isinstance(cmd, click.Group):
            paths.extend(_command_paths(cmd, f"{full} "))
    return paths


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in text]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [p for p in _command_paths(cli) if f"sangjog {p}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"
