"""A small published form and what ODK Collect sends for it, for the OpenRosa and raw-store tests.

``site_visit`` has a text field, a photo (binary), a repeat of three rows and a CSV media file,
which is all the sync server cares about. The real forms are exercised in the end-to-end test.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy.orm import Session

from pipeline import accounts
from pipeline.forms import BuiltForm, publish
from pipeline.models import AppUser, FormVersion

XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
 xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
 xmlns:odk="http://www.opendatakit.org/xforms">
 <h:head><h:title>{title}</h:title>
  <model odk:xforms-version="1.0.0">
   <instance><{form_id} id="{form_id}" version="{version}"><name/><photo/>
     <rows jr:template=""><item/><snap/></rows><meta><instanceID/></meta></{form_id}></instance>
   <instance id="places" src="jr://file-csv/places.csv"/>
   <bind nodeset="/{form_id}/name" type="string"/>
   <bind nodeset="/{form_id}/photo" type="binary"/>
   <bind nodeset="/{form_id}/rows/item" type="string"/>
   <bind nodeset="/{form_id}/rows/snap" type="binary"/>
   <bind nodeset="/{form_id}/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
  </model></h:head>
 <h:body><input ref="/{form_id}/name"><label>Name</label></input>
  <upload ref="/{form_id}/photo" mediatype="image/*"><label>Photo</label></upload>
  <repeat nodeset="/{form_id}/rows"><input ref="/{form_id}/rows/item"><label>Item</label></input>
   <upload ref="/{form_id}/rows/snap" mediatype="image/*"><label>Snap</label></upload></repeat>
 </h:body></h:html>
"""

PLACES_CSV = b"name,label\ndhaka,Dhaka\nkathmandu,Kathmandu\n"
JPEG = b"\xff\xd8\xff\xe0" + b"pretend photo " * 50 + b"\xff\xd9"


def publish_site_visit(session: Session, version: str = "1", *, form_id: str = "site_visit",
                       title: str = "Site visit", with_media: bool = True) -> FormVersion:
    xml = XFORM.format(form_id=form_id, version=version, title=title).encode()
    if not with_media:
        xml = xml.replace(b'<instance id="places" src="jr://file-csv/places.csv"/>', b"")
    built = BuiltForm(form_id=form_id, version=version, title=title, xml=xml,
                      media=["places.csv"] if with_media else [])
    return publish(session, built, None, {"places.csv": PLACES_CSV} if with_media else {},
                   "tester").version


def submission_xml(instance_id: str = "uuid:0001", *, version: str = "1", name: str = "Rina",
                   photo: str | None = None, snaps: tuple[str, ...] = (), rows: int = 3,
                   deprecated_id: str | None = None, form_id: str = "site_visit") -> bytes:
    row_xml = "".join(
        f"<rows><item>item {i}</item><snap>{snaps[i] if i < len(snaps) else ''}</snap></rows>"
        for i in range(rows))
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{form_id} xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
        f"<name>{name}</name><photo>{photo or ''}</photo>{row_xml}"
        f"<orx:meta><orx:instanceID>{instance_id}</orx:instanceID>{deprecated}</orx:meta>"
        f"</{form_id}>"
    ).encode()


def multipart(xml: bytes, files: dict[str, bytes] | None = None, *,
              incomplete: bool = False) -> dict[str, Any]:
    """The body of Collect's upload, as the Flask test client takes it."""
    data: dict[str, Any] = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    for name, content in (files or {}).items():
        data[name] = (io.BytesIO(content), name, "image/jpeg")
    if incomplete:
        data["*isIncomplete*"] = "yes"
    return data


def app_user(session: Session, name: str = "phone-1", forms: tuple[str, ...] = ()) -> AppUser:
    return accounts.create_app_user(session, name, list(forms), actor="tester")


def encode_multipart(xml: bytes, files: dict[str, bytes] | None = None) -> tuple[bytes, str]:
    """Collect's upload as raw bytes, for clients that speak real HTTP (body, Content-Type)."""
    boundary = "sangjogBoundary7MA4YWxkTrZu0gW"
    chunks = []
    parts = [("xml_submission_file", "submission.xml", "text/xml", xml)]
    parts += [(name, name, "image/jpeg", data) for name, data in (files or {}).items()]
    for field_name, filename, content_type, data in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def wait_loaded(session: Session, timeout: float = 10.0) -> None:
    """Wait (bounded) until the server's background loader has loaded every stored upload."""
    import time

    from sqlalchemy import select

    from pipeline.models import Submission

    deadline = time.monotonic() + timeout
    while True:
        session.rollback()  # a fresh snapshot each look
        pending = session.scalar(select(Submission.id).where(Submission.parse_status == "pending").limit(1))
        if pending is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"submission {pending} was still pending after {timeout} s")
        time.sleep(0.02)
