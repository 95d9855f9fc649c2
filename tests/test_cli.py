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
