"""Configured sources (KoBoToolbox assets, ODK Central forms): add, list, remove, pull.

The secret (API token or password) is stored in ``Source.secret`` and leaves this module only
towards the remote server: descriptions, audit events and errors never carry it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline import problems
from pipeline.db import write_transaction
from pipeline.models import AuditEvent, Form, PullRun, Source
from pipeline.storage import BlobStore

from . import central, kobo

KINDS = ("kobo", "central")


def add(session: Session, *, kind: str, name: str, url: str, secret: str, remote_form: str,
        form_id: str, username: str | None = None, actor: str = "system") -> Source:
    """Save a new source; refuses unknown kinds, bad URLs, empty secrets and unknown forms."""
    name, url = name.strip(), url.strip().rstrip("/")
    if kind not in KINDS:
        raise problems.bad_source(f"'{kind}' is not a source kind: use kobo or central.")
    if not name:
        raise problems.bad_source("Give the source a name.")
    if not url.startswith(("https://", "http://")):
        raise problems.bad_source(f"'{url}' is not a server address: it starts with https://.")
    if not secret:
        raise problems.bad_source("The API token or password is empty.")
    if kind == "central":
        central.split_remote_form(remote_form)
        if not username:
            raise problems.bad_source("An ODK Central source needs the email address it logs in with.")
    elif not remote_form:
        raise problems.bad_source("A KoBoToolbox source needs the asset uid (from the project's URL).")
    with write_transaction(session):
        form = session.scalar(select(Form).where(Form.xml_form_id == form_id))
        if form is None:
            raise problems.unknown_form(form_id)
        if session.scalar(select(Source.id).where(Source.name == name)) is not None:
            raise problems.source_exists(name)
        source = Source(name=name, kind=kind, url=url, username=username, secret=secret,
                        remote_form=remote_form, form_id=form.id, cursor={})
        session.add(source)
        session.flush()
        session.add(AuditEvent(actor=actor, action="source.add", form_id=form.id,
                               details=describe(source)))
    return source


def get(session: Session, name: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise problems.source_not_found(name)
    return source


def list_all(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def last_run(session: Session, source: Source) -> PullRun | None:
    return session.scalar(select(PullRun).where(PullRun.source_id == source.id)
                          .order_by(PullRun.id.desc()).limit(1))


def remove(session: Session, name: str, actor: str = "system") -> None:
    """Delete a source; its past runs stay on the health page, detached from it."""
    with write_transaction(session):
        source = get(session, name)
        session.execute(update(PullRun).where(PullRun.source_id == source.id)
                        .values(source_id=None))
        session.add(AuditEvent(actor=actor, action="source.remove", form_id=source.form_id,
                               details=describe(source)))
        session.delete(source)


def describe(source: Source) -> dict[str, Any]:
    """Everything about a source except its secret."""
    return {"name": source.name, "kind": source.kind, "url": source.url,
            "username": source.username, "remote_form": source.remote_form,
            "form": source.form.xml_form_id if source.form else None,
            "enabled": source.enabled}


def pull(session: Session, blobs: BlobStore, source: Source, **options: Any) -> PullRun:
    """Pull one source with the connector of its kind.

    Raises ``source.pull_running`` (recording nothing) while another pull of it runs.
    """
    if source.kind == "kobo":
        return kobo.pull(session, blobs, source, **options)
    options.pop("recheck_days", None)  # Central's feed reports edits and reviews itself
    return central.pull(session, blobs, source, **options)
