"""The HTTP server of ``sangjog serve``: waitress inside gunicorn's worker processes.

gunicorn's master binds the address, forks the workers, starts again one that dies or stops
answering its watchdog, and runs the loader process beside them (``gunicorn_conf``). Each worker
serves with waitress, which reads every request, headers and body, on one event loop and hands
the app only whole requests (a body past 512 KB waits in an unnamed temporary file, not in
memory): a phone trickling its photos in over a slow network, or a client that sends headers and
then nothing, holds a connection, never a thread. gunicorn's own sync workers read the body
inside the request, so 16 such connections stalled every page for minutes
(``docs/benchmarks.md``). The access log is written here, with app-user keys masked: they sit in
the URL path and are passwords.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.server import create_server

KEY_IN_PATH = re.compile(r"/key/[^/?\s\"]+")
# Open connections one worker keeps at most (slow phones included); more wait in the
# listen queue. Each costs a file descriptor and a few KB, no thread.
CONNECTION_LIMIT = 500
# A connection with nothing received or sent for this long is closed.
IDLE_SECONDS = 120
# What a request body may be, over the app's own limit (which answers a readable 413): past
# this waitress refuses it before reading it.
BODY_MARGIN = 1024 * 1024


def redact(text: str) -> str:
    return KEY_IN_PATH.sub("/key/…", text)


class WaitressWorker(Worker):
    """A gunicorn worker that serves with waitress (``--worker-class``)."""

    def run(self) -> None:
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        server: Any = create_server(
            self._access_logged(self.wsgi),
            sockets=[listener.sock for listener in self.sockets],
            threads=self.cfg.threads,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_SECONDS,
            max_request_body_size=(limit + BODY_MARGIN) if limit else 1024 ** 3,
            ident="Sangjog",
            # Forwarded headers reach the app untouched: it believes them only as far as
            # ``PROXY_COUNT`` says (waitress would drop them).
            clear_untrusted_proxy_headers=False,
        )
        sockets = getattr(server, "map", None) or server._map  # several addresses, or one
        try:
            while self.alive:
                self.notify()  # gunicorn's watchdog: the loop never waits on the app
                wasyncore.loop(timeout=1.0, map=sockets, use_poll=True, count=1)
                if self.ppid != os.getppid():
                    self.log.info("the server's main process went away; %s stops", self)
                    break
        finally:
            # Requests already running finish (up to gunicorn's graceful timeout).
            server.task_dispatcher.shutdown(cancel_pending=False,
                                            timeout=self.cfg.graceful_timeout)
            wasyncore.close_all(sockets)

    def _access_logged(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        access = self.log.access_log

        def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            started = time.monotonic()

            def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                query = environ.get("QUERY_STRING")
                target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
                access.info('%s "%s %s %s" %s %.1f ms', environ.get("REMOTE_ADDR", "-"),
                             environ.get("REQUEST_METHOD"), redact(target),
                             environ.get("SERVER_PROTOCOL"), status.split(" ", 1)[0],
                             (time.monotonic() - started) * 1000)
                return start_response(status, headers, exc_info)

            return app(environ, start)

        return logged
