"""Failed password logins, counted in the database so every worker process sees the same count.

A web login or a Collect request with HTTP Basic whose password is wrong adds a row (the user
name as typed, lower-cased, and the client's address). Before checking a password, the server
asks ``wait_seconds``: while the user name, or the address, has as many failures as its limit
within its window, the answer is how long until the oldest of them leaves the window, and the
request gets 429 with that ``Retry-After``. A request without credentials (Collect's first
request, which draws the 401 challenge) never counts, and neither does a correct password.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .db import end_read, write_transaction
from .models import LoginFailure, utcnow

KEEP = timedelta(days=1)  # rows older than this are deleted as new failures arrive
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*", re.I)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` failures within ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"10 per 15 minutes"``, ``"100 per hour"``, ``"5/minute"``."""
        found = _LIMIT.fullmatch(str(text))
        if found is None or int(found.group(1)) < 1:
            raise ValueError(f"{text!r} is not a limit: write it as '10 per 15 minutes'.")
        window = int(found.group(2) or 1) * _UNITS[found.group(3).lower()]
        return cls(int(found.group(1)), window)


def name_key(username: str) -> str:
    return username.strip().lower()[:80]


def wait_seconds(session: Session, username: str, address: str, per_user: Limit,
                 per_address: Limit) -> int:
    """Seconds until this user name and this address may try a password again (0: now)."""
    now = utcnow()
    waits = [0]
    for column, value, limit in ((LoginFailure.username, name_key(username), per_user),
                                 (LoginFailure.address, address[:64], per_address)):
        # The limit-th newest failure in the window: once it leaves, one more try is allowed.
        oldest_blocking = session.scalar(
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at > now - timedelta(seconds=limit.seconds))
            .order_by(LoginFailure.at.desc()).offset(limit.count - 1).limit(1))
        if oldest_blocking is not None:
            if oldest_blocking.tzinfo is None:  # SQLite hands back naive UTC
                oldest_blocking = oldest_blocking.replace(tzinfo=now.tzinfo)
            left = (oldest_blocking + timedelta(seconds=limit.seconds) - now).total_seconds()
            waits.append(max(1, math.ceil(left)))
    end_read(session)  # a later write takes SQLite's lock up front
    return max(waits)


def record_failure(session: Session, username: str, address: str) -> None:
    """Count one failed password for this user name and address (committed at once)."""
    end_read(session)
    with write_transaction(session):
        now = utcnow()
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))
        session.add(LoginFailure(at=now, username=name_key(username), address=address[:64]))
