"""Who may do what: web users (argon2 passwords) and app users (a phone's key in the URL).

Every change commits and writes an ``AuditEvent``, so the callers (CLI, admin pages) stay thin.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session

from . import access, caches, passwords, problems, web_sessions
from .db import end_read, write_transaction, writer_for
from .driver_statements import DriverStatement
from .models import ROLES, AppUser, AuditEvent, Form, User, utcnow

MIN_PASSWORD_LENGTH = 10

# A new user name: 1-80 ASCII letters, digits, '.', '_', '-' or '@', starting with a letter or
# digit. Names made before this rule are left as they are.
USERNAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
USERNAME_RULE_TEXT = ("A user name has 1 to 80 characters: letters (a-z, A-Z), digits, '.', '_', "
                      "'-' or '@', and starts with a letter or digit.")


def hash_password(password: str) -> str:
    return passwords.hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or damaged hash."""
    try:
        return passwords.hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise problems.weak_password(MIN_PASSWORD_LENGTH)


def create_user(session: Session, username: str, password: str, role: str,
                scope: Iterable[str] = ("*",), *, display_name: str = "",
                actor: str = "system") -> User:
    """Create a web user. ``scope`` lists geo codes (``"*"`` for everything)."""
    username = username.strip()
    if not USERNAME_RULE.fullmatch(username):
        raise problems.bad_username(USERNAME_RULE_TEXT)
    if role not in ROLES:
        raise problems.bad_role(role, ROLES)
    _check_password(password)
    password_hash = hash_password(password)  # slow: before taking the write lock
    end_read(session)
    with write_transaction(session):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise problems.user_exists(username)
        user = User(username=username, display_name=display_name or username,
                    password_hash=password_hash, role=role, scope=list(scope))
        session.add(user)
        _audit(session, actor, "user.create", {"username": username, "role": role,
                                               "scope": list(scope)})
    return user


