"""The one way into the system: Collect uploads, KoBo and Central pulls and phone-folder imports
all call ``accept``.

Two steps, two transactions. First the raw store commits the exact bytes (that is what a 201
promises). Then the loader parses them into warehouse rows, at once or, for Collect uploads to the
server, in batches shortly after; a parse failure flags the raw row and never loses it, and a
crash between the steps leaves the row ``pending`` for the next batch (or ``sangjog pipeline
process``) to pick up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from .models import Submission
from .storage import BlobStore

if TYPE_CHECKING:
    from .rawstore import Envelope


@dataclass
class Incoming:
    """A submission as it arrives, before anything is stored."""

    xml: bytes
    files: dict[str, bytes] = field(default_factory=dict)  # attachment name -> bytes
    source: str = "collect"  # collect | kobo | central | import
    source_ref: str | None = None  # the remote id (KoBo _id, Central instanceId)
    submitter: str | None = None
    # An app user's key (Collect under /key/...): checked in the raw store's own transaction
    # (unknown → 401, revoked → 403, form not assigned → 403); its name becomes the submitter.
    key: str | None = None
    device_id: str | None = None
    received_at: datetime | None = None  # original submission time for pulls; now for Collect
    review_state: str | None = None  # carried over from KoBo / Central
    # Collect splits big uploads: a part marked incomplete means more attachments will follow.
    incomplete: bool = False


@dataclass
class Outcome:
    status: str  # created | duplicate | attachments_added | edited
    submission_id: int
    session: Session | None = field(default=None, repr=False, compare=False)

    @property
    def submission(self) -> Submission:
        """The stored row, read (through the caller's session) when asked for: the upload path
        itself never needs it."""
        if self.session is None:
            raise RuntimeError("stored without a session: read submission_id instead")
        was_open = self.session.in_transaction()
        # Read afresh: the raw store wrote on a connection of its own, and the session may hold
        # an older copy of this row (importers read it, files and all, before sending more).
        found = self.session.get(Submission, self.submission_id, populate_existing=True)
        assert found is not None, "an accepted submission is never deleted"
        self.session.expire(found, ["attachments"])
        if not was_open:
            self.session.commit()  # leave no read snapshot open behind the caller's back
        return found

    @property
    def is_new(self) -> bool:
        return self.status in ("created", "edited")


def accept(session: Session, blobs: BlobStore, incoming: Incoming, *, load: bool = True,
           envelope: Envelope | None = None) -> Outcome:
    """Store, then parse. Raises ``Problem`` for anything refused; nothing half-written remains.
    ``load=False`` stores only and leaves the submission ``pending`` for a batch load
    (``loader.load_pending``): the server answers Collect sooner and loads many at once.
    ``envelope``: ``rawstore.read_envelope(incoming.xml)`` when the caller has read it already."""
    from . import loader, rawstore

    outcome = rawstore.save(session, blobs, incoming, envelope)
    if load and (outcome.status != "duplicate" or outcome.submission.parse_status == "pending"):
        loader.load_id(session, outcome.submission_id)
    return outcome
