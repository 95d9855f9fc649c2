"""The deployment guide's nginx site works: ``deploy/nginx-sangjog.conf``, run by Debian's nginx on
127.0.0.1 with a certificate made here, in front of a live server (``deploy/sangjog.env``'s
``PROXY_COUNT=1``); a phone uploads a submission with a photo through it and lists its forms.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from pipeline import accounts
from pipeline.db import session_factory
from pipeline.models import LoginFailure, Submission
from pipeline.storage import BlobStore
from sync_server.config import SETTINGS
from tests import builders
from tests.live_server import ROOT, LiveServer, free_port

DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "correct horse battery"



def test_the_units_run_commands_that_exist():
    """Every ``sangjog`` command line in the systemd units parses (options renamed break this)."""
    import shlex

    import click

    from sync_server.cli import cli

    lines = [line.split("=", 1)[1] for unit in ("sangjog.service", "sangjog-backup.service")
             for line in (DEPLOY / unit).read_text().splitlines()
             if line.startswith(("ExecStart=", "ExecStartPre="))]
    assert len(lines) == 3
    for line in lines:
        program, name, *args = shlex.split(line)
        assert program == "/opt/sangjog/.venv/bin/sangjog"
        with click.Context(cli) as ctx:
            command = cli.get_command(ctx, name)
            assert command is not None, line
            command.make_context(name, args, parent=ctx)  # raises on an unknown option


needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(),
    reason="Debian's nginx is not installed; tools/system-deps.sh installs it (apt-get install nginx)")


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _site(app_port: int, http_port: int, tls_port: int, cert: Path,
          key: Path) -> str:
    """The repository's site with this test's ports and paths: each line replaced must be there."""
    site = (DEPLOY / "nginx-sangjog.conf").read_text()
    replacements = {
        "server 127.0.0.1:5000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls_port} ssl;",
        "/etc/letsencrypt/live/sangjog.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/sangjog.example.org/privkey.pem": str(key),
        "server_name sangjog.example.org;": "server_name localhost;",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx-sangjog.conf no longer has {old!r}"
        site = site.replace(old, new)
    return "\n".join(line for line in site.splitlines() if "listen [::]" not in line)


class Nginx:
    """Debian's nginx in the foreground with its files in ``folder``."""

    def __init__(self, folder: Path, site: str) -> None:
        self.folder = folder
        (folder / "sangjog.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers read files under /tmp
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
            f"error_log {folder}/error.log info;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n access_log {folder}/access.log;\n"
            + "".join(f" {kind}_temp_path {folder}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f" include {folder}/sangjog.conf;\n}}\n")
        self.argv = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                     "-e", str(folder / "error.log")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> Nginx:
        checked = subprocess.run([*self.argv, "-t"], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return self
            time.sleep(0.05)
        raise AssertionError(f"nginx did not listen on {port}; see {self.folder}/error.log")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # finish what it is doing, then exit
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.mark.slow
@needs_nginx
def test_nginx_site_in_front_of_the_server(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploy.db'}"
    engine, key = builders.database_for_phones(url, "nginx-phone", then=lambda session: (
        accounts.create_user(session, "rahima", PASSWORD, "admin", ["*"], actor="test")))
    http_port, tls_port = free_port(), free_port()
    public = f"https://localhost:{tls_port}"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = LiveServer(url, data_dir, workers=2)
    env_file = (DEPLOY / "sangjog.env").read_text()
    assert re.search(r"^PROXY_COUNT=1$", env_file, re.M)
    server.env.update(SERVER_URL=public, PROXY_COUNT="1")
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    cert, cert_key = _certificate(nginx_dir)
    site = _site(server.port, http_port, tls_port, cert, cert_key)
    # nginx lets through every upload the server accepts.
    limit = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    assert limit >= next(s.default for s in SETTINGS if s.name == "MAX_SUBMISSION_MB")
    nginx = Nginx(nginx_dir, site)
    try:
        server.start(timeout=120)
        nginx.start(tls_port)

        # A submission with a 2 MB photo: over client_body_buffer_size, so nginx holds the
        # body in a temporary file until all of it is in, then hands it on.
        photo = hashlib.sha256(b"nginx").digest() * 65536
        body, content_type = builders.encode_multipart(builders.site_visit("uuid:through-nginx",
                                                                           photo="p.jpg"),
                                              {"p.jpg": photo})
        sent = requests.post(f"{public}/key/{key}/submission", data=body, verify=str(cert),
                             headers={"Content-Type": content_type, "X-OpenRosa-Version": "1.0"},
                             timeout=60)
        assert sent.status_code == 201, sent.text
        assert sent.headers["X-OpenRosa-Version"] == "1.0"

        forms = requests.get(f"{public}/key/{key}/formList", verify=str(cert), timeout=30,
                             headers={"X-OpenRosa-Version": "1.0"})
        assert forms.status_code == 200
        assert f"<downloadUrl>{public}/key/{key}/formXml/site_visit</downloadUrl>" in forms.text

        # The uptime check of docs/deploy.md#monitoring answers through nginx.
        health = requests.get(f"{public}/healthz", verify=str(cert), timeout=30)
        assert health.status_code == 200, health.text

        # Plain HTTP sends browsers to HTTPS.
        plain = requests.get(f"http://localhost:{http_port}/login", allow_redirects=False,
                             timeout=30)
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://localhost/login"

        # A web login over HTTPS: the cookie is Secure (SERVER_URL is https) and works.
        web = requests.Session()
        page = web.get(f"{public}/login", verify=str(cert), timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        login = web.post(f"{public}/login", allow_redirects=False, verify=str(cert), timeout=30,
                         data={"csrf_token": token, "username": "rahima", "password": PASSWORD},
                         headers={"Referer": f"{public}/login"})  # checked over HTTPS
        assert login.status_code == 302
        assert "secure" in login.headers["Set-Cookie"].lower()
        assert web.get(f"{public}/dashboard", allow_redirects=False, verify=str(cert),
                       timeout=30).status_code == 200

        # Too large: refused by nginx from the Content-Length alone, before any body is sent.
        context = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", tls_port, context=context, timeout=30)
        conn.putrequest("POST", f"/key/{key}/submission")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str((limit + 1) * 1024 * 1024))
        conn.endheaders()
        assert conn.getresponse().status == 413
        conn.close()

        # A wrong password counts against the phone's own address (from a second loopback
        # address here), not nginx's, and a made-up X-Forwarded-For changes nothing.
        conn = http.client.HTTPSConnection("127.0.0.1", tls_port, context=context, timeout=30,
                                           source_address=("127.0.0.2", 0))
        conn.request("GET", "/formList", headers={
            "Authorization": "Basic " + base64.b64encode(b"rahima:wrong").decode(),
            "X-Forwarded-For": "198.51.100.7"})
        assert conn.getresponse().status == 401
        conn.close()
    finally:
        nginx.stop()
        server.stop()

    with session_factory(engine)() as session:
        stored = session.scalars(select(Submission)).one()
        assert BlobStore(data_dir / "blobs").get(stored.attachments[0].sha256) == photo
        assert [f.address for f in session.scalars(select(LoginFailure))] == ["127.0.0.2"]
    engine.dispose()
