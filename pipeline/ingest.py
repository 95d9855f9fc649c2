"""The one way into the system: Collect uploads, KoBo and Central pulls and phone-folder imports
all call ``accept``.

Two steps, two transactions. First the raw store commits the exact bytes (that is what a 201
promises). Then the loader parses them into warehouse rows; a parse failure flags the raw row and
never loses it, and a crash between the steps leaves the row ``pending`` for ``sangjog pipeline
process`` to pick up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from .models import Submission
from .storage import BlobStore


@dataclass
class Incoming:
    """A submission as it arrives, before anything is stored."""

    xml: bytes
    files: dict[str, bytes] = field(default_factory=dict)  # attachment name -> bytes
    source: str = "collect"  # collect | kobo | central | import
    source_ref: str | None = None  # the remote id (KoBo _id, Central instanceId)
    submitter: str | None = None
    device_id: str | None = None
    received_at: datetime | None = None  # original submission time for pulls; now for Collect
    review_state: str | None = None  # carried over from KoBo / Central
    # Collect splits big uploads: a part marked incomplete means more attachments will follow.
    incomplete: bool = False


@dataclass
class Outcome:
    status: str  # created | duplicate | attachments_added | edited
    submission: Submission

    @property
    def is_new(self) -> bool:
        return self.status in ("created", "edited")


def accept(session: Session, blobs: BlobStore, incoming: Incoming) -> Outcome:
    """Store, then parse. Raises ``Problem`` for anything refused; nothing half-written remains."""
    from . import loader, rawstore

    outcome = rawstore.save(session, blobs, incoming)
    if outcome.status != "duplicate" or outcome.submission.parse_status == "pending":
        loader.load(session, outcome.submission)
    return outcome
