"""CLI startup benchmark: wall-clock time of ``sangjog --help`` and ``sangjog forms list``.

    .venv/bin/python bench/cli_startup.py              # median of 5 runs each
    .venv/bin/python bench/cli_startup.py --repeat 9

Each command runs in a fresh process (``python -m sync_server.cli``) against a throwaway data
folder (SQLite, migrated by a first untimed ``forms list``). Beside the commands it times a
baseline in the same sitting: a process that only imports Flask, SQLAlchemy and click, which every
command needs, so the figures can be read as a ratio on a loaded machine; and each process's CPU
time (user + system), which a busy machine disturbs less than the wall clock. It prints the load
average too, and the heavy libraries each command imported (pandas, pyxform, xlsxwriter,
openpyxl, numpy), which should be none.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numpy", "pyxform", "xlsxwriter", "openpyxl")

# Runs the CLI, then reports which heavy modules it imported.
_PROBE = f"""
import sys
from sync_server.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="sangjog", standalone_mode=True)
except SystemExit:
    pass
heavy = [m for m in {HEAVY!r} if m in sys.modules]
sys.stderr.write("HEAVY " + ",".join(heavy) + "\\n")
"""


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall-clock seconds, CPU seconds (user + system) of the child, heavy modules it imported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    heavy = next((line[6:] for line in done.stderr.splitlines() if line.startswith("HEAVY ")), "")
    return elapsed, cpu, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SANGJOG_DATA_DIR": data}
        env.pop("DATABASE_URL", None)
        py = sys.executable
        cases = {
            "baseline (import flask, sqlalchemy, click)": [py, "-c", "import flask, sqlalchemy, click"],
            "sangjog --help": [py, "-c", _PROBE, "--help"],
            "sangjog forms list": [py, "-c", _PROBE, "forms", "list"],
        }
        _time(cases["sangjog forms list"], env)  # creates and migrates the database; not timed
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        heavy: dict[str, str] = {}
        for _ in range(args.repeat):  # interleaved, so load changes hit every case alike
            for name, argv in cases.items():
                elapsed, cpu, imported = _time(argv, env)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                heavy[name] = imported
        baseline = statistics.median(times["baseline (import flask, sqlalchemy, click)"])
        baseline_cpu = statistics.median(cpus["baseline (import flask, sqlalchemy, click)"])
        result = {
            "load_average": os.getloadavg()[0],
            "repeat": args.repeat,
            "cases": {
                name: {
                    "median_s": round(statistics.median(runs), 3),
                    "ratio_to_baseline": round(statistics.median(runs) / baseline, 2),
                    "median_cpu_s": round(statistics.median(cpus[name]), 3),
                    "cpu_ratio_to_baseline": round(statistics.median(cpus[name]) / baseline_cpu, 2),
                    "heavy_imports": heavy[name].split(",") if heavy[name] else [],
                }
                for name, runs in times.items()
            },
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
