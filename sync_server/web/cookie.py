"""The session cookie, encrypted as well as signed (Fernet: AES-128-CBC with HMAC-SHA256).

Flask's own cookie is only signed: anyone holding it can read what is inside (base64 JSON).
Ours holds a login's random id, the language, the CSRF token and one-time messages (a generated
password, a refused review's comment), so it is encrypted with a key derived from
``SECRET_KEY``; its expiry is checked from the token's own timestamp. App users' Collect
requests (``/key/<token>/...``) never read or write one.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature


class _Sealed:
    """What Flask needs of a serializer (``dumps``, ``loads(max_age=)``), sealing with Fernet."""

    def __init__(self, secret: str | bytes, serializer: Any) -> None:
        self._serializer = serializer  # Flask's tagged JSON: tuples, bytes, Markup survive
        raw = secret.encode() if isinstance(secret, str) else secret
        self._fernet = Fernet(base64.urlsafe_b64encode(
            hashlib.sha256(b"sangjog session cookie\0" + raw).digest()))

    def dumps(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(self._serializer.dumps(value).encode()).decode()

    def loads(self, token: str, max_age: int | None = None) -> dict[str, Any]:
        try:
            data = self._fernet.decrypt(token.encode(), ttl=max_age)
            value = self._serializer.loads(data.decode())
        except (InvalidToken, ValueError) as exc:
            raise BadSignature("the session cookie is not one of ours") from exc
        if not isinstance(value, dict):
            raise BadSignature("the session cookie is not one of ours")
        return value


class SealedCookieSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, sealed; none at all for app users' Collect requests."""

    def get_signing_serializer(self, app):  # type: ignore[override]
        if not app.secret_key:
            return None
        return _Sealed(app.secret_key, self.serializer)

    def open_session(self, app, request):
        if request.path.startswith("/key/"):
            return self.null_session_class()
        return super().open_session(app, request)
