"""Application tables (ORM): people, forms, raw submissions, attachments, reviews, sources.

Warehouse tables (one per form and repeat) are not here: they are derived data built with
SQLAlchemy Core from each form's definition (see ``pipeline.warehouse``). These tables change only
through Alembic migrations in ``pipeline/migrations``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# Roles of web users. Enumerators are AppUsers (a key in the URL), never web users.
ROLES = ("admin", "supervisor", "district_officer")

# Review states, ours → ODK Central's names for them: the one table the OData feed, the CSV zip
# and Central pulls translate with. Central's ``null`` is our ``received``; ``hasIssues`` is
# written with an underscore here.
CENTRAL_REVIEW_STATES: dict[str, str | None] = {
    "received": None, "approved": "approved", "has_issues": "hasIssues", "rejected": "rejected",
    "edited": "edited"}
REVIEW_STATES = tuple(CENTRAL_REVIEW_STATES)
# Central's review state → ours (``None`` → ``received``).
FROM_CENTRAL_REVIEW_STATES = {central: ours for ours, central in CENTRAL_REVIEW_STATES.items()}

FORM_STATES = ("open", "closing", "closed")


class User(Base):
    """A web user. ``scope`` lists geo codes this user may see: ``["*"]`` for everything,
    otherwise Bangladesh/Nepal division, district or province codes from ``shared/geo``
    (``"bd_division:30"``, ``"bd_district:3026"``, ``"np_district:306"``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8), default="")  # "": not chosen yet
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Remembered choices: {"columns": {form_id: [column, ...]}, "downloaded": {...}}
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebSession(Base):
    """A web user's login, kept on the server: the cookie holds only its random id (the hash of
    which is stored here), so logging out, a new password, disabling or an admin's "sign out
    everywhere" end it at once by deleting the row."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """A failed web login or Collect (HTTP Basic) password, counted per user name and per
    address by every worker alike (``pipeline.throttle``). Rows older than a day are deleted."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),
                      Index("ix_login_failures_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    username: Mapped[str] = mapped_column(String(80))  # as typed, lower-cased and cut to 80
    address: Mapped[str] = mapped_column(String(64))


class AppUser(Base):
    """An enumerator's phone: Collect sends ``/key/{token}/...`` and needs no password."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(128), unique=True)
    # xmlFormIds this phone may fill; an empty list means every open form.
    forms: Mapped[list[Any]] = mapped_column(default=list)
    # The area it may send for, as a web user's scope (geo codes); an empty list: everywhere.
    scope: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its phone last asked for anything (form list, forms, submissions), to the minute:
    # written at most once a minute per app user (``accounts.seen``).
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    xml_form_id: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Oldest first; the last one is the version Collect downloads now.
    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.id"
    )

    @property
    def current_version(self) -> FormVersion | None:
        return self.versions[-1] if self.versions else None


class FormVersion(Base):
    """One published version: the exact XForm bytes served to Collect, and its XLSForm source."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    version: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Media file names the XForm references (jr://file/..., jr://file-csv/...).
    media: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(80))

    form: Mapped[Form] = relationship(back_populates="versions")
    media_files: Mapped[list[FormMedia]] = relationship(
        back_populates="form_version", order_by="FormMedia.name"
    )


