"""Read Collect's multipart upload: the XML part, the attachments by file name, and whether
Collect will send more parts (a large upload split over several POSTs).

The body streams through ``multipart``'s push parser in chunks, straight into one spooled file
per part: about a tenth of the work of building Werkzeug's form and file objects, which every
upload would pay for parts that are read once. A part stays in memory up to ``SPOOL_BYTES`` and
goes on in an unnamed temporary file beside the attachment store past that, so a 100 MB photo is
never held in memory: the raw store copies it into its blob from there. Werkzeug still guards the stream (413 past
``MAX_CONTENT_LENGTH``, 400 for a client that hangs up mid-body); bodies that are not
multipart go through Flask's own form parsing.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from typing import BinaryIO

import multipart
from flask import Request, has_app_context
from werkzeug.exceptions import ClientDisconnected

from pipeline import problems
from pipeline.rawstore import is_plain_name

from .db import get_blobs

XML_PART = "xml_submission_file"
INCOMPLETE_PART = "*isIncomplete*"
# A part larger than this goes on on disk (an unnamed file: nothing is left behind, it goes
# when the upload is dropped at the end of the request).
SPOOL_BYTES = 1024 * 1024


@dataclass
class Upload:
    xml: bytes
    # attachment file name -> its content: bytes, or a spooled file (read from its start)
    files: dict[str, bytes | BinaryIO] = field(default_factory=dict)
    incomplete: bool = False  # Collect will send more parts of this submission


@dataclass
class _Part:
    name: str
    filename: str | None  # None: a plain form field, not a file
    body: BinaryIO  # in memory up to ``SPOOL_BYTES``, then on disk


def read_upload(request: Request, chunk_size: int = 64 * 1024) -> Upload:
    """The upload in ``request``; raises ``Problem`` (400) for a body that is cut off, is not
    multipart, lacks the XML part or names an attachment with a path."""
    content_type, options = multipart.parse_options_header(request.content_type or "")
    if content_type == "multipart/form-data":
        parts = _multipart_parts(request, options.get("boundary", ""), chunk_size)
    else:
        parts = [_Part(name, None, io.BytesIO(value.encode()))
                 for name, value in request.form.items(multi=True)]
    xml: bytes | None = None
    files: dict[str, bytes | BinaryIO] = {}
    incomplete = False
    for part in parts:
        if part.name == INCOMPLETE_PART:
            incomplete = True
        elif part.name == XML_PART:
            if xml is None:  # the first one, as Werkzeug's form would give
                part.body.seek(0)
                xml = part.body.read()
        elif part.filename is not None:
            name = part.filename or part.name
            if not is_plain_name(name):
                raise problems.bad_attachment_name(name)
            part.body.seek(0)
            files[name] = part.body
            if part.name != name and is_plain_name(part.name):
                # Some clients name the part after the field value and send a generic file
                # name; the raw store keeps only names the XML refers to, so both are safe.
                files.setdefault(part.name, files[name])
    if xml is None:
        raise problems.missing_xml_part()
    return Upload(xml, files, incomplete)


def _multipart_parts(request: Request, boundary: str, chunk_size: int) -> list[_Part]:
    if not boundary:
        raise problems.not_multipart("its Content-Type names no boundary")
    stream = request.stream  # raises 413 when the declared length is over the limit
    spool = None  # the system's temporary folder, outside an app (tests of this module)
    if has_app_context():  # beside the attachment store: the same disk
        spool = get_blobs().spool_dir()
    parts: list[_Part] = []
    try:
        with multipart.PushMultipartParser(boundary, max_header_count=16,
                                           max_segment_count=request.max_form_parts or 1000
                                           ) as parser:
            # Until the stream ends, past the last boundary too: a socket closed with bytes
            # unread answers with a reset, which can reach Collect before the 201 does.
            while not parser.closed:
                chunk = stream.read(chunk_size)
                for event in parser.parse(chunk):
                    if isinstance(event, multipart.MultipartSegment):
                        parts.append(_Part(event.name or "", event.filename,
                                           tempfile.SpooledTemporaryFile(  # noqa: SIM115 - kept
                                               SPOOL_BYTES, dir=spool)))
                    elif event:
                        parts[-1].body.write(event)
    except ClientDisconnected as exc:
        raise problems.upload_truncated("the connection closed before the declared length") from exc
    except multipart.MultipartError as exc:
        if parts and "end of multipart stream" in str(exc):  # it began well, then stopped
            raise problems.upload_truncated(str(exc)) from exc
        raise problems.not_multipart(str(exc)) from exc
    return parts
