"""Group commit for SQLite: uploads waiting for the one writer are written in one transaction.

SQLite writes one transaction at a time, so under load uploads queue for the write turn. The
first in the queue takes the turn and writes every upload queued by then in one transaction:
one BEGIN and one COMMIT for the lot instead of one each (an upload alone takes the raw
store's own way, a single statement when it can). Each upload still gets its own
answer, its outcome or the Problem that refused it (a refused upload writes nothing, so the
others go on), and no 201 goes out before the commit that holds its submission. If the
transaction fails as a whole, each upload of it is written again on its own, so one cannot
fail the others.

PostgreSQL runs transactions side by side and needs none of this: ``store`` writes each upload
on a pooled connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Connection

from pipeline import rawstore
from pipeline.ingest import Incoming, Outcome
from pipeline.problems import Problem
from pipeline.rawstore import Envelope

from .write_turn import writing


@dataclass
class _Upload:
    incoming: Incoming
    envelope: Envelope
    digests: dict[str, str]
    outcome: Outcome | None = None
    error: BaseException | None = None
    done: bool = False


class GroupWriter:
    """One per app (and process): the queue of uploads waiting to be written."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._queue: list[_Upload] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()
        self.largest_batch = 0  # the most uploads one transaction has held (a health figure)

    def store(self, incoming: Incoming, envelope: Envelope, digests: dict[str, str]) -> Outcome:
        """Store one upload (its blobs already written); returns once it is committed."""
        upload = _Upload(incoming, envelope, digests)
        with self._queue_lock:
            self._queue.append(upload)
        with self._leader:
            if not upload.done:  # nobody took it along: lead, taking everyone queued so far
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self.largest_batch = max(self.largest_batch, len(batch))
                self._write(batch)
        if upload.error is not None:
            raise upload.error
        assert upload.outcome is not None
        return upload.outcome

    def _write(self, batch: list[_Upload]) -> None:
        if len(batch) == 1:  # alone: the raw store's own shortest way (one statement if it can)
            self._write_alone(batch[0])
            return
        try:
            with writing(self.app) as conn, _immediate(conn).begin():
                for upload in batch:
                    try:
                        upload.outcome = rawstore.store_rows(
                            conn, upload.incoming, upload.envelope, upload.digests)
                    except Problem as problem:
                        upload.error = problem
        except Exception:
            # Nothing of the batch was committed: write each on its own, so whatever failed
            # fails only its own upload.
            for upload in batch:
                upload.outcome, upload.error = None, None
                try:
                    with writing(self.app) as conn, _immediate(conn).begin():
                        upload.outcome = rawstore.store_rows(
                            conn, upload.incoming, upload.envelope, upload.digests)
                except Exception as exc:  # reported to that upload's own request
                    upload.error = exc
        finally:
            self._finish(batch)

    def _write_alone(self, upload: _Upload) -> None:
        try:
            with writing(self.app) as conn:
                upload.outcome = rawstore.store(conn, self.app.extensions["blobs"],
                                                upload.incoming, upload.envelope, upload.digests)
        except Exception as exc:  # reported to the upload's own request
            upload.error = exc
        finally:
            self._finish([upload])

    @staticmethod
    def _finish(batch: list[_Upload]) -> None:
        for upload in batch:
            if upload.outcome is None and upload.error is None:
                upload.error = RuntimeError("the upload was interrupted before it was written")
            upload.done = True


def _immediate(conn: Connection) -> Connection:
    """The connection, its next transaction taking SQLite's write lock up front."""
    return conn.execution_options(sqlite_begin="IMMEDIATE")
