"""Run a WSGI app on 127.0.0.1 (a free port) in a thread, for as long as a ``with`` lasts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serving(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def drop_after(environ: dict[str, Any], body: bytes) -> Iterator[bytes]:
    """Send half of ``body`` (announced whole in Content-Length), then cut the connection."""
    yield body[: len(body) // 2]
    sock = environ["werkzeug.socket"]
    sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("connection cut on purpose by the fake server")


class Hold:
    """Keeps the first request that reaches it waiting until the test calls ``release()``
    (at most ``timeout`` seconds), so a test can act while a pull is mid-way. Later requests
    pass straight through."""

    def __init__(self, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self.reached = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._used = False

    def __call__(self) -> None:
        with self._lock:
            if self._used:
                return
            self._used = True
        self.reached.set()
        self._released.wait(self.timeout)

    def release(self) -> None:
        self._released.set()
