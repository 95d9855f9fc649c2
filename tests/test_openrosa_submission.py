"""Submission upload as ODK Collect does it: photos, resends, split uploads, edits, form states."""

from __future__ import annotations

import hashlib

import pytest
from defusedxml import ElementTree
from sqlalchemy import select

from pipeline import accounts
from pipeline.forms import set_state
from pipeline.models import Submission
from tests import builders

RESPONSE = "{http://openrosa.org/http/response}"
OTHER_JPEG = builders.JPEG.replace(b"pretend", b"another")


def _post(client, key: str, xml: bytes, files: dict[str, bytes] | None = None, **kwargs):
    return builders.submit(client, xml, files, via="http", key=key, query="deviceID=collect:Xy12",
                           **kwargs)


def _stored(session, instance_id: str) -> Submission:
    session.rollback()  # a fresh snapshot: the app committed in its own session
    return session.scalar(select(Submission).where(Submission.instance_id == instance_id))


def _blob(app, digest: str) -> bytes:
    return app.extensions["blobs"].get(digest)


def test_head_answers_204_with_openrosa_headers(client, session):
    key = builders.app_user(session).token
    resp = client.head(f"/key/{key}/submission")
    assert resp.status_code == 204
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    assert resp.headers["X-OpenRosa-Accept-Content-Length"] == str(100 * 1024 * 1024)
    unauthenticated = client.head("/submission")
    assert unauthenticated.status_code == 401
    assert "WWW-Authenticate" in unauthenticated.headers


