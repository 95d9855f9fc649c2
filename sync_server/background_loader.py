"""The loader beside the web server: uploads reach the warehouse moments after their 201.

The submission endpoint only commits the raw submission; ``pipeline.loader.follow`` loads what is
pending in batches. Under ``sangjog serve`` one loader process runs it (``sangjog pipeline
follow``, started by ``gunicorn_conf``); anywhere else (a test client, another WSGI server) a
thread of the app's process runs the same loop. Readers never wait for it: pages, downloads and generated
media first load whatever is still pending, so what a user sees always includes every upload
that got its 201.
"""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app, request

from pipeline import loader

from .db import get_session

# Set by ``gunicorn_conf`` for its workers: a loader process runs, so no thread of their own.
LOADER_PROCESS_ENV = "SANGJOG_LOADER_PROCESS"
# Requests that never read the warehouse skip the catch-up read.
_NO_CATCH_UP = {None, "static", "openrosa.submission", "openrosa.form_list",
                "openrosa.form_download", "health.healthz", "health.metrics"}


def init_app(app: Flask) -> None:
    thread = None if os.environ.get(LOADER_PROCESS_ENV) else LoaderThread(app)
    app.extensions["loader_thread"] = thread
    app.before_request(_before_request)


def stop(app: Flask) -> None:
    """End the app's loader thread, if it runs (app teardown, tests)."""
    thread = app.extensions.get("loader_thread")
    if thread is not None:
        thread.stop()


def _before_request() -> None:
    thread = current_app.extensions["loader_thread"]
    if thread is not None:
        thread.ensure_running()  # also picks up what a crash left
    if request.endpoint not in _NO_CATCH_UP:
        session = get_session()
        if loader.newest_pending(session) is not None:
            loader.load_pending(session)


class LoaderThread:
    """``loader.follow`` in a daemon thread, started by the first request of each process
    (gunicorn forks workers after the app is made)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._stopping.is_set() or (
                    self._pid == os.getpid() and self._thread is not None
                    and self._thread.is_alive()):
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=loader.follow, args=(self.app.extensions["sessions"], self._stopping),
                name="sangjog-loader", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Finish the batch in hand and end the thread."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)
