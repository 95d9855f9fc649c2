"""The web UI: one blueprint module per area, each with ``init_app(app)``.

This module holds what every page shares: who is logged in, what they may see, and the
decorator that turns anyone else away.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, redirect, request, session, url_for
from werkzeug.routing import IntegerConverter

from pipeline import problems, web_sessions
from pipeline import scope as scoping
from pipeline.models import User

from ..db import get_session

F = TypeVar("F", bound=Callable[..., Any])
_KEY = "sangjog.web_user"
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL (and SQLite)


class DatabaseInt(IntegerConverter):
    """``<int:...>`` in the pages' addresses: a number no id column can hold is simply not
    found (404), instead of an overflow inside the database driver."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def use_database_ints(app: Flask) -> None:
    """Before the pages' blueprints are registered, so their ``<int:...>`` rules use it."""
    app.url_map.converters["int"] = DatabaseInt


def id_arg(text: str | None) -> int | None:
    """A submitted id (a form field, a query argument), or None when it is no id at all."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ID else None


SESSION_ID = "sid"  # the cookie's only trace of a login: a random token (``web_sessions``)


def current_user() -> User | None:
    """The logged-in, active user, or None: the cookie's login must still exist on the server
    (logging out, a new password, disabling and "sign out everywhere" delete it)."""
    # Cached on the request, not on ``g``: an app context (and its ``g``) can outlive a request.
    cache = request.environ
    if _KEY not in cache:
        cache[_KEY] = None
        token = session.get(SESSION_ID)
        if token is not None:
            user = web_sessions.user_for(get_session(), token)
            if user is not None:
                cache[_KEY] = user
            else:
                session.clear()
    return cache[_KEY]


def current_scope() -> scoping.Scope:
    user = current_user()
    return scoping.parse(user.scope) if user is not None else scoping.Scope()


def require(*roles: str) -> Callable[[F], F]:
    """Only logged-in users with one of ``roles`` (any role when none is given)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                raise problems.unauthorized()
            if roles and user.role not in roles:
                raise problems.forbidden("this page")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