class FormMedia(Base):
    """A static media file uploaded with a form version (images, sample CSVs)."""

    __tablename__ = "form_media"
    __table_args__ = (UniqueConstraint("form_version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))

    form_version: Mapped[FormVersion] = relationship(back_populates="media_files")


class Submission(Base):
    """The raw store: the exact XML received, never modified after it is committed.

    Edits arrive as new instances whose ``deprecated_id`` names the one they replace; all share
    ``root_id`` and only one of them is ``current``.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(255), unique=True)
    root_id: Mapped[str] = mapped_column(String(255), index=True)
    deprecated_id: Mapped[str | None] = mapped_column(String(255))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    form_version: Mapped[str] = mapped_column(String(255))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="collect")
    source_ref: Mapped[str | None] = mapped_column(String(255))
    submitter: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    review_state: Mapped[str] = mapped_column(String(16), default="received")
    attachments_expected: Mapped[int] = mapped_column(Integer, default=0)
    parse_status: Mapped[str] = mapped_column(String(16), default="pending")
    parse_error_code: Mapped[str | None] = mapped_column(String(64))
    parse_error: Mapped[str | None] = mapped_column(Text)

    # Every upload writes each index of this table, so it has only those a query needs (found by
    # id, instanceID, root, replaced instance, form). Pending ones (waiting for the loader) are
    # a partial index: small, and rows leave it once loaded. Queries must spell the condition
    # literally (``IS_PENDING``) for the planner to use it. Only edits name a replaced
    # instance, so only they enter its index (``deprecated_id = x`` implies it is not null).
    __table_args__ = (
        Index("ix_submissions_pending", "id", sqlite_where=text("parse_status = 'pending'"),
              postgresql_where=text("parse_status = 'pending'")),
        Index("ix_submissions_deprecated_id", "deprecated_id",
              sqlite_where=text("deprecated_id IS NOT NULL"),
              postgresql_where=text("deprecated_id IS NOT NULL")),
    )

    form: Mapped[Form] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.name"
    )


# "Waiting for the loader", spelt as the partial index's condition (a bound parameter in its
# place would keep the planner from using the index).
IS_PENDING = Submission.parse_status == literal_column("'pending'")


class Attachment(Base):
    """A file received with a submission; the bytes live in the content-addressed BlobStore."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class AuditEvent(Base):
    """Append-only log: who did what, when, and from which state. Never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id"))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Source(Base):
    """A server we pull submissions from (KoBoToolbox or ODK Central)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # kobo | central
    url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(200))
    # API token or password: never printed, never logged, never rendered.
    secret: Mapped[str] = mapped_column(Text)
    remote_form: Mapped[str] = mapped_column(String(255))  # kobo asset uid / central "project:formId"
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The pull holding this source (one at a time: pipeline/connectors/runs.py) and when it last
    # showed it was alive; both empty when no pull runs. No foreign key: a plain claim.
    pull_run_id: Mapped[int | None] = mapped_column(Integer)
    pull_heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who holds the claim: "host pid user" (claims.owner()), so a claim whose process is gone is
    # taken over at once.
    pull_owner: Mapped[str | None] = mapped_column(String(300))

    form: Mapped[Form] = relationship()


class PullRun(Base):
    """One run of a pull (or a phone-folder import), for the sync health page."""

    __tablename__ = "pull_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # kobo | central | import
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|failed
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # Of the submissions stored (or retried) by this run: loaded into the warehouse, and stored
    # but not loaded (the loader refused them; retried by the next pull).
    loaded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source | None] = relationship()


class InnovationProject(Base):
    """A pilot innovation project in the registry that inspections refer to by ``code``.

    Progress is not stored here: it is read from the inspections that were not rejected
    (``pipeline.domain.inspections``), so a review decision changes it at once.
    """

    __tablename__ = "innovation_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str] = mapped_column(String(500))
    title_bn: Mapped[str] = mapped_column(String(500), default="")
    division: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str] = mapped_column(String(16), index=True)
    upazila: Mapped[str | None] = mapped_column(String(16), index=True)
    office: Mapped[str] = mapped_column(String(300), default="")
    started_on: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FormLink(Base):
    """A public link to fill one form in a browser (``/l/<token>``), made by an admin, e.g. for a
    workshop: no login, so the link itself carries the area its submissions and media keep to."""

    __tablename__ = "form_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    # Geo codes as a web user's scope (empty: everywhere); a workshop link also names its
    # upazila and date, which narrow the form's media and fix the form's answers to them.
    scope: Mapped[list[Any]] = mapped_column(default=list)
    upazila: Mapped[str | None] = mapped_column(String(16))
    workshop_date: Mapped[date | None] = mapped_column(Date)
    once_per_device: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Submissions in the current hour's window, shared by every worker (the per-link limit).
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_count: Mapped[int] = mapped_column(Integer, default=0)

    form: Mapped[Form] = relationship()


class ExportRun(Base):
    """A scheduled export of one period in one language (``sangjog export schedule``): run once
    however many servers' cron start it. The claim (``pipeline.claims``) is held while it runs;
    ``status`` says how the last run ended (running | done | failed)."""

    __tablename__ = "export_runs"
    __table_args__ = (UniqueConstraint("period", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(100))  # e.g. 2026-11, or 2026-Q3+2083-84-Q1
    lang: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="running")
    run_token: Mapped[str | None] = mapped_column(String(64))
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_by: Mapped[str | None] = mapped_column(String(300))
    workbooks: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class ScheduledExport(Base):
    """A workbook a scheduled export made, kept in the attachment store (``BLOB_STORE``) under
    its sha256, so the Downloads page of every server lists and serves it."""

    __tablename__ = "scheduled_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)  # sangjog-rangpur-5585-2026-Q3-en.xlsx
    area: Mapped[str] = mapped_column(String(64), index=True)  # scope code: bd_district:5585
    period: Mapped[str] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
