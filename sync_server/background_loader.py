"""Loads Collect uploads into the warehouse in batches, shortly after their 201.

The submission endpoint commits the raw submission and answers 201. Under gunicorn
(``sangjog serve --workers N``) one loader process, ``sangjog pipeline follow``, looks for
pending submissions every ``GATHER_SECONDS`` (``gunicorn_conf`` starts it). Anywhere else (the
development server, a test client) a thread of the app's process does the same, woken by each
upload. Either way uploads arriving together load together: one transaction and one insert per
table for the lot, instead of a transaction each. Readers never wait for the loader: pages,
downloads and generated media first ``catch_up`` on whatever is still pending, so what a user
sees always includes every upload that got its 201.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from flask import Flask, current_app, request

from pipeline import loader

from .write_turn import write_turn

log = logging.getLogger(__name__)

GATHER_SECONDS = 0.5  # how long uploads gather before a batch loads them
SWEEP_SECONDS = 5.0  # how often an idle loader thread looks for pending submissions anyway
FOLLOW_NICENESS = 10  # the loader process's CPU priority below the web workers (``nice``)
# Requests that never read the warehouse skip the catch-up read.
_NO_CATCH_UP = {None, "static", "openrosa.submission", "openrosa.form_list",
                "openrosa.form_download"}


# Set by ``gunicorn_conf`` for its workers: a loader process runs, so no thread of their own.
LOADER_PROCESS_ENV = "SANGJOG_LOADER_PROCESS"


def init_app(app: Flask) -> None:
    if app.config["LOAD_SUBMISSIONS"] == "background":
        loader_thread = None if os.environ.get(LOADER_PROCESS_ENV) else BackgroundLoader(app)
        app.extensions["background_loader"] = loader_thread
        app.before_request(_catch_up_before_reading)


def in_background(app: Flask) -> bool:
    return "background_loader" in app.extensions


def wake(app: Flask) -> None:
    loader_thread = app.extensions["background_loader"]
    if loader_thread is not None:
        loader_thread.wake()


def catch_up(app: Flask) -> loader.Processed:
    """Load what is pending now, in this thread (a reader that must see everything)."""
    with app.extensions["sessions"]() as session:
        if loader.pending_exists(session) is None:
            return loader.Processed()
        session.rollback()
        return loader.catch_up(session, turn=lambda: write_turn(app))


def _catch_up_before_reading() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    loader_thread = app.extensions["background_loader"]
    if loader_thread is not None:
        loader_thread.ensure_running()  # also picks up what a crash left
    if request.endpoint not in _NO_CATCH_UP:
        catch_up(app)


class BackgroundLoader:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wake(self) -> None:
        self.ensure_running()
        self._wake.set()

    def ensure_running(self) -> None:
        """Start the thread in this process (gunicorn forks workers after the app is made)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if self._stopping.is_set():
                return
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, name="sangjog-loader", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Finish the batch in hand and end the thread (tests, and a clean shutdown)."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(SWEEP_SECONDS)
            self._wake.clear()
            if self._stopping.wait(GATHER_SECONDS):
                break
            try:
                self.load_all()
            except Exception:  # the database may be away for a moment: try again later
                log.exception("the background loader failed; it tries again shortly")
                self._stopping.wait(1.0)

    def load_all(self) -> None:
        load_round(self.app, self._stopping)


def load_round(app: Flask, stopping: threading.Event) -> int:
    """Load what is pending, in full batches; a part batch ends the round, so uploads that
    arrive meanwhile gather into the next round's batch instead of trickling through one or
    two at a time. Returns how many loaded or were flagged."""
    total = 0
    with app.extensions["sessions"]() as session:
        if loader.pending_exists(session) is None:
            return 0
        session.rollback()
        while not stopping.is_set():
            # Parsed before the writer's turn: uploads wait only while the rows are written.
            prepared = loader.prepare_pending(session)
            with write_turn(app):
                done = loader.load_pending(session, prepared=prepared)
            total += done.ok + done.failed
            if done.seen < loader.BATCH_SIZE:
                return total


def follow(app: Flask, interval: float = GATHER_SECONDS, stop_after: float | None = None) -> int:
    """Load uploads as they arrive until SIGTERM/SIGINT (or ``stop_after`` seconds): what
    ``sangjog pipeline follow`` runs. Returns how many it loaded."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    # Below the web workers: in a burst, uploads are answered first and loaded right after
    # (pages and downloads load what is pending themselves, at the readers' own priority).
    os.nice(FOLLOW_NICENESS)
    deadline = time.monotonic() + stop_after if stop_after is not None else None
    total = 0
    while not stopping.is_set():
        try:
            total += load_round(app, stopping)
        except Exception:  # the database may be away for a moment: try again shortly
            log.exception("loading pending submissions failed; trying again shortly")
            stopping.wait(1.0)
        if deadline is not None and time.monotonic() >= deadline:
            break
        stopping.wait(interval)
    return total
