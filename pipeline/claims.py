"""One process at a time: the claim on a row, shared by pulls (a source) and scheduled exports
(a period and language), across processes and servers on one database.

A claim is three columns of the claimed row: a token (the run holding it; empty when free), a
heartbeat (when the holder last showed it was alive) and the owner (``owner()``: host, boot,
process, user). ``take`` claims with one conditional UPDATE, atomic on SQLite and PostgreSQL: of
two takers (any processes, any servers) only one matches, since SQLite writes one transaction at
a time and PostgreSQL re-checks the condition on the row after the other transaction committed.
The UPDATE matches a free claim, a stale one (heartbeat older than the timeout: its holder died
or the machine is off), the very claim found held by a process on this machine that no longer
runs (killed, or the machine rebooted since), and any claim with ``force``. ``refresh`` moves the
heartbeat on while the token is still ours (False: another run took it over), ``release`` frees
it if it is still ours. ``ensure_row`` creates the row to claim when it may not exist yet.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from pipeline.models import utcnow


def owner() -> str:
    """Who claims: ``host boot-id pid user`` (the boot id tells a reboot apart)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"{socket.gethostname()} {_boot_id()} {os.getpid()} {user}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:36] or "-"
    except OSError:
        return "-"


def owner_gone(claimed_by: str | None) -> bool:
    """True when the claim's owner is on this machine and no longer runs: its process has
    ended, or the machine has rebooted since. Owners on other machines are never judged."""
    parts = (claimed_by or "").split(" ")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[2].isdigit():
        return False
    host_boot = _boot_id()
    if parts[1] != "-" and host_boot != "-" and parts[1] != host_boot:
        return True  # rebooted since
    pid = int(parts[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def describe_owner(claimed_by: str | None) -> str:
    """`` by alice on host1 (process 1234)``, or nothing."""
    parts = (claimed_by or "").split(" ")
    if len(parts) != 4:
        return ""
    return f" by {parts[3]} on {parts[0]} (process {parts[2]})"


@dataclass(frozen=True)
class Claimable:
    """Which columns of which table hold a claim."""

    model: type
    token: InstrumentedAttribute[Any]
    heartbeat: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]


def take(session: Session, claim: Claimable, where: ColumnElement[bool], token: Any, *,
         timeout: timedelta, force: bool = False,
         only_if: ColumnElement[bool] | None = None) -> Row[Any] | None:
    """Claim the row ``where`` names (it must exist), in the session's write transaction: None
    when taken (the token set to ``token``), else the holder found (token, heartbeat, owner).
    A holder silent for longer than ``timeout`` has died. ``only_if``: a further condition the
    row must meet when claimed (checked in the UPDATE)."""
    now = utcnow()
    holder = session.execute(select(claim.token, claim.heartbeat, claim.owner).where(where)).first()
    free = (claim.token.is_(None) | claim.heartbeat.is_(None)
            | (claim.heartbeat < now - timeout))
    if holder is not None and holder[0] is not None and (force or owner_gone(holder[2])):
        free = free | (claim.token == holder[0])
    if only_if is not None:
        free = free & only_if
    taken = session.execute(
        update(claim.model).where(where, free)
        .values({claim.heartbeat: now, claim.token: token, claim.owner: owner()})
        .execution_options(synchronize_session=False))
    if taken.rowcount == 1:
        return None
    if holder is None:
        raise LookupError(f"no {claim.model.__name__} row to claim")
    return holder


def refresh(session: Session, claim: Claimable, where: ColumnElement[bool], token: Any) -> bool:
    """Move the heartbeat on, if the token still holds the row (False: taken over)."""
    moved = session.execute(
        update(claim.model).where(where, claim.token == token)
        .values({claim.heartbeat: utcnow()})
        .execution_options(synchronize_session=False))
    return moved.rowcount == 1


def release(session: Session, claim: Claimable, where: ColumnElement[bool], token: Any,
            **also: Any) -> bool:
    """Free the row if the token still holds it, setting ``also`` (other columns) with it."""
    freed = session.execute(
        update(claim.model).where(where, claim.token == token)
        .values({claim.token: None, claim.heartbeat: None, claim.owner: None,
                 **{getattr(claim.model, name): value for name, value in also.items()}})
        .execution_options(synchronize_session=False))
    return freed.rowcount == 1


def ensure_row(session: Session, model: type, where: ColumnElement[bool], **values: Any) -> None:
    """Insert the row (``values``, which a unique key covers) unless it is there. Of two
    transactions inserting it at once, the second waits for the first and keeps its row."""
    if session.execute(select(model).where(where)).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(model(**values))
    except IntegrityError:
        pass  # another transaction created it first
