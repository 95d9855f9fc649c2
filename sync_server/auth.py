"""Who is Collect talking for: an app user (key in the URL path) or a web user (HTTP Basic).

argon2 is deliberately slow (tens of milliseconds), and Collect sends the password with every
request, so a verified user name + password is remembered for a minute, keyed by a keyed
BLAKE2 hash (the password itself is never kept). The memory is void as soon as the user's stored
password hash changes or the user is deactivated.

Wrong passwords are counted in the database (``pipeline.throttle``), per user name and per
address, by web logins and Collect alike, so every worker process enforces the same limits.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request

from pipeline import access, accounts, caches, problems, throttle
from pipeline.models import User

from .db import get_session

CACHE_SECONDS = 60
_CACHE_LIMIT = 10_000
_cache_key = secrets.token_bytes(32)  # per process: the cache never leaves memory
_verified: dict[bytes, tuple[float, int, str]] = {}  # digest -> (expires, user id, hash)
_lock = threading.Lock()


@dataclass(frozen=True)
class CollectUser:
    """The identity behind one OpenRosa request."""

    name: str
    app_user: accounts.KeyHolder | None = None
    user: User | None = None

    @property
    def principal(self) -> access.Principal:
        """The rule's view of this caller (``pipeline.access``)."""
        if self.user is not None:
            return access.web_user(self.user)
        assert self.app_user is not None
        return access.app_user(self.app_user)

    @property
    def writer(self) -> accounts.KeyHolder | User:
        """Who writes what this request submits (``ingest.accept``'s ``by``)."""
        writer = self.app_user or self.user
        assert writer is not None
        return writer


def collect_user(token: str | None) -> CollectUser:
    """Authenticate this request, or raise a 401/403 ``Problem`` (401 carries the challenge)."""
    if token is not None:
        engine = current_app.extensions["engine"]
        app_user = accounts.key_holder(engine, token)
        accounts.seen(engine, app_user.id)  # a write at most once a minute per app user
        return CollectUser(name=app_user.name, app_user=app_user)
    user = basic_login()
    return CollectUser(name=user.username, user=user)


def basic_login() -> User:
    """The web user this request's HTTP Basic credentials name, or a 401 ``Problem``: the one
    Basic login of every door (Collect's, the OData feed)."""
    creds = request.authorization
    if creds is None or creds.type != "basic" or not creds.username or creds.password is None:
        raise problems.unauthorized()  # Collect's first request: the challenge, never counted
    user = basic_user(creds.username, creds.password)
    if user is None:
        raise problems.unauthorized()
    return user


def limits() -> tuple[throttle.Limit, throttle.Limit]:
    """The failed-password limits per user name and per address (settings)."""
    return (throttle.Limit.parse(current_app.config["LOGIN_FAILURES_PER_USER"]),
            throttle.Limit.parse(current_app.config["LOGIN_FAILURES_PER_ADDRESS"]))


def check_password(username: str, password: str, verify: Callable[[], User | None]) -> User | None:
    """Run ``verify`` (argon2) unless this user name or address has failed too often lately
    (429 with ``Retry-After``); count a failure in the database every worker shares."""
    session = get_session()
    address = request.remote_addr or ""
    wait = throttle.wait_seconds(session, username, address, *limits())
    if wait:
        raise problems.rate_limited(wait)
    user = verify()
    if user is None:
        throttle.record_failure(session, username, address)
    return user


def basic_user(username: str, password: str) -> User | None:
    """The active web user with these credentials; argon2 runs only when not remembered."""
    session = get_session()
    digest = hashlib.blake2b(f"{username}\0{password}".encode(), key=_cache_key).digest()
    remembered = _verified.get(digest)
    if remembered is not None and remembered[0] > time.monotonic():
        user = session.get(User, remembered[1])
        if user is not None and user.active and user.password_hash == remembered[2]:
            return user
    with _lock:
        _verified.pop(digest, None)
    user = check_password(username, password,
                          lambda: accounts.authenticate(session, username, password))
    if user is not None:
        with _lock:
            if len(_verified) >= _CACHE_LIMIT:
                _verified.clear()
            _verified[digest] = (time.monotonic() + CACHE_SECONDS, user.id, user.password_hash)
    return user


@caches.register
def forget_verified() -> None:
    """Drop every remembered credential (tests, and after bulk password changes)."""
    with _lock:
        _verified.clear()
