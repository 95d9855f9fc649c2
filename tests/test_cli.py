"""Every command works from a real terminal, where no test fixture provides an app context."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SANGJOG = Path(sys.executable).with_name("sangjog")


@pytest.mark.parametrize(
    "args",
    [
        ["projects", "list"],
        ["ballots", "tally"],
        ["forms", "list"],
        ["pipeline", "status"],
        ["user", "list"],
        ["source", "list"],
        ["app-user", "list"],
    ],
    ids=" ".join,
)
def test_read_only_commands_run_from_a_terminal(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "SANGJOG_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(SANGJOG), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "outside of application context" not in done.stderr


def test_help_lists_every_command_with_its_own_summary() -> None:
    """``sangjog --help`` imports no command: its summaries must say what each command says."""
    import click

    from sync_server.cli import COMMANDS, cli

    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name, (_, _, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert (command.help or "").split("\n\n")[0].strip() == summary, name


@pytest.mark.parametrize("args", [["--help"], ["forms", "list"]], ids=" ".join)
def test_light_commands_do_not_import_the_heavy_libraries(args: list[str], tmp_path: Path) -> None:
    """What keeps ``sangjog --help`` and ``sangjog forms list`` quick (bench/cli_startup.py)."""
    probe = ("import sys\nfrom sync_server.cli import cli\n"
             "try:\n    cli.main(args=sys.argv[1:], prog_name='sangjog')\n"
             "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
             "heavy = ('pandas', 'numpy', 'pyxform', 'xlsxwriter', 'openpyxl', 'PIL', 'qrcode')\n"
             "print('IMPORTED', [m for m in heavy if m in sys.modules])\n")
    env = {**os.environ, "SANGJOG_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stdout, done.stdout
