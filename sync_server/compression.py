"""Responses sent gzip-compressed to clients that accept it: form XML, manifests, form media,
form lists, web pages and the static files of the browser forms.

Collect's HTTP client (OkHttp) asks for gzip and unpacks it before anything else sees the bytes,
so a form's md5 in the form list and a media file's md5 in the manifest stay those of the
uncompressed content, as Collect checks them. A compressed answer gets ``Content-Encoding:
gzip``, its own ``Content-Length`` and a different entity tag (``…-gzip``: the same strong tag
may not name two representations); every answer whose body could be compressed says
``Vary: Accept-Encoding``. Left alone: streamed answers (downloads, the OData feed), partial and
empty ones, images, spreadsheets and zips (already compressed), bodies under ``MIN_BYTES``, and
request bodies (uploads are never touched). Bodies of ``KEEP_FROM_BYTES`` or more are gzipped once
and kept by their content (an XForm is the same bytes on every download). Figures:
``bench/compression.py``, docs/collect.md.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict

from flask import Flask, Response, request

from pipeline import caches

MIN_BYTES = 256  # below this gzip saves less than a TCP segment
MAX_FILE_BYTES = 8 * 1024 * 1024  # a static file larger than this goes out as it is
COMPRESSIBLE = ("text/", "application/xml", "application/json", "application/javascript",
                "application/xhtml+xml", "image/svg+xml", "application/wasm")
LEVEL = 6
# Bodies this large are kept gzipped by their content (an XForm, a big CSV, a static bundle are
# the same bytes on every download): hashing them costs a hundredth of compressing them.
KEEP_FROM_BYTES = 16 * 1024
_KEPT: OrderedDict[bytes, bytes] = OrderedDict()
_KEPT_MAX = 64
_KEPT_LOCK = threading.Lock()


@caches.register
def forget_kept() -> None:
    """Drop the gzipped bodies kept (with every other process cache: on publish, in tests)."""
    with _KEPT_LOCK:
        _KEPT.clear()


def init_app(app: Flask) -> None:
    # after_request functions run last-registered first: registered before the others, this
    # one sees the response once every other header is set.
    app.after_request_funcs.setdefault(None, []).insert(0, compress)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip``, ``*``; not with ``q=0``)."""
    allowed: dict[str, float] = {}
    for part in (header or "").split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip():
            allowed[coding.strip().lower()] = quality
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", 0.0))) > 0


def compress(response: Response) -> Response:
    if (request.method == "HEAD" or response.status_code != 200
            or "Content-Encoding" in response.headers
            or not (response.mimetype or "").startswith(COMPRESSIBLE)):
        return response
    file_tag = None
    if response.direct_passthrough:  # a file sent with send_file (static files)
        length = response.content_length
        if length is None or length > MAX_FILE_BYTES:
            return response
        file_tag = response.get_etag()[0]
    elif response.is_streamed:  # a generator: downloads, the OData feed
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip(request.headers.get("Accept-Encoding")):
        return response
    if response.content_length is not None and response.content_length < MIN_BYTES:
        return response
    if file_tag and request.if_none_match.contains(f"{file_tag}-gzip"):
        response.close()  # the browser holds this gzip already
        return Response(status=304, headers={"ETag": f'"{file_tag}-gzip"',
                                             "Vary": "Accept-Encoding"})
    response.direct_passthrough = False
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    packed = _gzip(data)
    if len(packed) >= len(data):
        return response
    response.set_data(packed)
    response.headers["Content-Encoding"] = "gzip"
    tag, weak = response.get_etag()
    if tag:
        response.set_etag(f"{tag}-gzip", weak)
    return response


def _gzip(data: bytes) -> bytes:
    if len(data) < KEEP_FROM_BYTES:
        return gzip.compress(data, compresslevel=LEVEL, mtime=0)
    key = hashlib.blake2b(data, digest_size=16).digest()
    with _KEPT_LOCK:
        packed = _KEPT.get(key)
        if packed is not None:
            _KEPT.move_to_end(key)
            return packed
    packed = gzip.compress(data, compresslevel=LEVEL, mtime=0)
    with _KEPT_LOCK:
        _KEPT[key] = packed
        while len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)
    return packed
