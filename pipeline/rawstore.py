"""The raw store: keep the exact XML and every attachment of a submission, exactly once.

``write_blobs`` writes the attachment blobs first (fsynced, content-addressed), then ``store``
writes the ``Submission`` and ``Attachment`` rows in one transaction and commits; both are called
by ``ingest.accept``, the only way in. A crash at any instant leaves either a
complete submission or none (at worst an unreferenced blob), and a retry then succeeds.

Idempotent on instanceID: the same bytes again only add attachments that were missing (Collect
splits big uploads and retries); different bytes under a known instanceID are refused. An edit
names the instance it replaces in ``meta/deprecatedID`` and becomes the current one of its root;
a version that arrives after its edit joins the edit's chain as an older version.
"""

from __future__ import annotations

import functools
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from xml.etree.ElementTree import Element

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import caches, problems, rawstore_fastpath, safe_xml, xform
from .db import end_read
from .driver_statements import DriverStatement
from .models import Attachment, Form, FormVersion, Submission, utcnow
from .storage import BlobStore, Content, size_of

# The columns that hold ids are this wide (``pipeline.models``).
MAX_ID_LENGTH = 255


@dataclass
class Incoming:
    """A submission as it arrives, before anything is stored."""

    xml: bytes
    # attachment name -> bytes, or a file read from its start (``storage.Content``: a large
    # upload is spooled to disk, never held in memory whole)
    files: dict[str, Content] = field(default_factory=dict)
    source: str = "collect"  # collect | kobo | central | import
    source_ref: str | None = None  # the remote id (KoBo _id, Central instanceId)
    submitter: str | None = None  # the writer's name when none is given
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
            end_read(self.session)  # leave no read snapshot open behind the caller's back
        return found

    @property
    def is_new(self) -> bool:
        return self.status in ("created", "edited")


@dataclass(frozen=True)
class Envelope:
    """What the server needs from a submission before storing it (pure, from the XML bytes)."""

    form_id: str
    version: str
    instance_id: str
    deprecated_id: str | None
    root: Element = field(repr=False, compare=False)


def read_envelope(xml: bytes) -> Envelope:
    """Parse the submission safely (no DTD, no entities) and read form id, version, instanceID."""
    root = safe_xml.submission(xml)
    form_id = _attr(root, "id")
    if not form_id:
        raise problems.missing_form_id()
    meta = _child(root, "meta")
    instance_id = _text(_child(meta, "instanceID")) if meta is not None else ""
    instance_id = instance_id or _attr(root, "instanceID")
    if not instance_id:
        raise problems.missing_instance_id()
    deprecated = _text(_child(meta, "deprecatedID")) if meta is not None else ""
    version = _attr(root, "version")
    for what, value in (("form id", form_id), ("version", version), ("instanceID", instance_id),
                        ("deprecatedID", deprecated)):
        if len(value) > MAX_ID_LENGTH:
            raise problems.id_too_long(what, MAX_ID_LENGTH)
    return Envelope(form_id, version, instance_id, deprecated or None, root)


def binary_paths(form: bytes, md5: str | None = None) -> frozenset[str]:
    """Absolute paths (``/data/photos/photo``) of the form's file fields (``type="binary"``)."""
    return xform.read(form, md5).binary_paths


def binary_values(root: Element, paths: frozenset[str]) -> list[str]:
    """File names the submission's binary fields hold, in document order, without repeats."""
    seen: dict[str, None] = {}
    for steps in _element_steps(paths):
        for el in _descend(root, steps):
            name = _text(el)
            if name:
                seen[name] = None
    return list(seen)


