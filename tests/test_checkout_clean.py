"""Running the app writes nothing into the checkout: ``sangjog setup`` and ``sangjog serve`` in a
fresh ``git clone`` (as ``make run`` runs them: the data folder is the clone's ignored ``data/``)
leave ``git status`` clean, with the catalogues looking newer than their compiled ``.mo`` as a
fresh clone's timestamps can make them; the server's own files stay in the data folder, none in
the home folder."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live_server import SERVE, free_port

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=120).stdout


@pytest.mark.slow
def test_setup_and_serve_in_a_fresh_clone_leave_it_clean(tmp_path):
    clone = tmp_path / "clone"
    _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone), cwd=tmp_path)
    later = time.time() + 60
    for po in clone.glob("sync_server/translations/*/LC_MESSAGES/messages.po"):
        os.utime(po, (later, later))  # newer than its .mo
    before = _files(clone)
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SANGJOG_", "DATABASE_URL", "SECRET_KEY", "SERVER_URL"))}
    env.update(PYTHONPATH=str(clone), HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    setup = subprocess.run([sys.executable, "-c", SERVE, "setup"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--port", str(port)],
                                  cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        status = _first_answer(port, server, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert status == 200
    assert "WaitressWorker" in log.read_text()  # the production server, as make run starts it
    assert _git("status", "--porcelain", cwd=clone) == ""
    # Not even rewritten with the same bytes (git status would not see that).
    assert _files(clone) == before
    ignored = _git("status", "--porcelain", "--ignored", cwd=clone).split("\n")
    assert [line for line in ignored if line and line != "!! data/"] == []
    assert list(home.iterdir()) == []  # no control socket or pid file in the home folder


def _files(clone: Path) -> dict[str, int]:
    """Every file of the checkout outside ``.git`` and the data folder, with its mtime."""
    return {str(path.relative_to(clone)): path.stat().st_mtime_ns
            for path in clone.rglob("*")
            if path.is_file() and path.relative_to(clone).parts[0] not in (".git", "data")}


def _first_answer(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {timeout} s:\n{log.read_text()[-3000:]}")
