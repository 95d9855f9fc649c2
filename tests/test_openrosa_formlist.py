"""Form list, form download, manifest and media, as ODK Collect asks for them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from defusedxml import ElementTree

from pipeline import accounts
from pipeline.domain import media
from pipeline.forms import set_state
from sync_server import auth
from tests import builders

LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


def _forms(resp) -> dict[str, dict[str, str]]:
    assert resp.status_code == 200, resp.data
    root = ElementTree.fromstring(resp.data)
    assert root.tag == f"{LIST}xforms"
    return {x.findtext(f"{LIST}formID"): {c.tag.removeprefix(LIST): c.text for c in x}
            for x in root.findall(f"{LIST}xform")}


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_app_user_lists_open_forms_and_downloads_the_exact_bytes_hashed(app, client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="survey_two", title="Survey two",
                     with_media=False)
    key = builders.app_user(session).token
    app.config["SERVER_URL"] = "https://sangjog.example.org"

    resp = client.get(f"/key/{key}/formList")
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    assert int(resp.headers["X-OpenRosa-Accept-Content-Length"]) == 100 * 1024 * 1024
    forms = _forms(resp)
    assert set(forms) == {"site_visit", "survey_two"}
    visit = forms["site_visit"]
    assert visit["name"] == "Site visit" and visit["version"] == "1"
    assert visit["downloadUrl"] == f"https://sangjog.example.org/key/{key}/formXml/site_visit"
    assert visit["manifestUrl"] == f"https://sangjog.example.org/key/{key}/formManifest/site_visit"
    assert "manifestUrl" not in forms["survey_two"]  # no media, no manifest

    xform = client.get(_path(visit["downloadUrl"]))
    assert xform.status_code == 200
    assert visit["hash"] == "md5:" + hashlib.md5(xform.data).hexdigest()
    assert b'id="site_visit"' in xform.data


def test_without_server_url_links_follow_the_request(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    forms = _forms(client.get(f"/key/{key}/formList", base_url="http://10.0.0.5:8080"))
    assert forms["site_visit"]["downloadUrl"] == f"http://10.0.0.5:8080/key/{key}/formXml/site_visit"


def test_closing_and_closed_forms_are_not_listed(client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="closing_one", with_media=False)
    builders.publish(session, "site_visit", form_id="closed_one", with_media=False)
    set_state(session, "closing_one", "closing", "tester")
    set_state(session, "closed_one", "closed", "tester")
    key = builders.app_user(session).token
    assert set(_forms(client.get(f"/key/{key}/formList"))) == {"site_visit"}
    assert client.get(f"/key/{key}/formXml/closed_one").status_code == 404


def test_form_id_filter(client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="survey_two", with_media=False)
    key = builders.app_user(session).token
    assert set(_forms(client.get(f"/key/{key}/formList?formID=survey_two"))) == {"survey_two"}
    assert _forms(client.get(f"/key/{key}/formList?formID=nothing")) == {}


def test_newest_version_is_listed(client, session):
    builders.publish(session, "site_visit", version="1")
    builders.publish(session, "site_visit", version="2")
    key = builders.app_user(session).token
    listed = _forms(client.get(f"/key/{key}/formList"))["site_visit"]
    assert listed["version"] == "2"
    assert b'version="2"' in client.get(_path(listed["downloadUrl"])).data


def test_app_user_sees_only_assigned_forms(client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="survey_two", with_media=False)
    key = builders.app_user(session, "ballot-phone", forms=("survey_two",)).token
    assert set(_forms(client.get(f"/key/{key}/formList"))) == {"survey_two"}
    assert client.get(f"/key/{key}/formXml/site_visit").status_code == 403
    assert client.get(f"/key/{key}/formManifest/site_visit").status_code == 403


def test_unknown_key_is_401_and_revoked_key_is_403(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    assert client.get("/key/not-a-key/formList").status_code == 401
    accounts.revoke_app_user(session, "phone-1", actor="tester")
    resp = client.get(f"/key/{key}/formList")
    assert resp.status_code == 403
    assert b"revoked" in resp.data


def test_manifest_lists_media_with_hashes_of_the_served_bytes(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    resp = client.get(f"/key/{key}/formManifest/site_visit")
    assert resp.status_code == 200
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    root = ElementTree.fromstring(resp.data)
    assert root.tag == f"{MANIFEST}manifest"
    (entry,) = root.findall(f"{MANIFEST}mediaFile")
    assert entry.findtext(f"{MANIFEST}filename") == "places.csv"
    media = client.get(_path(entry.findtext(f"{MANIFEST}downloadUrl")))
    assert media.status_code == 200 and media.data == builders.PLACES_CSV
    assert entry.findtext(f"{MANIFEST}hash") == "md5:" + hashlib.md5(builders.PLACES_CSV).hexdigest()
    assert client.get(f"/key/{key}/formMedia/site_visit/other.csv").status_code == 404


def test_generated_media_hash_changes_exactly_when_content_does(client, session, monkeypatch):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    content = {"places.csv": b"name,label\nv1,One\n"}
    monkeypatch.setattr(media, "generated_media",
                        lambda _session, name, _scope, _upazila="": content.get(name))

    def manifest_hash() -> str:
        root = ElementTree.fromstring(client.get(f"/key/{key}/formManifest/site_visit").data)
        return root.find(f"{MANIFEST}mediaFile").findtext(f"{MANIFEST}hash")

    first = manifest_hash()
    assert first == "md5:" + hashlib.md5(b"name,label\nv1,One\n").hexdigest()
    assert manifest_hash() == first
    assert client.get(f"/key/{key}/formMedia/site_visit/places.csv").data == b"name,label\nv1,One\n"
    content["places.csv"] = b"name,label\nv1,One\nv2,Two\n"
    assert manifest_hash() != first
    content.clear()  # nothing generated: the static upload is served again
    assert manifest_hash() == "md5:" + hashlib.md5(builders.PLACES_CSV).hexdigest()


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_web_users_use_basic_auth_at_the_root(client, session):
    builders.publish(session, "site_visit")
    accounts.create_user(session, "rahima", "correct horse battery", "supervisor")
    resp = client.get("/formList")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    assert client.get("/formList", headers=_basic("rahima", "wrong password!")).status_code == 401
    assert client.get("/formList", headers=_basic("nobody", "correct horse battery")).status_code == 401
    forms = _forms(client.get("/formList", headers=_basic("rahima", "correct horse battery")))
    assert forms["site_visit"]["downloadUrl"] == "http://localhost/formXml/site_visit"


@pytest.fixture
def counted_argon2(monkeypatch):
    calls = []
    real = accounts.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    auth.forget_verified()
    yield calls
    auth.forget_verified()


def test_verified_credentials_are_remembered_until_the_password_changes(client, session,
                                                                        counted_argon2):
    user = accounts.create_user(session, "karim", "first password 1", "admin")
    good = _basic("karim", "first password 1")
    for _ in range(3):
        assert client.get("/formList", headers=good).status_code == 200
    assert len(counted_argon2) == 1  # argon2 ran once for three requests
    accounts.set_password(session, user, "second password 2")
    assert client.get("/formList", headers=good).status_code == 401
    assert client.get("/formList", headers=_basic("karim", "second password 2")).status_code == 200


def test_deactivated_user_is_refused_even_when_remembered(client, session, counted_argon2):
    user = accounts.create_user(session, "salma", "a long password", "admin")
    good = _basic("salma", "a long password")
    assert client.get("/formList", headers=good).status_code == 200
    user.active = False
    session.commit()
    assert client.get("/formList", headers=good).status_code == 401
