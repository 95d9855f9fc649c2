"""Clients on a slow network, for the slow-client test and ``bench/slow_clients.py``: each sends
an upload's headers, then its body one byte every ``interval`` seconds, as a phone on a bad 2G
link (or someone holding the server's connections on purpose) would."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator

BODY_BYTES = 1_000_000  # declared, never all sent


@contextlib.contextmanager
def dribbling(port: int, connections: int = 16, interval: float = 2.0, *,
              headers_only: int = 0) -> Iterator[None]:
    """``connections`` uploads dribbling into 127.0.0.1:``port`` while the block runs, and
    ``headers_only`` requests that never finish their headers (no credentials needed)."""
    stop = threading.Event()
    sockets = []
    for i in range(connections + headers_only):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i < connections:
            sock.sendall(
                f"POST /key/slow-phone-{i}/submission HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: multipart/form-data; boundary=slow\r\n"
                f"Content-Length: {BODY_BYTES}\r\n\r\n-".encode())
        else:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: -")
        sockets.append(sock)

    def trickle() -> None:
        while not stop.wait(interval):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"-")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for sock in sockets:
            sock.close()


def probe(port: int, path: str = "/login", timeout: float = 30.0) -> float:
    """Seconds until a plain page answered (``timeout`` when it did not)."""
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
    except OSError:
        return timeout
    assert response.status == 200, response.status
    return time.monotonic() - started
