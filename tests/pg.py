"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests, from Debian's initdb/pg_ctl.

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` system user
that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise RuntimeError(f"{name} not found: install Debian's postgresql package (make test does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def unreachable_url() -> str:
    """A PostgreSQL address on 127.0.0.1 where nothing listens: a database out of reach."""
    return f"postgresql://sangjog@127.0.0.1:{_free_port()}/none"


class Cluster:
    def __init__(self, base: Path, *, synchronous_commit: bool = False) -> None:
        self.base = base
        # Tests skip waiting for each commit's WAL write; the ingest benchmark does not, so an
        # acknowledged upload survives a crash of PostgreSQL itself (fsync stays off: the
        # machine's power is not under test, as with SQLite's synchronous=NORMAL).
        self.synchronous_commit = "on" if synchronous_commit else "off"
        self.data = base / "data"
        self.port = _free_port()
        self.url = f"postgresql://sangjog@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            os.chmod(self.base, 0o700)
            # Every parent must be traversable by the postgres user.
            for parent in self.base.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        self._run([_bin("initdb"), "-D", str(self.data), "-U", "sangjog", "--auth=trust",
                   "-E", "UTF8", "--no-locale"])
        return self.resume()

    def resume(self) -> Cluster:
        """Start the cluster's server (again, after ``stop``)."""
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit={self.synchronous_commit} -c full_page_writes=off "
                "-c max_connections=200")
        self._run([_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                   str(self.base / "server.log"), "-w", "-t", "60", "start"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start; see " + str(self.base / "server.log"))

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def database_url(self, name: str) -> str:
        return f"postgresql://sangjog@127.0.0.1:{self.port}/{name}"
