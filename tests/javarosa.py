"""JavaRosa, the form engine inside ODK Collect, to fill forms in tests (beside ODK's JS engine).

    from tests import javarosa
    result = javarosa.fill(xform_bytes, [("/data/country", "bd"), ...], media={"x.csv": b"..."})
    result.code, result.xml, result.violations

It runs ``JrFill.java`` from the shared tools folder (``SANGJOG_JRFILL``, default
``../shared/tools/javarosa-fill`` beside the checkout) against the JavaRosa inside pyxform's
ODK Validate jar; compiled once per run into a temporary folder. Exit codes as JrFill's README:
0 submission produced, 2 a constraint or required answer is violated, 3 an answer could not be
applied. Tests that need it are skipped when Java or JrFill is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pyxform

ROOT = Path(__file__).resolve().parent.parent
JRFILL = Path(os.environ.get("SANGJOG_JRFILL", ROOT.parent / "shared" / "tools" / "javarosa-fill"))
JAR = Path(pyxform.__file__).parent / "validators" / "odk_validate" / "bin" / "ODK_Validate.jar"


@dataclass
class JrResult:
    code: int
    xml: bytes
    violations: list[str]
    stderr: str


@functools.cache
def _classes() -> Path:
    source = JRFILL / "JrFill.java"
    if not source.is_file() or shutil.which("javac") is None or not JAR.is_file():
        pytest.skip("JavaRosa filler not available (JrFill.java, javac, ODK Validate jar)")
    out = Path(tempfile.gettempdir()) / f"sangjog-jrfill-{hashlib.sha256(source.read_bytes()).hexdigest()[:16]}"
    if not (out / "JrFill.class").exists():
        building = Path(tempfile.mkdtemp(prefix="jrfill-"))
        subprocess.run(["javac", "-nowarn", "-cp", str(JAR), "-d", str(building), str(source)],
                       check=True, capture_output=True)
        try:
            building.rename(out)
        except OSError:  # another test run compiled it first
            shutil.rmtree(building)
    return out


def fill(xform: bytes, answers: Iterable[Sequence[Any]], media: dict[str, bytes] | None = None) -> JrResult:
    """Fill ``xform`` front to back as a person swipes through it in Collect."""
    classes = _classes()
    with tempfile.TemporaryDirectory(prefix="jrfill-run-") as work:
        folder = Path(work)
        (folder / "form.xml").write_bytes(xform)
        (folder / "media").mkdir()
        for name, content in (media or {}).items():
            (folder / "media" / name).write_bytes(content)
        (folder / "answers.json").write_text(json.dumps([[p, v] for p, v in answers]), encoding="utf-8")
        done = subprocess.run(
            ["java", "-cp", f"{JAR}{os.pathsep}{classes}", "JrFill", str(folder / "form.xml"),
             "--answers", str(folder / "answers.json"), "--media", str(folder / "media"),
             "--out", str(folder / "out")],
            capture_output=True, timeout=120)
        produced = folder / "out" / "submission.xml"
        xml = produced.read_bytes() if produced.exists() else b""
    stderr = done.stderr.decode("utf-8", "replace")
    violations = [line.removeprefix("violation: ") for line in stderr.splitlines()
                  if line.startswith("violation: ")]
    return JrResult(done.returncode, xml, violations, stderr)
