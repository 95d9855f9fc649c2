"""HTTP to remote servers: one ``requests.Session`` per pull, with timeouts and bounded retries.

Timeouts, dropped connections, 429 and 503 (after their ``Retry-After``, capped) and 5xx answers are
retried with exponential backoff; a page that arrives but cannot be read is reported, not
retried forever. Refusals become ``Problem``s whose messages never contain a secret.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from pipeline import problems

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (
    requests.ConnectionError,  # refused, reset, dropped mid-body (ChunkedEncodingError is one)
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
USER_AGENT = "Sangjog (ODK/KoBo sync server)"


class Secret:
    """A token or password: its value is only reachable through ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class Client:
    """A remote API: base URL, auth headers, retries. Subclasses add how to authenticate."""

    service = "The remote server"

    def __init__(self, base_url: str, *, timeout: tuple[float, float] = (10.0, 60.0),
                 retries: int = 4, backoff: float = 1.0, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.http = requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT

    # Hooks for subclasses ---------------------------------------------------------------
    def auth_headers(self, url: str) -> dict[str, str]:
        return {}

    def reauthenticate(self) -> bool:
        """Called once on a 401; return True if a retry with fresh credentials makes sense."""
        return False

    def secrets(self) -> list[str]:
        """Values that must never appear in a message."""
        return []

    # Requests ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/")) if "://" not in path else path

    def same_host(self, url: str) -> bool:
        return urlsplit(url).netloc == urlsplit(self.base_url).netloc

    def request(self, method: str, path: str, *, what: str, **kwargs: Any) -> requests.Response:
        """Send with retries; return a 2xx response or raise the Problem that fits."""
        url = self.url(path)
        extra_headers = kwargs.pop("headers", {})
        reauthenticated = False
        attempt = 0
        while True:
            headers = {**extra_headers, **self.auth_headers(url)}
            try:
                resp = self.http.request(method, url, headers=headers, timeout=self.timeout,
                                         allow_redirects=True, **kwargs)
            except TRANSIENT_ERRORS as exc:
                reason, wait = self._describe(exc), self._backoff(attempt)
            else:
                if resp.status_code == 401 and not reauthenticated and self.reauthenticate():
                    reauthenticated = True
                    continue
                if resp.status_code not in RETRY_STATUSES:
                    return self._checked(resp, what)
                reason = f"HTTP {resp.status_code}"
                # 429 and 503 may say when to come back (Retry-After); others back off.
                wait = self._retry_after(resp) if resp.status_code in (429, 503) else None
                wait = self._backoff(attempt) if wait is None else wait
            if attempt >= self.retries:
                raise problems.unreachable(self.service, self.redact(f"{what}: {reason}"))
            attempt += 1
            log.warning("%s: %s; retry %d of %d in %.1fs", self.service, self.redact(reason),
                        attempt, self.retries, wait)
            self.sleep(wait)

    def get_json(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> Any:
        return self.json_of(self.request("GET", path, what=what, params=params), what)

    def json_of(self, resp: requests.Response, what: str) -> Any:
        try:
            return resp.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise problems.bad_page(self.service, what, self.redact(str(exc))) from exc

    def get_bytes(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> bytes:
        return self.request("GET", path, what=what, params=params).content

    def get_file(self, path: str, *, name: str, mimetype: str | None = None) -> bytes:
        """A submission's attachment, checked: against the MD5 the server gives for it
        (``file_md5``), and a picture must decode to its last row (``image_damage``). A file
        cut short or changed on its way, even with a matching Content-Length, raises
        ``connector.attachment_damaged``."""
        resp = self.request("GET", path, what=f"attachment {name}")
        data = resp.content
        expected = self.file_md5(resp)
        if expected and hashlib.md5(data).hexdigest() != expected:  # noqa: S324 - the server's sum
            raise problems.attachment_damaged(
                self.service, name, f"its {len(data)} bytes do not have the MD5 sum the server "
                f"gives ({expected})")
        reason = image_damage(data, mimetype or resp.headers.get("Content-Type"))
        if reason:
            raise problems.attachment_damaged(self.service, name, reason)
        return data

    def file_md5(self, resp: requests.Response) -> str | None:
        """The MD5 sum the server gives for a downloaded file, if it gives one."""
        return None

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, "********")
        return text

    def close(self) -> None:
        self.http.close()

    # Internals --------------------------------------------------------------------------
    def _checked(self, resp: requests.Response, what: str) -> requests.Response:
        status = resp.status_code
        if status in (401, 403):
            raise problems.token_refused(self.service, status)
        if status == 404:
            raise problems.remote_not_found(self.service, what)
        if status >= 400:
            raise problems.remote_refused(self.service, status, what)
        return resp

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * (2 ** attempt), self.max_wait)

    def _retry_after(self, resp: requests.Response) -> float | None:
        value = (resp.headers.get("Retry-After") or "").strip()
        if not value:
            return None
        if value.isdigit():
            return min(float(value), self.max_wait)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), self.max_wait)

    @staticmethod
    def _describe(exc: Exception) -> str:
        if isinstance(exc, requests.Timeout):
            return "the server took too long to answer"
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return "the connection was dropped in the middle of a page"
        return f"connection failed ({type(exc).__name__})"


def image_damage(data: bytes, content_type: str | None) -> str | None:
    """Why a picture (``image/*``, or bytes that open as one) does not decode to its end, or
    None: a JPEG, PNG... cut short or damaged. Bytes no image reader recognises are not judged
    (a file sent under a picture's name that is no picture at all is what the phone sent).
    JPEG is decoded at its smallest scale (``draft``): every byte read, a fraction of the work."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (64, 64))
            image.load()
    except UnidentifiedImageError:
        return ("it is not a picture it says it is" if (content_type or "").startswith("image/")
                and not data else None)
    except Image.DecompressionBombError:
        return None  # too large to judge here; the thumbnails say so
    except (OSError, SyntaxError, ValueError) as exc:
        return f"the picture does not decode ({exc})"
    return None