@functools.cache
def _element_steps(paths: frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """The steps below the root of each field's path: ``/data/rows/snap`` → ``(rows, snap)``."""
    steps = ([s for s in path.split("/") if s][1:] for path in sorted(paths))  # root dropped
    return tuple(tuple(path) for path in steps if path)


def _descend(root: Element, steps: tuple[str, ...]) -> list[Element]:
    """The elements at ``steps`` below ``root``, each step matched by local name in any
    namespace (Collect writes some groups with a namespace prefix and some without); a plain
    walk of the children, several times quicker than ElementPath's ``{*}`` wildcards."""
    found = [root]
    for step in steps:
        suffix = "}" + step
        found = [child for el in found for child in el
                 if child.tag == step or (isinstance(child.tag, str) and child.tag.endswith(suffix))]
        if not found:
            break
    return found


def is_plain_name(name: str) -> bool:
    """A file name with no directory part, so it can never point outside storage."""
    return (0 < len(name) <= MAX_ID_LENGTH and name not in (".", "..")
            and not re.search(r"[/\\\x00]", name))


def write_blobs(blobs: BlobStore, incoming: Incoming, envelope: Envelope) -> dict[str, str]:
    """Write (fsynced) every part named by a value in the XML; return name -> sha256.

    Which parts really are attachments is settled in ``store`` against the form's file fields;
    an extra blob is harmless. Writing again is cheap: a blob that exists is not rewritten.
    """
    texts = {_text(el) for el in envelope.root.iter()}
    return {name: blobs.put(data) for name, data in incoming.files.items()
            if name in texts and is_plain_name(name)}


def store(conn: Connection, incoming: Incoming, envelope: Envelope,
          digests: dict[str, str]) -> Outcome:
    """Store ``incoming`` (its blobs already written: ``digests`` from ``write_blobs``) as rows
    committed on ``conn``, a connection with no transaction open (``db.Writer.run``, which
    retries). Raises ``Problem`` when refused, having written nothing. SQLAlchemy Core, not the
    ORM: this runs for every upload, and the unit of work would cost more than the statements."""
    new_id = _store_in_one_statement(conn, incoming, envelope, digests)
    if new_id is not None:
        return Outcome("created", new_id)
    with conn.begin():
        return _store_rows(conn, incoming, envelope, digests)


# (form id, version) -> (md5, file fields) of versions seen by the usual path; the one-statement
# path checks the md5 in its condition, so an entry can never describe another version.
_versions: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
caches.register(_versions.clear)


def _store_in_one_statement(conn: Connection, incoming: Incoming, env: Envelope,
                            digests: dict[str, str]) -> int | None:
    """The new submission's id when ``rawstore_fastpath`` could store it; None otherwise. On
    a connection without a transaction, the statement commits by itself."""
    known = _versions.get((env.form_id, env.version))
    if known is None or env.deprecated_id:
        return None
    md5, paths = known
    referenced = binary_values(env.root, paths)
    if any(name in digests for name in referenced):
        return None  # attachment rows to write as well: one transaction, the usual path
    params = {
        **_new_row(incoming, env, incoming.review_state, len(referenced)),
        "current": True, "form_id": env.form_id, "version": env.version, "md5": md5,
    }
    try:
        return rawstore_fastpath.try_insert(conn, params)
    except IntegrityError:
        return None  # another upload of this instance won the race: the usual path answers


def _store_rows(conn: Connection, incoming: Incoming, env: Envelope,
                digests: dict[str, str]) -> Outcome:
    """The rows of ``store`` for every case, inside the caller's write transaction. A refused
    upload raises ``Problem`` having written nothing."""
    form_pk, state, version_md5, version_pk, existing_pk, has_later = _lookup(conn, env)
    form = xform.cached(version_md5)
    if form is None:  # the first upload to this version in this process: parse it once
        form = xform.read(conn.scalar(select(FormVersion.xml).where(FormVersion.id == version_pk)),
                          version_md5)
    paths = form.binary_paths
    _versions[(env.form_id, env.version)] = (version_md5, paths)
    referenced = binary_values(env.root, paths)
    if existing_pk is not None:
        return _resend(conn, existing_pk, incoming, referenced, digests)
    if state == "closed":
        raise problems.form_closed(env.form_id)
    return _create(conn, incoming, env, form_pk, referenced, digests, has_later)


# Built once: composing the statement costs more than running it on every upload.
_LOOKUP = (
    select(Form.id, Form.state, FormVersion.md5, FormVersion.id,
           select(Submission.id).where(Submission.instance_id == bindparam("instance_id"))
           .scalar_subquery(),
           # An edit of this instance stored before it (``_join_later_versions``)?
           select(Submission.id).where(Submission.deprecated_id == bindparam("instance_id"))
           .limit(1).scalar_subquery())
    .outerjoin(FormVersion, (FormVersion.form_id == Form.id)
               & (FormVersion.version == bindparam("version")))
    .where(Form.xml_form_id == bindparam("form_id"))
)


_LOOKUP_ON_DRIVER = DriverStatement(_LOOKUP)


def _lookup(conn: Connection, env: Envelope) -> tuple[int, str, str, int, int | None, bool]:
    """Form, version, any stored submission with this instanceID and whether an edit of it is
    stored already: one round trip."""
    row = _LOOKUP_ON_DRIVER.first(conn, {"instance_id": env.instance_id, "version": env.version,
                                         "form_id": env.form_id})
    if row is None:
        raise problems.unknown_form(env.form_id)
    if row[3] is None:
        raise problems.unknown_form(env.form_id, env.version)
    return row[0], row[1], row[2], row[3], row[4], row[5] is not None


def _resend(conn: Connection, existing_pk: int, incoming: Incoming, referenced: list[str],
            digests: dict[str, str]) -> Outcome:
    existing = conn.execute(
        select(Submission.instance_id, Submission.xml_sha256, Submission.xml, Submission.source)
        .where(Submission.id == existing_pk)).one()
    same_bytes = (existing.xml_sha256 == sha256(incoming.xml).hexdigest()
                  and existing.xml == incoming.xml)
    # A copy that came another way (a KoBo pull rewrites the root element) is the same filled
    # form: instanceIDs are UUIDs made on the phone. Only the same path sending other bytes under
    # one instanceID is a real conflict.
    if not same_bytes and existing.source == incoming.source:
        raise problems.instance_conflict(existing.instance_id)
    have = set(conn.scalars(select(Attachment.name).where(Attachment.submission_id == existing_pk)))
    added = [(name, digests[name], size_of(incoming.files[name]))
             for name in referenced if name in digests and name not in have]
    if not added:
        return Outcome("duplicate", existing_pk)
    _insert_attachments(conn, existing_pk, added)
    # Its warehouse row counts the files present: the loader writes it again.
    conn.execute(update(Submission).where(Submission.id == existing_pk, Submission.current)
                 .values(parse_status="pending", parse_error_code=None, parse_error=None))
    return Outcome("attachments_added", existing_pk)


def _create(conn: Connection, incoming: Incoming, env: Envelope, form_pk: int,
            referenced: list[str], digests: dict[str, str], has_later: bool) -> Outcome:
    for name in referenced:
        if name in incoming.files and not is_plain_name(name):
            raise problems.bad_attachment_name(name)
    root_id, status, review_state = env.instance_id, "created", incoming.review_state
    attachments = [(name, digests[name], size_of(incoming.files[name]))
                   for name in referenced if name in digests]
    if env.deprecated_id:
        replaced = conn.execute(select(Submission.id, Submission.root_id)
                                .where(Submission.instance_id == env.deprecated_id)).first()
        if replaced is not None:  # an edit of something we never got is stored as new
            root_id, status = replaced.root_id, "edited"
            review_state = review_state or "edited"
            conn.execute(update(Submission).where(Submission.root_id == root_id)
                         .values(current=False))
            # Files the edit still names but did not resend stay as they were.
            kept = conn.execute(select(Attachment.name, Attachment.sha256, Attachment.size)
                                .where(Attachment.submission_id == replaced.id)
                                .order_by(Attachment.name))
            attachments = [(a.name, a.sha256, a.size) for a in kept
                           if a.name in referenced and a.name not in digests] + attachments
    current = _join_later_versions(conn, env, form_pk, root_id) if has_later else True
    # The unique instanceID is checked here, inside the retry.
    [(submission_id,)] = _INSERT_ON_DRIVER.rows(conn, {
        **_new_row(incoming, env, review_state, len(referenced)),
        "root_id": root_id, "deprecated_id": env.deprecated_id, "current": current,
        "form_id": form_pk, "form_version": env.version,
    })
    _insert_attachments(conn, submission_id, attachments)
    return Outcome(status, submission_id)


def _new_row(incoming: Incoming, env: Envelope, review_state: str | None,
             files_expected: int) -> dict[str, object]:
    """The values of ``rawstore_fastpath.NEW_ROW_COLUMNS``: what both ways of storing a new
    ``submissions`` row fill alike."""
    return {
        "instance_id": env.instance_id, "xml": incoming.xml,
        "xml_sha256": sha256(incoming.xml).hexdigest(), "source": incoming.source,
        "source_ref": incoming.source_ref, "submitter": incoming.submitter,
        "device_id": incoming.device_id, "received_at": incoming.received_at or utcnow(),
        "review_state": review_state or "received", "attachments_expected": files_expected,
        "parse_status": "pending",
    }


def _insert_attachments(conn: Connection, submission_id: int,
                        attachments: list[tuple[str, str, int]]) -> None:
    if attachments:
        now = utcnow()
        conn.execute(insert(Attachment.__table__), [
            {"submission_id": submission_id, "name": name, "sha256": digest, "size": size,
             "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
             "received_at": now}
            for name, digest, size in attachments])


_INSERT_ON_DRIVER = DriverStatement(
    insert(Submission.__table__).returning(Submission.__table__.c.id),
    ["root_id", "deprecated_id", "current", "form_id", "form_version",
     *rawstore_fastpath.NEW_ROW_COLUMNS])


def _join_later_versions(conn: Connection, env: Envelope, form_pk: int, root_id: str) -> bool:
    """A version that arrives after an edit of it (pulls, phone folders, two phones) joins that
    edit's chain as an older version, as if they had arrived in order: the later versions take
    ``root_id`` and the latest current one among them stays current. Returns whether the
    arriving version is current. The stored XML is never touched, only these two columns."""
    later_roots = set(conn.scalars(
        select(Submission.root_id).where(Submission.deprecated_id == env.instance_id,
                                         Submission.form_id == form_pk)))
    later_roots.discard(root_id)  # only a cycle of deprecatedIDs names its own chain
    if not later_roots:
        return True
    conn.execute(update(Submission).where(Submission.root_id.in_(later_roots))
                    .values(root_id=root_id))
    # Two edits of one version stored apart (a fork): the one received last wins, as in order.
    latest = conn.scalar(select(func.max(Submission.id))
                            .where(Submission.root_id == root_id, Submission.current))
    conn.execute(update(Submission)
                    .where(Submission.root_id == root_id, Submission.current,
                           Submission.id != latest)
                    .values(current=False))
    return latest is None


# Namespace-blind helpers: Collect writes ``orx:meta`` in some forms and plain ``meta`` in others.

def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(el: Element, name: str) -> str:
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value.strip()
    return ""


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""
