"""Memory benchmark: peak resident memory of each server process while it takes hostile or huge
input, through real HTTP under ``sangjog serve --workers 2`` (gunicorn) and its loader process.

    .venv/bin/python bench/memory.py [--backends sqlite,postgresql] [--upload-mb 100]

Steps, one after another, on a fresh database: a 100 MB upload (one photo), the thumbnail of a
12000 × 12000 PNG (about 420 KB, uploaded as a photo, the thumbnail asked for by a logged-in
admin), and a 30 MB submission of 8 million empty elements. After each step it reads every
process's peak (``VmHWM`` in ``/proc/PID/status``) and the answer. Exit status 1 when a process
passes ``LIMIT_MB``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline import accounts  # noqa: E402
from pipeline.db import make_engine, session_factory, upgrade  # noqa: E402
from tests.builders import encode_multipart, publish  # noqa: E402
from tests.builders import site_visit as submission_xml  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402
from tests.pg import Cluster  # noqa: E402

LIMIT_MB = 300
PASSWORD = "a long benchmark password"


def peaks(root_pid: int) -> dict[str, int]:
    """Peak RSS in MB of the server's processes: the gunicorn master, its workers, the loader."""
    out: dict[str, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", text).group(1))
        pid = int(status.parent.name)
        if pid != root_pid and ppid != root_pid:
            continue
        hwm = re.search(r"VmHWM:\s+(\d+) kB", text)
        if hwm is None:
            continue
        role = ("master" if pid == root_pid else
                "loader" if "pipeline" in cmdline or "follow" in cmdline else f"worker {pid}")
        out[role] = int(hwm.group(1)) // 1024
    return out


def png_12000() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12000, 12000), (30, 120, 60)).save(out, "PNG")
    return out.getvalue()


def post(base: str, key: str, xml: bytes, files: dict[str, bytes]) -> tuple[int, float]:
    body, content_type = encode_multipart(xml, files)
    started = time.monotonic()
    response = requests.post(f"{base}/key/{key}/submission", data=body,
                             headers={"Content-Type": content_type}, timeout=600)
    return response.status_code, time.monotonic() - started


def wait_loaded(base: str, web: requests.Session, submission_id: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if web.get(f"{base}/submissions/{submission_id}", timeout=60).status_code == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"submission {submission_id} never reached the warehouse")


def run(backend: str, url: str, folder: Path, upload_mb: int) -> list[tuple[str, str, dict]]:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        publish(session, "site_visit", with_media=False)
        key = accounts.create_app_user(session, "bench-phone", [], actor="bench").token
        accounts.create_user(session, "bench-admin", PASSWORD, "admin")
    engine.dispose()
    server = LiveServer(url, folder, workers=2)
    server.env["MAX_SUBMISSION_MB"] = str(upload_mb + 20)
    rows = []
    with server:
        base = f"http://127.0.0.1:{server.port}"
        time.sleep(2)  # the loader process starts after the workers
        rows.append(("started", "", peaks(server.process.pid)))

        photo = bytes(upload_mb * 1024 * 1024)
        status, took = post(base, key, submission_xml("uuid:big", photo="big.jpg"),
                            {"big.jpg": photo})
        del photo
        rows.append((f"{upload_mb} MB upload (one photo)", f"{status} in {took:.1f} s",
                     peaks(server.process.pid)))

        status, took = post(base, key, submission_xml("uuid:png", photo="huge.png"),
                            {"huge.png": png_12000()})
        web = requests.Session()
        page = web.get(f"{base}/login", timeout=60).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        web.post(f"{base}/login", data={"username": "bench-admin", "password": PASSWORD,
                                        "csrf_token": token}, timeout=60)
        wait_loaded(base, web, 2)
        thumb = web.get(f"{base}/attachments/2/huge.png?size=thumb", timeout=120)
        rows.append(("12000 × 12000 PNG: upload, then its thumbnail",
                     f"{status}; thumbnail {thumb.status_code} {thumb.headers.get('Content-Type')}",
                     peaks(server.process.pid)))

        flood = submission_xml("uuid:flood").replace(
            b"<name>Rina</name>", b"<name>" + b"<a/>" * 8_000_000 + b"</name>")
        status, took = post(base, key, flood, {})
        rows.append((f"{len(flood) // (1024 * 1024)} MB of 8 million empty elements",
                     f"{status} in {took:.1f} s", peaks(server.process.pid)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--upload-mb", type=int, default=100)
    args = parser.parse_args()
    worst = 0
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="sangjog-memory-") as tmp:
            folder = Path(tmp)
            cluster = None
            if backend == "postgresql":
                cluster = Cluster(folder / "pg").start()
                admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql("CREATE DATABASE bench")
                admin.dispose()
                url = cluster.database_url("bench")
            else:
                url = f"sqlite:///{folder / 'bench.db'}"
            try:
                rows = run(backend, url, folder, args.upload_mb)
            finally:
                if cluster is not None:
                    cluster.stop()
        print(f"\n{backend}: peak resident memory (VmHWM, MB) after each step")
        print("| step | answer | " + " | ".join(sorted(rows[-1][2])) + " |")
        for step, answer, found in rows:
            print(f"| {step} | {answer} | " + " | ".join(str(found.get(k, "")) for k in sorted(rows[-1][2])) + " |")
            worst = max([worst, *found.values()])
    print(f"\nhighest peak: {worst} MB (limit {LIMIT_MB} MB)")
    return 0 if worst <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