@pytest.mark.both_stores
def test_submission_with_a_photo_is_stored_exactly(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    xml = builders.site_visit(photo="1700000000.jpg")
    resp = _post(client, key, xml, {"1700000000.jpg": builders.JPEG,
                                    "stray.txt": b"not referenced"})
    assert resp.status_code == 201, resp.data
    root = ElementTree.fromstring(resp.data)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    assert "successful" in root.findtext(f"{RESPONSE}message")
    stored = _stored(session, "uuid:0001")
    assert stored.xml == xml
    assert stored.root_id == "uuid:0001" and stored.current
    assert stored.form.xml_form_id == "site_visit" and stored.form_version == "1"
    assert stored.submitter == "phone-1" and stored.device_id == "collect:Xy12"
    assert stored.source == "collect" and stored.review_state == "received"
    assert stored.attachments_expected == 1
    (photo,) = stored.attachments  # the unreferenced part is ignored
    assert (photo.name, photo.size, photo.content_type) == ("1700000000.jpg", len(builders.JPEG),
                                                            "image/jpeg")
    assert _blob(app, photo.sha256) == builders.JPEG


@pytest.mark.both_stores
def test_attachment_found_by_part_name_when_the_file_name_is_generic(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    resp = _post(client, key, builders.site_visit(photo="1700000001.jpg"),
                 {"1700000001.jpg": (builders.JPEG, "blob")})
    assert resp.status_code == 201
    (photo,) = _stored(session, "uuid:0001").attachments
    assert photo.name == "1700000001.jpg" and _blob(app, photo.sha256) == builders.JPEG


def test_resend_is_201_and_stores_nothing_twice(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    xml = builders.site_visit(photo="a.jpg")
    for _ in range(3):
        assert _post(client, key, xml, {"a.jpg": builders.JPEG}).status_code == 201
    session.rollback()  # a fresh snapshot: the app committed in its own session
    assert session.scalars(select(Submission)).all() == [_stored(session, "uuid:0001")]
    assert len(_stored(session, "uuid:0001").attachments) == 1


@pytest.mark.both_stores
def test_split_upload_adds_the_later_attachments(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    xml = builders.site_visit(photo="a.jpg", snaps=("s1.jpg", "s2.jpg"))
    assert _post(client, key, xml, {"a.jpg": builders.JPEG}, incomplete=True).status_code == 201
    assert [a.name for a in _stored(session, "uuid:0001").attachments] == ["a.jpg"]
    assert _post(client, key, xml, {"s1.jpg": OTHER_JPEG}, incomplete=True).status_code == 201
    assert _post(client, key, xml, {"s2.jpg": builders.JPEG}).status_code == 201
    stored = _stored(session, "uuid:0001")
    assert stored.attachments_expected == 3
    assert {a.name: _blob(app, a.sha256) for a in stored.attachments} == {
        "a.jpg": builders.JPEG, "s1.jpg": OTHER_JPEG, "s2.jpg": builders.JPEG}


def test_same_instance_id_with_different_xml_is_a_conflict(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    assert _post(client, key, builders.site_visit(name="Rina")).status_code == 201
    resp = _post(client, key, builders.site_visit(name="Someone else"))
    assert resp.status_code == 409
    assert b"uuid:0001" in resp.data
    assert _stored(session, "uuid:0001").xml == builders.site_visit(name="Rina")


@pytest.mark.both_stores
def test_edit_becomes_current_and_keeps_photos_it_still_names(app, client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    first = builders.site_visit(photo="a.jpg", snaps=("s1.jpg",))
    assert _post(client, key, first, {"a.jpg": builders.JPEG,
                                      "s1.jpg": builders.JPEG}).status_code == 201
    # The edit keeps a.jpg (not resent), replaces the repeat photo and changes the name.
    edit = builders.site_visit("uuid:0002", deprecated_id="uuid:0001", name="Rina Das",
                          photo="a.jpg", snaps=("s9.jpg",))
    assert _post(client, key, edit, {"s9.jpg": OTHER_JPEG}).status_code == 201
    old, new = _stored(session, "uuid:0001"), _stored(session, "uuid:0002")
    assert (old.current, new.current) == (False, True)
    assert old.root_id == new.root_id == "uuid:0001"
    assert new.deprecated_id == "uuid:0001" and new.review_state == "edited"
    assert {a.name: _blob(app, a.sha256) for a in new.attachments} == {
        "a.jpg": builders.JPEG, "s9.jpg": OTHER_JPEG}
    assert old.xml == first  # the raw store never alters what it received
    # An edit of the edit keeps the same root.
    again = builders.site_visit("uuid:0003", deprecated_id="uuid:0002", name="R. Das",
                                photo="a.jpg")
    assert _post(client, key, again).status_code == 201
    session.rollback()  # a fresh snapshot: the app committed in its own session
    current = session.scalars(select(Submission.instance_id).where(Submission.current)).all()
    assert current == ["uuid:0003"]
    assert _stored(session, "uuid:0003").root_id == "uuid:0001"


def test_every_published_version_is_accepted(client, session):
    builders.publish(session, "site_visit", version="1")
    builders.publish(session, "site_visit", version="2")
    key = builders.app_user(session).token
    assert _post(client, key, builders.site_visit("uuid:v1", version="1")).status_code == 201
    assert _post(client, key, builders.site_visit("uuid:v2", version="2")).status_code == 201
    assert _stored(session, "uuid:v1").form_version == "1"


def test_unknown_form_or_version_is_404(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    resp = _post(client, key, builders.site_visit(version="9"))
    assert resp.status_code == 404 and b"no published version '9'" in resp.data
    assert _post(client, key, builders.site_visit(form_id="nope")).status_code == 404
    assert session.scalars(select(Submission)).all() == []


def test_closing_still_accepts_and_closed_refuses(client, session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    set_state(session, "site_visit", "closing", "tester")
    assert _post(client, key, builders.site_visit("uuid:a")).status_code == 201
    set_state(session, "site_visit", "closed", "tester")
    resp = _post(client, key, builders.site_visit("uuid:b"))
    assert resp.status_code == 409 and b"closed" in resp.data
    assert _stored(session, "uuid:b") is None


def test_app_user_cannot_submit_to_a_form_it_was_not_given(client, session):
    builders.publish(session, "site_visit")
    builders.publish(session, "site_visit", form_id="survey_two", with_media=False)
    key = builders.app_user(session, forms=("survey_two",)).token
    assert _post(client, key, builders.site_visit()).status_code == 403
    assert _post(client, key, builders.site_visit(form_id="survey_two")).status_code == 201


def test_web_user_submits_with_basic_auth(client, session):
    builders.publish(session, "site_visit")
    accounts.create_user(session, "officer", "a long password", "supervisor")
    resp = builders.submit(client, builders.site_visit(), via="http",
                           user=("officer", "a long password"))
    assert resp.status_code == 201
    assert _stored(session, "uuid:0001").submitter == "officer"
    assert builders.submit(client, builders.site_visit("uuid:x"), via="http").status_code == 401


def test_collect_round_trip_with_the_real_inspection_form(client, session):
    """formList → download → manifest and media → fill with ODK's engine → submit photos."""
    from pipeline.domain.projects import SAMPLE, import_projects
    from tests import formtools

    formtools.publish_all(session)
    import_projects(session, SAMPLE)
    key = builders.app_user(session, "inspector-phone", forms=("innovation_inspection",)).token
    listing = ElementTree.fromstring(client.get(f"/key/{key}/formList").data)
    ns = "{http://openrosa.org/xforms/xformsList}"
    (entry,) = listing.findall(f"{ns}xform")
    assert entry.findtext(f"{ns}formID") == "innovation_inspection"
    path = entry.findtext(f"{ns}downloadUrl").removeprefix("http://localhost")
    xform = client.get(path).data
    assert entry.findtext(f"{ns}hash") == "md5:" + hashlib.md5(xform).hexdigest()

    mf = "{http://openrosa.org/xforms/xformsManifest}"
    manifest = ElementTree.fromstring(
        client.get(entry.findtext(f"{ns}manifestUrl").removeprefix("http://localhost")).data)
    media = {}
    for item in manifest.findall(f"{mf}mediaFile"):
        content = client.get(item.findtext(f"{mf}downloadUrl").removeprefix("http://localhost")).data
        assert item.findtext(f"{mf}hash") == "md5:" + hashlib.md5(content).hexdigest()
        media[item.findtext(f"{mf}filename")] = content
    assert b"KUS-2017-01" in media["innovation_projects.csv"]  # generated from the registry

    place = {"/data/division": "40", "/data/district": "4050", "/data/upazila": "405079",
             "/data/project": "KUS-2017-01"}
    answers = [(p, place.get(p, v)) for p, v in formtools.SAMPLE_ANSWERS["innovation_inspection"]]
    filled = formtools.fill_xform(xform, answers, media)
    assert filled.ok, (filled.violations, filled.errors)
    photos = {"desk.jpg": builders.JPEG, "queue.jpg": OTHER_JPEG,
              "signature.png": b"\x89PNG signature"}
    first = _post(client, key, filled.xml, {"desk.jpg": photos["desk.jpg"]}, incomplete=True)
    assert first.status_code == 201
    rest = {k: v for k, v in photos.items() if k != "desk.jpg"}
    assert _post(client, key, filled.xml, rest).status_code == 201
    assert _post(client, key, filled.xml, photos).status_code == 201  # a resend changes nothing

    builders.wait_loaded(session)  # the server's background loader, not the test, loads it
    (stored,) = session.scalars(select(Submission)).all()
    assert stored.xml == filled.xml and stored.submitter == "inspector-phone"
    assert stored.attachments_expected == 3
    assert {a.name: a.size for a in stored.attachments} == {k: len(v) for k, v in photos.items()}
    assert stored.parse_status == "ok"


def test_a_photo_larger_than_the_memory_spool_is_stored_exactly(app, client, session,
                                                                monkeypatch):
    """Past ``SPOOL_BYTES`` a part goes on on disk and the raw store copies it from there
    (``bench/memory.py`` measures that a 100 MB upload is not held in memory)."""
    from sync_server import upload_parts

    kept = []
    spooled = upload_parts.tempfile.SpooledTemporaryFile

    def spooling(*args, **kwargs):
        kept.append(spooled(*args, **kwargs))
        return kept[-1]

    monkeypatch.setattr(upload_parts.tempfile, "SpooledTemporaryFile", spooling)
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    photo = builders.JPEG + bytes(range(256)) * (3 * upload_parts.SPOOL_BYTES // 256)
    resp = _post(client, key, builders.site_visit("uuid:big", photo="big.jpg"), {"big.jpg": photo})
    assert resp.status_code == 201, resp.data
    stored = _stored(session, "uuid:big")
    (attachment,) = stored.attachments
    assert attachment.size == len(photo)
    assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
    assert _blob(app, attachment.sha256) == photo
    # The XML stays in memory (no file, so no name); the photo went on to a file on disk.
    assert [f.name is not None for f in kept] == [False, True]
    blobs = app.extensions["blobs"].root
    assert not list(blobs.rglob(".incoming-*"))  # nothing left beside the store
