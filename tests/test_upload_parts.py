"""Reading Collect's multipart upload: the same parts Werkzeug's form parser finds, whatever the
bytes and however the body arrives in chunks; a body cut short is a 400, never a partial upload."""

from __future__ import annotations

import io

import pytest
from flask import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from pipeline.problems import Problem
from sync_server.upload_parts import INCOMPLETE_PART, XML_PART, read_upload

BOUNDARY = "sangjogBoundaryQ7x"
plain_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..") and n not in (XML_PART, INCOMPLETE_PART))
# Contents that come close to the delimiter: CR, LF, dashes and pieces of the boundary.
contents = st.lists(st.sampled_from([b"\r", b"\n", b"-", b"--", b"\r\n--", b"sangjog", b"Boundary",
                                     b"<a>", b"\x00", b"\xff", b"x"]), max_size=30).map(b"".join)


def encode(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """RFC 7578 as Collect (OkHttp) writes it: CRLF before every delimiter."""
    out = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


def request_for(body: bytes, content_type: str = f"multipart/form-data; boundary={BOUNDARY}"):
    env = EnvironBuilder(method="POST", input_stream=io.BytesIO(body), content_type=content_type,
                         content_length=len(body)).get_environ()
    return Request(env)


def werkzeug_reading(body: bytes) -> tuple[bytes, dict[str, bytes], bool]:
    """What the upload was read as before: Werkzeug's form and files."""
    env = EnvironBuilder(method="POST", input_stream=io.BytesIO(body),
                         content_type=f"multipart/form-data; boundary={BOUNDARY}",
                         content_length=len(body)).get_environ()
    _, form, files = parse_form_data(env)
    xml = files[XML_PART].read() if XML_PART in files else form[XML_PART].encode()
    attachments: dict[str, bytes] = {}
    for part_name, storage in files.items(multi=True):
        if part_name in (XML_PART, INCOMPLETE_PART):
            continue
        name = storage.filename or part_name
        attachments[name] = storage.read()
        if part_name != name:
            attachments.setdefault(part_name, attachments[name])
    return xml, attachments, INCOMPLETE_PART in form or INCOMPLETE_PART in files


uploads = st.tuples(
    contents,
    # Part names unique: Werkzeug's form groups repeated names, the reading keeps body order.
    st.lists(st.tuples(plain_names, st.one_of(st.none(), plain_names), contents), max_size=4,
             unique_by=lambda part: part[0]),
    st.booleans(),
).map(lambda t: [(XML_PART, "submission.xml", t[0]), *t[1],
                 *([(INCOMPLETE_PART, None, b"yes")] if t[2] else [])])


def _whole(content) -> bytes:
    content.seek(0)  # two names may share one part
    return content.read()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(parts=uploads, chunk=st.integers(1, 70))
def test_reads_what_werkzeug_reads_in_any_chunking(parts, chunk):
    body = encode(parts)
    upload = read_upload(request_for(body), chunk_size=chunk)
    xml, files, incomplete = werkzeug_reading(body)
    read = {name: _whole(content) for name, content in upload.files.items()}
    assert (upload.xml, read, upload.incomplete) == (xml, files, incomplete)
    assert upload.xml == parts[0][2]  # byte for byte, whatever it holds


@pytest.mark.parametrize("epilogue", [b"", b"\r\n", b"trailing words\r\n" * 100])
def test_the_whole_body_is_read_so_the_connection_closes_cleanly(epilogue):
    body = encode([(XML_PART, "s.xml", b"<data/>")]) + epilogue
    request = request_for(body)
    assert read_upload(request, chunk_size=16).xml == b"<data/>"
    assert request.stream.read() == b""  # nothing left unread on the socket


@settings(max_examples=200)
@given(parts=uploads, data=st.data())
def test_a_body_cut_short_is_a_400(parts, data):
    body = encode(parts)
    cut = data.draw(st.integers(0, len(body) - len(f"--{BOUNDARY}--\r\n") + 1))
    with pytest.raises(Problem) as refused:
        read_upload(request_for(body[:cut]), chunk_size=data.draw(st.integers(1, 70)))
    assert refused.value.status == 400
    assert refused.value.code in ("submission.truncated", "submission.bad_multipart",
                                  "submission.missing_xml")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_body_that_stops_inside_a_part_is_told_it_was_cut_off(keep):
    body = encode([(XML_PART, "s.xml", b"<data>" + b"x" * 200 + b"</data>"),
                   ("p.jpg", "p.jpg", b"\xff" * 200)])
    with pytest.raises(Problem) as refused:
        read_upload(request_for(body[:int(len(body) * keep)]))
    assert refused.value.code == "submission.truncated"
    assert "send it again" in refused.value.message


def test_a_client_that_hangs_up_before_its_declared_length_is_told_so():
    body = encode([(XML_PART, "s.xml", b"<data/>")])
    env = EnvironBuilder(method="POST", input_stream=io.BytesIO(body[:40]),
                         content_type=f"multipart/form-data; boundary={BOUNDARY}").get_environ()
    env["CONTENT_LENGTH"] = str(len(body))  # declared, and then never all sent
    assert "wsgi.input_terminated" not in env  # so Werkzeug holds the stream to its length
    with pytest.raises(Problem) as refused:
        read_upload(Request(env))
    assert refused.value.code == "submission.truncated"
    assert "cut off" in refused.value.message


@pytest.mark.parametrize(("content_type", "body", "code"), [
    ("multipart/form-data", b"--x\r\n", "submission.bad_multipart"),  # no boundary named
    (f"multipart/form-data; boundary={BOUNDARY}", b"\x00\x01\x02", "submission.bad_multipart"),
    ("text/xml", b"<data/>", "submission.missing_xml"),
])
def test_bodies_that_are_not_a_collect_upload_say_why(content_type, body, code):
    with pytest.raises(Problem) as refused:
        read_upload(request_for(body, content_type))
    assert refused.value.code == code
    assert refused.value.status == 400


def test_too_many_parts_are_refused_before_they_are_kept():
    parts = [(XML_PART, "s.xml", b"<data/>")] + [(f"f{i}", f"f{i}.jpg", b"x") for i in range(1001)]
    with pytest.raises(Problem) as refused:
        read_upload(request_for(encode(parts)))
    assert refused.value.code == "submission.bad_multipart"
    assert "segment count" in refused.value.message
