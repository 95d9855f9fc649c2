"""Changes to web users that the admin pages and ``sangjog user`` share: a generated password,
disabling, a new role or scope. Each change commits with an ``AuditEvent``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import geo
from pipeline import problems, web_sessions
from pipeline import scope as scoping
from pipeline.db import write_transaction
from pipeline.models import ROLES, AuditEvent, User

# Levels an admin can give as a scope, in the order the picker lists them.
SCOPE_LEVELS = ("bd_division", "bd_district", "np_province", "np_district")


def generate_password() -> str:
    """Four groups of letters and digits: long enough, and readable aloud over a phone."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def checked_scope(codes: Iterable[str], role: str) -> list[str]:
    """Valid scope codes for a role; admins always see everything."""
    clean = [scoping.validate(c) for c in codes if c and c.strip()]
    if role == "admin":
        return ["*"]
    if not clean:
        raise problems.user_without_scope()
    for code in clean:
        if code != "*" and geo.place(*code.split(":", 1)) is None:
            raise problems.unknown_scope_place(code)
    return sorted(set(clean))


def checked_area(codes: Iterable[str]) -> list[str]:
    """An app user's area: valid codes of places in the lists; none (or ``*``): everywhere."""
    clean = [scoping.validate(c) for c in codes if c and c.strip()]
    if "*" in clean:
        return []
    for code in clean:
        if geo.place(*code.split(":", 1)) is None:
            raise problems.unknown_scope_place(code)
    return sorted(set(clean))


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise problems.not_found(f"A user named '{username}'")
    return user


def set_active(session: Session, user: User, active: bool, actor: str) -> None:
    if not active and user.username == actor:
        raise problems.self_disable()
    with write_transaction(session):
        user.active = active
        session.add(AuditEvent(actor=actor, action="user.enable" if active else "user.disable",
                               details={"username": user.username}))
        if not active:
            web_sessions.end_all(session, user)  # in this transaction: it commits the lot


def set_access(session: Session, user: User, role: str, scope: list[str], actor: str) -> None:
    if role not in ROLES:
        raise problems.bad_role(role, ROLES)
    scope = checked_scope(scope, role)
    with write_transaction(session):
        before = {"role": user.role, "scope": list(user.scope)}
        user.role, user.scope = role, scope
        session.add(AuditEvent(actor=actor, action="user.access",
                               details={"username": user.username, "before": before,
                                        "after": {"role": role, "scope": scope}}))


def scope_choices(lang: str) -> list[tuple[str, str]]:
    """(code, readable name) for every place a scope can name."""
    out = [("*", _("All areas"))]
    for level in SCOPE_LEVELS:
        places = sorted((p for (lvl, _code), p in geo.places().items() if lvl == level),
                        key=lambda p: p.en)
        out.extend((f"{level}:{p.code}", _level_name(level, p.name(lang))) for p in places)
    return out


def local_levels(lang: str) -> dict[str, list[tuple[str, str]]]:
    """Nepal's local levels (palikas) by district, for the area picker: ``{"np_district:101":
    [("np_local_level:10101", name), ...]}``, names in ``lang`` and in its order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for (level, code), place in geo.places().items():
        if level == "np_local_level":
            out.setdefault(f"np_district:{place.parent}", []).append(
                (f"np_local_level:{code}", place.name(lang)))
    return {district: sorted(items, key=lambda i: i[1]) for district, items in out.items()}


def scope_label(code: str, lang: str) -> str:
    """``Rangpur`` for a district, ``Rangpur (division)`` for a division, ``All areas`` for
    ``*``; in the reader's language."""
    if code == "*":
        return _("All areas")
    level, _sep, value = code.partition(":")
    place = geo.place(level, value)
    if place is None:
        return code
    return _level_name(level, place.name(lang))


def _level_name(level: str, name: str) -> str:
    if level == "bd_division":
        return _("%(name)s (division)", name=name)
    if level == "np_province":
        return _("%(name)s (province)", name=name)
    if level == "np_district":
        return _("%(name)s (district, Nepal)", name=name)
    return name