def set_password(session: Session, user: User, password: str, *, actor: str = "system",
                 keep_session: str | None = None) -> None:
    """A new password; every login of the user ends at once except ``keep_session`` (the
    browser that changed it)."""
    _check_password(password)
    password_hash = hash_password(password)
    end_read(session)
    with write_transaction(session):
        user.password_hash = password_hash
        _audit(session, actor, "user.password", {"username": user.username})
        web_sessions.end_all(session, user, keep=keep_session)  # in this transaction


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (slow: runs argon2)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        # Hash anyway so a wrong name costs as long as a wrong password.
        verify_password(_dummy_hash(passwords.hasher()), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if passwords.hasher().check_needs_rehash(user.password_hash):
        password_hash = hash_password(password)
        end_read(session)
        with write_transaction(session):
            user.password_hash = password_hash
    return user


@functools.lru_cache(maxsize=1)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a real password")


# App users: one per phone (or per team sharing a QR code).

def create_app_user(session: Session, name: str, forms: Iterable[str], actor: str,
                    scope: Iterable[str] = ()) -> AppUser:
    """A new app user with a random key. ``forms`` are xmlFormIds; empty means every open form.
    ``scope`` is its area (geo codes, checked by the caller against the location lists); empty
    means everywhere."""
    name = name.strip()
    if not name or len(name) > 200:
        raise problems.bad_app_user_name()
    form_ids = _clean_forms(forms)
    area = access.scope_codes(scope)
    end_read(session)
    with write_transaction(session):
        _check_forms_exist(session, form_ids)
        if _active_by_name(session, name) is not None:
            raise problems.app_user_exists(name)
        app_user = AppUser(name=name, token=secrets.token_urlsafe(48), forms=form_ids,
                           scope=area, created_by=actor)
        session.add(app_user)
        _audit(session, actor, "app_user.create", {"name": name, "forms": form_ids,
                                                   "scope": area})
    return app_user


def set_app_user_forms(session: Session, app_user: AppUser, forms: Iterable[str],
                       actor: str) -> AppUser:
    """Give an active app user other forms (xmlFormIds; empty means every open form). Its
    phone's form list changes at its next refresh; the key stays the same."""
    form_ids = _clean_forms(forms)
    end_read(session)
    with write_transaction(session):
        _check_forms_exist(session, form_ids)
        return _change_app_user(session, app_user, "forms", form_ids, actor)


def set_app_user_scope(session: Session, app_user: AppUser, scope: Iterable[str],
                       actor: str) -> AppUser:
    """Give an active app user another area (geo codes; empty means everywhere). Its next
    upload, form list and media download follow it; the key stays the same."""
    area = access.scope_codes(scope)
    end_read(session)
    with write_transaction(session):
        return _change_app_user(session, app_user, "scope", area, actor)


def _change_app_user(session: Session, app_user: AppUser, field: str, value: list[str],
                     actor: str) -> AppUser:
    """Set an active app user's ``forms`` or ``scope`` in the caller's write transaction,
    audited (``app_user.<field>``, before and after)."""
    if app_user.revoked_at is not None:
        raise problems.not_found(f"An active app user named '{app_user.name}'")
    before = list(getattr(app_user, field))
    setattr(app_user, field, value)
    _audit(session, actor, f"app_user.{field}", {"name": app_user.name, "before": before,
                                                 "after": value})
    return app_user


def revoke_app_user(session: Session, name: str, actor: str) -> AppUser:
    """Revoke the active app user called ``name``: its key stops working at once."""
    end_read(session)
    with write_transaction(session):
        app_user = _active_by_name(session, name)
        if app_user is None:
            raise problems.not_found(f"An active app user named '{name}'")
        app_user.revoked_at = utcnow()
        _audit(session, actor, "app_user.revoke", {"name": name})
    return app_user


def active_app_user(session: Session, name: str) -> AppUser:
    app_user = _active_by_name(session, name)
    if app_user is None:
        raise problems.not_found(f"An active app user named '{name}'")
    return app_user


def list_app_users(session: Session, *, include_revoked: bool = False) -> list[AppUser]:
    query = select(AppUser).order_by(AppUser.name, AppUser.id)
    if not include_revoked:
        query = query.where(AppUser.revoked_at.is_(None))
    return list(session.scalars(query))


@dataclass(frozen=True)
class KeyHolder:
    """The app user behind a key, as OpenRosa requests need it (read on every upload)."""

    id: int
    name: str
    forms: list[str]
    scope: list[str] = field(default_factory=list)  # its area; empty: everywhere


# Read on every request of an app user: compiled once, run on the driver (``driver_statements``).
_BY_TOKEN = DriverStatement(select(AppUser.id, AppUser.name, AppUser.forms, AppUser.revoked_at,
                                   AppUser.scope)
                            .where(AppUser.token == bindparam("token")))


def key_holder(engine: Engine, token: str) -> KeyHolder:
    """The app user holding this key. Unknown key → 401; revoked key → 403. Read on the
    thread's kept connection (``db.Writer.read``): phones send the key with every request,
    and a pool checkout would cost more than the statement."""
    if not token:
        raise problems.unauthorized()
    found = writer_for(engine).read(lambda conn: _BY_TOKEN.rows_committed(conn, {"token": token}))
    if not found:
        raise problems.unauthorized()
    app_user_id, name, forms, revoked_at, scope = found[0]
    if revoked_at is not None:
        raise problems.forbidden("this server with a revoked key; ask for a new QR code")
    return KeyHolder(app_user_id, name, list(forms or []), list(scope or []))


# When each app user's last seen time was last written by this process (monotonic seconds).
SEEN_EVERY = 60.0
_seen_written: dict[int, float] = {}
_seen_lock = threading.Lock()


def seen(engine: Engine, app_user_id: int, *, now: datetime | None = None) -> bool:
    """Note that this app user's phone was just heard from, at most once a minute per app user
    and process: every other call costs a dictionary look-up, so an upload pays nothing for it.
    The write also skips a row another worker updated within the minute. Returns whether it
    wrote."""
    clock = time.monotonic()
    with _seen_lock:
        last = _seen_written.get(app_user_id)
        if last is not None and clock - last < SEEN_EVERY:
            return False
        if len(_seen_written) >= 100_000:
            _seen_written.clear()
        _seen_written[app_user_id] = clock
    moment = now or utcnow()
    fresh = moment - timedelta(seconds=SEEN_EVERY)

    def write(conn: Any) -> bool:
        with conn.begin():
            done = conn.execute(update(AppUser).where(
                AppUser.id == app_user_id,
                or_(AppUser.last_seen_at.is_(None), AppUser.last_seen_at < fresh))
                .values(last_seen_at=moment))
        return bool(done.rowcount)

    return writer_for(engine).run(write)


@caches.register
def forget_seen() -> None:
    with _seen_lock:
        _seen_written.clear()


def masked(token: str) -> str:
    """Enough of a key to tell two apart in a listing, never enough to use it."""
    return token[:4] + "…" if token else ""


def _clean_forms(forms: Iterable[str]) -> list[str]:
    return sorted({f.strip() for f in forms if f.strip()})


def _check_forms_exist(session: Session, form_ids: list[str]) -> None:
    """Refuse (404, naming each one) form ids that are not published here."""
    known = set(session.scalars(select(Form.xml_form_id).where(Form.xml_form_id.in_(form_ids))))
    unknown = [f for f in form_ids if f not in known]
    if unknown:
        raise problems.forms_not_found(unknown)


def _active_by_name(session: Session, name: str) -> AppUser | None:
    return session.scalar(select(AppUser).where(AppUser.name == name,
                                                AppUser.revoked_at.is_(None)))


def _audit(session: Session, actor: str, action: str, details: dict[str, Any]) -> None:
    session.add(AuditEvent(actor=actor, action=action, details=details))
