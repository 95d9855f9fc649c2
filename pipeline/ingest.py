"""The one way into the system: Collect uploads, KoBo and Central pulls and phone-folder imports
all call ``accept``, and nothing else writes a submission.

``accept`` reads the submission's envelope, decides whether its writer may write it (the one
authorisation rule for every door), writes the attachment blobs (fsynced, outside the database's
write turn), then has the raw store commit the exact bytes through the database's ``Writer``
(that is what a 201 promises). The loader then parses them into warehouse rows: at once for
pulls and imports (``load=True``), or moments later in batches for Collect uploads, which the
server answers first. A parse failure flags the raw row and never loses it; a crash between the
steps leaves the row ``pending`` for the loader to pick up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, loader, rawstore, safe_xml
from .db import end_read, writer_for
from .models import Submission, User
from .rawstore import Envelope, Incoming, Outcome
from .storage import BlobStore

__all__ = ["Incoming", "Outcome", "accept", "authorize"]

if TYPE_CHECKING:
    from .accounts import KeyHolder

    Caller = KeyHolder | User | access.Principal


def accept(session: Session, blobs: BlobStore, incoming: Incoming, *,
           by: Caller | None = None, load: bool = True,
           envelope: Envelope | None = None) -> Outcome:
    """Store, then (``load``) parse into the warehouse. ``by``: who writes it: a web user, an
    app user's key, or a ready ``access.Principal`` (doors with no account of their own: form
    links); None for doors an admin runs (pulls, imports).
    Raises ``Problem`` for anything refused; nothing half-written remains. ``load=False`` leaves
    the submission ``pending`` for the loader's next batch. ``envelope``:
    ``rawstore.read_envelope(incoming.xml)`` when the caller has read it already."""
    envelope = envelope or rawstore.read_envelope(incoming.xml)
    authorize(session, by, envelope)
    if incoming.submitter is None and by is not None:
        incoming.submitter = by.username if isinstance(by, User) else by.name
    digests = rawstore.write_blobs(blobs, incoming, envelope) if incoming.files else {}
    end_read(session)  # the caller then sees what is written below
    outcome = writer_for(session.get_bind()).run(
        lambda conn: rawstore.store(conn, incoming, envelope, digests))  # type: ignore[arg-type]
    outcome.session = session
    if load and (outcome.status != "duplicate" or outcome.submission.parse_status == "pending"):
        loader.load_pending(session, up_to=outcome.submission_id)
    return outcome


def authorize(session: Session, by: Caller | None, envelope: Envelope) -> None:
    """The one rule for writing a submission, for every door (``access.check_write``: role,
    form, area); an edit may replace only a submission its writer may see. Raises a 403
    ``Problem``; ``by=None`` is a door an admin runs on the server (pulls, imports)."""
    if by is None:
        return
    if isinstance(by, access.Principal):
        who = by
    else:
        who = access.web_user(by) if isinstance(by, User) else access.app_user(by)
    access.check_write(who, envelope.form_id, access.location(envelope.root))
    if envelope.deprecated_id and not who.scope.everything:
        replaced = session.scalar(select(Submission.xml)
                                  .where(Submission.instance_id == envelope.deprecated_id))
        end_read(session)
        if replaced is not None:
            access.check_edit(who, access.location(safe_xml.submission(replaced)))
