"""Bad uploads get a clear OpenRosa message and leave nothing behind: never a 500."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from defusedxml import ElementTree
from sqlalchemy import func, select

from pipeline.models import Attachment, Submission
from tests import builders

RESPONSE = "{http://openrosa.org/http/response}"


@pytest.fixture
def key(session) -> str:
    builders.publish(session, "site_visit")
    return builders.app_user(session).token


def _message(resp) -> str:
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    root = ElementTree.fromstring(resp.data)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    return root.findtext(f"{RESPONSE}message")


def _nothing_stored(session) -> None:
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def _post_xml(client, key: str, xml: bytes, files: dict[str, bytes] | None = None):
    body, content_type = builders.encode_multipart(xml, files)  # byte for byte as Collect sends it
    return client.post(f"/key/{key}/submission", content_type=content_type, data=body)


@pytest.mark.parametrize(("xml", "says"), [
    (builders.site_visit()[:120], "not well-formed XML: unclosed token: line 1"),
    (builders.site_visit().split(b"<orx:meta>")[0], "not well-formed XML: no element found"),
    (b"this is not xml", "not well-formed XML: syntax error"),
    (b"<site_visit id='site_visit'><name>a</nom></site_visit>", "mismatched tag"),
    (b"", "the XML part is empty"),
    (b'<?xml version="1.0" encoding="klingon"?><site_visit id="site_visit"/>', "unknown encoding"),
    (builders.site_visit().replace(b"uuid:0001", b""), "no meta/instanceID"),
    (builders.site_visit().replace(b' id="site_visit"', b""), "no 'id' attribute"),
    (builders.site_visit("uuid:" + "x" * 300), "instanceID is longer than 255 characters"),
])
def test_broken_xml_is_400_saying_what_is_wrong(client, session, key, xml, says):
    resp = _post_xml(client, key, xml)
    assert resp.status_code == 400
    assert says in _message(resp)
    _nothing_stored(session)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE site_visit [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<site_visit id="site_visit" version="1"><name>&secret;</name>
<meta><instanceID>uuid:xxe</instanceID></meta></site_visit>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<site_visit id="site_visit" version="1"><name>&lol5;</name>
<meta><instanceID>uuid:lol</instanceID></meta></site_visit>"""


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_and_dtds_are_refused(client, session, key, xml):
    resp = _post_xml(client, key, xml)
    assert resp.status_code == 400
    message = _message(resp)
    assert "DTD" in message
    assert "root:" not in message and "lollol" not in message
    _nothing_stored(session)


def test_upload_without_the_xml_part_is_400(client, session, key):
    resp = client.post(f"/key/{key}/submission", content_type="multipart/form-data",
                       data={"photo.jpg": (io.BytesIO(builders.JPEG), "photo.jpg")})
    assert resp.status_code == 400
    assert "xml_submission_file" in _message(resp)
    raw = client.post(f"/key/{key}/submission", data=builders.site_visit(), content_type="text/xml")
    assert raw.status_code == 400
    _nothing_stored(session)


def test_oversize_upload_is_413(app, client, session, key):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    resp = builders.submit(client, builders.site_visit(photo="big.jpg"),
                           {"big.jpg": b"x" * (1024 * 1024 + 1)}, via="http", key=key)
    assert resp.status_code == 413
    assert "larger than the 1 MB limit" in _message(resp)
    _nothing_stored(session)


@pytest.mark.parametrize("name", ["../../escape.jpg", "/etc/cron.d/x.jpg", "photos/../../x.jpg", ".."])
def test_attachment_names_with_paths_are_refused(app, client, session, key, tmp_path, name):
    xml = builders.site_visit(photo=name)
    resp = _post_xml(client, key, xml, {name: builders.JPEG})
    assert resp.status_code == 400
    assert "not a plain file name" in _message(resp)
    _nothing_stored(session)
    data_dir = app.config["SANGJOG_DATA_DIR"]
    assert not list(tmp_path.rglob("*.jpg"))
    assert not list(Path(data_dir).parent.parent.glob("*.jpg"))


def test_multipart_body_cut_off_is_400(client, session, key):
    boundary = "----sangjog"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; "
            f"filename=\"s.xml\"\r\nContent-Type: text/xml\r\n\r\n").encode() + builders.site_visit()[:80]
    resp = client.post(f"/key/{key}/submission", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 400
    _message(resp)
    _nothing_stored(session)


def test_overlong_device_id_is_cut_not_refused(client, session, key):
    resp = builders.submit(client, builders.site_visit(), via="http", key=key,
                           query=f"deviceID=collect:{'d' * 400}")
    assert resp.status_code == 201
    session.rollback()
    assert len(session.scalar(select(Submission.device_id))) == 255


def test_garbage_content_type_is_a_clear_400(client, session, key):
    resp = client.post(f"/key/{key}/submission", data=b"\x00\x01\x02",
                       content_type="multipart/form-data; boundary=")
    assert resp.status_code == 400
    _message(resp)
    _nothing_stored(session)
