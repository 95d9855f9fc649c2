"""Web logins kept on the server, so ending one takes effect at once on every worker.

The browser's cookie holds only a random token; the database keeps its SHA-256 with the user and
an expiry. Each request looks the token up (one indexed read, which also reads the user), so a
deleted row is a logged-out browser from its next request on: after logging out, a new password,
disabling, or an admin's "sign out everywhere".
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .db import write_transaction
from .models import AuditEvent, User, WebSession, utcnow

LIFETIME = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, lifetime: timedelta = LIFETIME) -> str:
    """A new login for ``user`` (committed with the user's pending changes); returns the token
    for the cookie. The user's expired logins are deleted on the way."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction(session):
        session.execute(delete(WebSession).where(WebSession.user_id == user.id,
                                                 WebSession.expires_at <= now))
        session.add(WebSession(token_hash=_hash(token), user_id=user.id, created_at=now,
                               expires_at=now + lifetime))
    return token


def user_for(session: Session, token: str | None) -> User | None:
    """The active user this unexpired token belongs to, or None."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        select(User).join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.token_hash == _hash(token), WebSession.expires_at > utcnow(),
               User.active.is_(True)))


def end(session: Session, token: str | None) -> None:
    """End this one login (logging out)."""
    if not token:
        return
    with write_transaction(session):
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_all(session: Session, user: User, *, keep: str | None = None,
            actor: str | None = None) -> int:
    """End every login of ``user`` (except the one holding ``keep``): a new password, disabling,
    "sign out everywhere". Commits with the caller's pending changes; with ``actor``, writes an
    audit event. Returns how many ended."""
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep:
        query = query.where(WebSession.token_hash != _hash(keep))
    with write_transaction(session):
        ended = session.execute(query).rowcount or 0
        if actor is not None:
            session.add(AuditEvent(actor=actor, action="user.sign_out",
                                   details={"username": user.username, "sessions": ended}))
    return ended


def count(session: Session, user: User) -> int:
    """How many unexpired logins ``user`` has (for the admins' page)."""
    return len(session.scalars(select(WebSession.id).where(
        WebSession.user_id == user.id, WebSession.expires_at > utcnow())).all())

