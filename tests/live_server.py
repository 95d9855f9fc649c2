"""The real server in a subprocess on 127.0.0.1 (``sangjog serve``), for crash tests and benchmarks.

The server runs in its own process group so a "power cut" (SIGKILL to the group) takes the
gunicorn master and its workers down at once.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sync_server.commands.serve import APP, DEFAULT_THREADS, gunicorn_args

ROOT = Path(__file__).resolve().parent.parent
SERVE = "from sync_server.cli import cli; cli(prog_name='sangjog')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, database_url: str, data_dir: Path, *, workers: int = 2,
                 port: int | None = None, log: Path | None = None,
                 app_spec: str | None = None, threads: int = DEFAULT_THREADS,
                 worker_class: str | None = None) -> None:
        self.port = port or free_port()
        # Another WSGI app under the same server settings (the benchmark's baseline).
        self.app_spec = app_spec
        # Another gunicorn worker class than ``sangjog serve``'s (benchmarks compare them).
        self.worker_class = worker_class
        self.workers = workers
        self.threads = threads
        self.data_dir = data_dir
        self.log = log or data_dir / "server.log"
        self.env = {**os.environ, "DATABASE_URL": database_url, "SANGJOG_DATA_DIR": str(data_dir),
                    "SECRET_KEY": "live-server-test", "PYTHONPATH": str(ROOT)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> LiveServer:
        argv = [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(self.workers),
                "--threads", str(self.threads)]
        if self.app_spec or self.worker_class:
            # The same gunicorn settings ``sangjog serve`` uses (threads, access log).
            options = gunicorn_args(f"127.0.0.1:{self.port}", self.workers, self.threads,
                                    str(self.data_dir / "server.pid"))
            if self.worker_class:
                options[options.index("--worker-class") + 1] = self.worker_class
            app = ([self.app_spec] if self.app_spec
                   else ["--config", "python:sync_server.gunicorn_conf", APP])
            argv = [sys.executable, "-m", "gunicorn", *options, *app]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/key/-/formList")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout}s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._wait_port_free()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._wait_port_free()

    def _wait_port_free(self, timeout: float = 10) -> None:
        # Workers are in the same group, but give the kernel a moment to drop them.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
