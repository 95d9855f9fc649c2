"""Configured sources (KoBoToolbox assets, ODK Central forms): add, list, remove, pull.

The secret (API token or password) is stored in ``Source.secret`` and leaves this module only
towards the remote server: descriptions, audit events and errors never carry it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline import problems
from pipeline.db import end_read, write_transaction
from pipeline.models import AuditEvent, Form, PullRun, Source
from pipeline.storage import BlobStore

from . import central, kobo

KINDS = ("kobo", "central")


def check_url(url: str, insecure: bool = False) -> None:
    """A server address: https://, or http:// only to this machine (loopback) or when the admin
    says ``insecure`` (the token or password would cross the network in clear text)."""
    if not url.startswith(("https://", "http://")):
        raise problems.bad_source(f"'{url}' is not a server address: it starts with https://.")
    if url.startswith("http://") and not insecure and not _loopback(url):
        raise problems.bad_source(
            f"'{url}' is not encrypted (http://): the API token or password would cross the "
            "network in clear text. Use https://, or --insecure if you must.")


def _loopback(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add(session: Session, *, kind: str, name: str, url: str, secret: str, remote_form: str,
        form_id: str, username: str | None = None, actor: str = "system",
        insecure: bool = False, checked: bool = False) -> Source:
    """Save a new source; refuses unknown kinds, bad or unencrypted URLs (``check_url``), empty
    secrets and unknown forms; with ``checked``, a server that cannot be reached with these
    credentials (``check``) before anything is saved."""
    name, url = name.strip(), url.strip().rstrip("/")
    if kind not in KINDS:
        raise problems.bad_source(f"'{kind}' is not a source kind: use kobo or central.")
    if not name:
        raise problems.bad_source("Give the source a name.")
    check_url(url, insecure)
    if not secret:
        raise problems.bad_source("The API token or password is empty.")
    if kind == "central":
        central.split_remote_form(remote_form)
        if not username:
            raise problems.bad_source("An ODK Central source needs the email address it logs in with.")
    elif not remote_form:
        raise problems.bad_source("A KoBoToolbox source needs the asset uid (from the project's URL).")
    if checked:  # what can be refused here first, then the server
        if session.scalar(select(Form.id).where(Form.xml_form_id == form_id)) is None:
            raise problems.unknown_form(form_id)
        if session.scalar(select(Source.id).where(Source.name == name)) is not None:
            raise problems.source_exists(name)
        end_read(session)  # not held while the server is reached
        check(Source(name=name, kind=kind, url=url, username=username, secret=secret,
                     remote_form=remote_form))
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


def check(source: Source) -> int:
    """Reach the source's server with its credentials and read its list once (one row):
    the number of submissions it holds. Raises the connector's ``Problem`` when refused."""
    if source.kind == "kobo":
        kobo_client = kobo.client_for(source, retries=1)
        try:
            return int(kobo_client.page(source.remote_form, {}, 1).get("count") or 0)
        finally:
            kobo_client.close()
    project, form = central.split_remote_form(source.remote_form)
    central_client = central.client_for(source, retries=1)
    try:
        body, _when = central_client.feed(project, form, {"$top": "0", "$count": "true"})
    finally:
        central_client.close()
    return int(body.get("@odata.count") or 0)


def edit(session: Session, name: str, *, url: str | None = None, secret: str | None = None,
         username: str | None = None, insecure: bool = False, checked: bool = True,
         actor: str = "system") -> Source:
    """Change a source's address, account or secret (a new token), keeping its cursor and its
    runs; with ``checked``, the server is reached with the new settings before they are saved."""
    source = get(session, name)
    end_read(session)  # not held while the server is reached
    if url is not None:
        url = url.strip().rstrip("/")
        check_url(url, insecure)
    if secret is not None and not secret:
        raise problems.bad_source("The API token or password is empty.")
    trial = Source(name=source.name, kind=source.kind, url=url or source.url,
                   username=username or source.username, secret=secret or source.secret,
                   remote_form=source.remote_form)
    if checked:
        check(trial)
    with write_transaction(session):
        source.url, source.username, source.secret = trial.url, trial.username, trial.secret
        session.add(AuditEvent(actor=actor, action="source.edit", form_id=source.form_id,
                               details={**describe(source), "secret_changed": secret is not None}))
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
    options.pop("full_recheck_days", None)
    return central.pull(session, blobs, source, **options)
