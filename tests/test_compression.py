"""Gzip on the wire: what Collect downloads (form list, XForm, manifest, media) and web pages
are compressed when the client accepts gzip, with the md5s Collect checks unchanged; streamed
answers, uploads and clients that do not ask stay as they were."""

from __future__ import annotations

import gzip
import hashlib

from defusedxml import ElementTree
from flask import Flask, Response, send_file

from sync_server import compression
from tests import builders, formtools

GZIP = {"Accept-Encoding": "gzip, deflate"}
LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _unpacked(resp) -> bytes:
    assert resp.headers["Content-Encoding"] == "gzip"
    assert int(resp.headers["Content-Length"]) == len(resp.data)
    assert "Accept-Encoding" in resp.headers["Vary"]
    return gzip.decompress(resp.data)


def test_collect_gets_every_download_gzipped_and_the_md5s_are_of_the_plain_bytes(client, session):
    formtools.publish_all(session)
    key = builders.app_user(session, forms=formtools.FORM_IDS).token
    session.commit()
    listed = client.get(f"/key/{key}/formList", headers=GZIP)
    forms = {x.findtext(f"{LIST}formID"): x for x in ElementTree.fromstring(_unpacked(listed))}
    inspection = forms["innovation_inspection"]

    plain = client.get(_path(inspection.findtext(f"{LIST}downloadUrl")))
    packed = client.get(_path(inspection.findtext(f"{LIST}downloadUrl")), headers=GZIP)
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    xform = _unpacked(packed)
    assert xform == plain.data
    assert inspection.findtext(f"{LIST}hash") == "md5:" + hashlib.md5(xform).hexdigest()
    assert len(packed.data) < len(xform) / 5

    manifest = ElementTree.fromstring(_unpacked(
        client.get(_path(forms["hl_followup"].findtext(f"{LIST}manifestUrl")), headers=GZIP)))
    files = manifest.findall(f"{MANIFEST}mediaFile")
    assert {f.findtext(f"{MANIFEST}filename") for f in files} >= {"bd_union.csv", "action_plans.csv"}
    for entry in files:
        got = client.get(_path(entry.findtext(f"{MANIFEST}downloadUrl")), headers=GZIP)
        content = _unpacked(got) if "Content-Encoding" in got.headers else got.data
        assert entry.findtext(f"{MANIFEST}hash") == "md5:" + hashlib.md5(content).hexdigest()
    union = next(f for f in files if f.findtext(f"{MANIFEST}filename") == "bd_union.csv")
    assert "Content-Encoding" in client.get(_path(union.findtext(f"{MANIFEST}downloadUrl")),
                                            headers=GZIP).headers


def test_uploads_are_answered_as_before(client, session):
    formtools.publish_all(session)
    key = builders.app_user(session, forms=("hl_nomination",)).token
    session.commit()
    resp = builders.submit(client, builders.sample("hl_nomination"), via="http", key=key,
                           headers={**GZIP, "X-OpenRosa-Version": "1.0"})
    assert resp.status_code == 201 and "Content-Encoding" not in resp.headers
    assert b"OpenRosaResponse" in resp.data


def test_web_pages_are_gzipped(client):
    page = client.get("/login", headers=GZIP)
    assert b"<form" in _unpacked(page)


# ---- the rules, on a small app ----

def _app(tmp_path) -> Flask:
    app = Flask(__name__)
    compression.init_app(app)
    text = ("আমতলী, Amtali, बाहादुरशादी\n" * 400).encode()
    (tmp_path / "bundle.js").write_bytes(b"function f(){return 1}\n" * 2000)

    @app.route("/page")
    def page():
        return Response(text, mimetype="text/html")

    @app.route("/tiny")
    def tiny():
        return Response(b"<ok/>", mimetype="text/xml")

    @app.route("/photo")
    def photo():
        return Response(text, mimetype="image/jpeg")

    @app.route("/stream")
    def stream():
        return Response((text for _ in range(3)), mimetype="application/json")

    @app.route("/bundle.js")
    def bundle():
        return send_file(tmp_path / "bundle.js", mimetype="text/javascript", etag=True)

    return app


def test_only_whole_text_bodies_for_clients_that_ask(tmp_path):
    client = _app(tmp_path).test_client()
    page = client.get("/page", headers=GZIP)
    assert len(_unpacked(page)) == len("আমতলী, Amtali, बाहादुरशादी\n".encode()) * 400
    for refused in ("identity", "gzip;q=0", "br", ""):
        resp = client.get("/page", headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in resp.headers, refused
    assert "Content-Encoding" in client.get("/page", headers={"Accept-Encoding": "*"}).headers
    for path in ("/tiny", "/photo", "/stream"):
        resp = client.get(path, headers=GZIP)
        assert "Content-Encoding" not in resp.headers, path
    assert client.head("/page", headers=GZIP).headers.get("Content-Encoding") is None


def test_a_static_files_gzip_has_its_own_entity_tag(tmp_path):
    client = _app(tmp_path).test_client()
    plain = client.get("/bundle.js")
    packed = client.get("/bundle.js", headers=GZIP)
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    again = client.get("/bundle.js", headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/bundle.js", headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
