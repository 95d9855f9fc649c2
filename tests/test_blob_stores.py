"""Attachments in S3-compatible object storage, against a real S3 protocol server (``tests/s3.py``),
and ``sangjog blobs migrate`` / ``check`` between the data folder and a bucket."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
import requests
from sqlalchemy import select

from pipeline import backup
from pipeline.models import Attachment
from pipeline.storage import BlobStore, S3BlobStore
from sync_server.cli import cli
from tests import builders
from tests.builders import picture


def _upload(client, key: str, instance: str, photo: bytes, name: str = "a.jpg"):
    xml = builders.site_visit(instance, photo=name)
    return builders.submit(client, xml, {name: photo}, via="http", key=key)


def _s3(app) -> S3BlobStore:
    store = app.extensions["blobs"]
    assert isinstance(store, S3BlobStore)
    return store


def test_an_s3_store_keeps_blobs_by_their_sum(s3_server):
    store = S3BlobStore(f"s3://{s3_server.new_bucket()}/p", endpoint_url=s3_server.url)
    digest = store.put(builders.JPEG)
    assert digest == hashlib.sha256(builders.JPEG).hexdigest()
    assert store.key(digest) == f"p/{digest[:2]}/{digest[2:4]}/{digest}"
    assert store.get(digest) == builders.JPEG and store.size(digest) == len(builders.JPEG)
    assert store.put(builders.JPEG) == digest  # stored once
    assert list(store.digests()) == [digest]
    assert not store.exists("0" * 64) and store.size("0" * 64) is None
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)
    with pytest.raises(ValueError):
        store.key("../../etc/passwd")


@pytest.mark.both_stores
def test_photos_are_served_thumbnailed_and_can_be_handed_out_by_presigned_url(app, client,
                                                                               session):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    photo = picture()
    assert _upload(client, key, "uuid:p1", photo).status_code == 201
    found = session.scalar(select(Attachment))
    assert app.extensions["blobs"].get(found.sha256) == photo
    from pipeline import accounts
    from tests.builders import PASSWORD

    accounts.create_user(session, "boss", PASSWORD, "admin", ["*"])
    builders.login(client, "boss")
    whole = client.get(f"/attachments/{found.submission_id}/a.jpg")
    assert whole.status_code == 200 and whole.get_data() == photo
    thumb = client.get(f"/attachments/{found.submission_id}/a.jpg?size=thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    if app.extensions["blobs"].kind == "s3":
        app.config["BLOB_DOWNLOAD_URL_SECONDS"] = 60
        moved = client.get(f"/attachments/{found.submission_id}/a.jpg")
        assert moved.status_code == 302
        assert moved.location.startswith(app.config["BLOB_STORE_ENDPOINT_URL"])
        fetched = requests.get(moved.location, timeout=10)
        assert fetched.status_code == 200 and fetched.content == photo
        assert fetched.headers["Content-Type"] == found.content_type


def test_blobs_migrate_copies_to_s3_resumably_and_check_finds_missing_and_orphans(
        app, client, session, s3_server):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    for n in range(3):
        assert _upload(client, key, f"uuid:m{n}", builders.JPEG + bytes([n])).status_code == 201
    runner = app.test_cli_runner()
    target = f"s3://{s3_server.new_bucket()}/attachments"
    first = runner.invoke(cli, ["blobs", "migrate", "--to", target,
                                "--endpoint-url", s3_server.url])
    assert first.exit_code == 0, first.output
    assert "3 copied, 0 already there" in first.output
    again = runner.invoke(cli, ["blobs", "migrate", "--to", target,
                                "--endpoint-url", s3_server.url])
    assert "0 copied, 3 already there" in again.output

    s3 = S3BlobStore(target, endpoint_url=s3_server.url)
    local: BlobStore = app.extensions["blobs"]
    assert sorted(s3.digests()) == sorted(local.digests())
    for digest in s3.digests():
        assert s3.get(digest) == local.get(digest)

    app.extensions["blobs"] = s3  # as after setting BLOB_STORE and restarting
    assert runner.invoke(cli, ["blobs", "check"]).exit_code == 0
    gone = sorted(s3.digests())[0]
    s3.client.delete_object(Bucket=s3.bucket, Key=s3.key(gone))
    stray = s3.put(b"nobody's photo")
    checked = runner.invoke(cli, ["blobs", "check"])
    assert checked.exit_code == 1
    assert f"missing: {gone}" in checked.output and f"orphan: {stray}" in checked.output


def test_a_backup_lists_object_storage_attachments_by_key_and_sum(app, client, session,
                                                                  s3_server, tmp_path):
    store = S3BlobStore(f"s3://{s3_server.new_bucket()}/attachments",
                        endpoint_url=s3_server.url)
    app.extensions["blobs"] = store
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    assert _upload(client, key, "uuid:b1", builders.JPEG).status_code == 201
    made = backup.backup(app.config["DATABASE_URL"], tmp_path / "data", tmp_path / "b.tar",
                         store=store)
    assert made.blobs == 1 and not made.missing
    with tarfile.open(tmp_path / "b.tar") as tar:
        names = tar.getnames()
        manifest = json.load(io.BytesIO(tar.extractfile("manifest.json").read()))
    assert not any(n.startswith("blobs/") for n in names), "object storage stays where it is"
    listed = manifest["attachments"]
    digest = hashlib.sha256(builders.JPEG).hexdigest()
    assert listed["inside"] is False and listed["store"] == store.url
    assert listed["objects"][digest] == {"key": store.key(digest), "sha256": digest,
                                         "size": len(builders.JPEG)}
