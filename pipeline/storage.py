"""Content-addressed attachment storage: identical photos are stored once, under their sha256.

One interface, two stores, chosen by the ``BLOB_STORE`` setting (``open_store``):

- ``BlobStore``, the local folder (default, ``{data}/blobs/ab/cd/<sha256>``). Blobs are written to
  a temporary file, fsynced and renamed into place, so a crash leaves either a complete blob or
  nothing under its final name. The temporary files are named after the process writing them
  (``.incoming-<pid>-…``): what a crashed process left behind is removed when the server starts
  (``remove_leftovers``).
- ``S3BlobStore``, S3-compatible object storage (``s3://bucket/prefix``: AWS S3, MinIO, Ceph,
  Garage…), keys ``<prefix>/ab/cd/<sha256>``. ``put`` returns once the object store has
  acknowledged the whole object (S3 writes are atomic and durable when answered), so an upload's
  files are in the store before its 201, as with the folder. Several app servers share it.

Both: ``put(bytes) -> sha256``, ``get``, ``exists``, ``open`` (a stream: downloads never hold a
whole photo), ``size``, ``digests`` (every stored blob, for ``sangjog blobs check``), and
``download_url`` (a short-lived presigned URL, S3 only; None means stream through the server).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

# An attachment as it arrives: bytes, or a file read from its start (an upload spooled to disk,
# never held in memory whole).
Content = bytes | BinaryIO
_CHUNK = 1024 * 1024

TEMPORARY_PREFIX = ".incoming-"
_WRITER = re.compile(r"\.incoming-(\d+)-")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobStore:
    """The local folder."""

    kind = "files"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __str__(self) -> str:
        return str(self.root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: Content) -> str:
        if not isinstance(data, bytes):
            return self._put_file(data)
        digest = hashlib.sha256(data).hexdigest()
        final = self.path(digest)
        if final.exists():
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def _put_file(self, data: BinaryIO) -> str:
        """``put`` for a file, a megabyte at a time: hashed while it is copied beside the
        store, then renamed into place (or dropped when the store has it already)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-")
        try:
            hashing = hashlib.sha256()
            data.seek(0)
            with os.fdopen(fd, "wb") as fh:
                while chunk := data.read(_CHUNK):
                    hashing.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            digest = hashing.hexdigest()
            final = self.path(digest)
            if final.exists():
                Path(tmp).unlink()
                return digest
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def digests(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if _DIGEST.fullmatch(path.name):
                yield path.name

    def download_url(self, sha256: str, *, name: str, content_type: str, inline: bool,
                     seconds: int) -> str | None:
        return None  # a folder has no address of its own: the server streams the file

    def spool_dir(self) -> Path | None:
        """Where big uploads wait on disk before ``put``: beside the store, on the same disk."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def check_writable(self) -> None:
        """Raise unless a file can be written and synced here (health checks)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())

    def remove_leftovers(self) -> int:
        """Remove the temporary files of writers no longer running (killed mid-write); returns
        how many. Files of a process still running (an import next to the server) stay."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.rglob(f"{TEMPORARY_PREFIX}*"):
            writer = _WRITER.match(path.name)
            if writer is not None and _running(int(writer.group(1))):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def size_of(data: Content) -> int:
    """The length of an attachment given as bytes or as a file."""
    if isinstance(data, bytes):
        return len(data)
    size = data.seek(0, os.SEEK_END)
    data.seek(0)
    return size


class S3BlobStore:
    """S3-compatible object storage: ``s3://bucket/prefix``. ``endpoint_url`` for stores other
    than AWS (MinIO, Ceph, Garage, …); region and credentials come from the environment or the
    usual AWS configuration (``AWS_ACCESS_KEY_ID``, ``~/.aws/credentials``, an instance role)."""

    kind = "s3"

    def __init__(self, url: str, *, endpoint_url: str | None = None, client: Any = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"{url!r} is not an S3 address: write s3://bucket/prefix")
        self.url = url
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if client is None:
            import boto3  # here: only servers with object storage need it
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url or None, config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                signature_version="s3v4", s3={"addressing_style": "path"}))
        self.client = client

    def __str__(self) -> str:
        return self.url

    def key(self, sha256: str) -> str:
        if not _DIGEST.fullmatch(sha256 or ""):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        name = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, data: Content) -> str:
        """Store bytes or a file (read from its start, a megabyte at a time to hash it, then
        streamed to the store: a spooled 100 MB upload is never in memory whole)."""
        if isinstance(data, bytes):
            digest = hashlib.sha256(data).hexdigest()
        else:
            hashing = hashlib.sha256()
            data.seek(0)
            while chunk := data.read(_CHUNK):
                hashing.update(chunk)
            digest = hashing.hexdigest()
            data.seek(0)
        if self.size(digest) == size_of(data):
            return digest
        import base64

        # S3 checks the bytes it received against our sum and refuses a damaged upload.
        self.client.put_object(
            Bucket=self.bucket, Key=self.key(digest), Body=data,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode())
        return digest

    def get(self, sha256: str) -> bytes:
        with self.open(sha256) as body:
            return body.read()

    def open(self, sha256: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(self.key(sha256)) from None

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def digests(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "")
        for page in pages:
            for item in page.get("Contents", ()):
                name = item["Key"].rsplit("/", 1)[-1]
                if _DIGEST.fullmatch(name):
                    yield name

    def download_url(self, sha256: str, *, name: str, content_type: str, inline: bool,
                     seconds: int) -> str | None:
        disposition = "inline" if inline else "attachment"
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": self.key(sha256), "ResponseContentType": content_type,
            "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "ResponseCacheControl": "private, no-store"})

    def remove_leftovers(self) -> int:
        return 0  # an object is whole or absent: nothing half-written to clean

    def spool_dir(self) -> Path | None:
        return None  # the system's temporary folder

    def check_writable(self) -> None:
        """Raise unless the bucket answers and takes a write (health checks)."""
        probe = f"{self.prefix}/.healthz" if self.prefix else ".healthz"
        self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")


AnyStore = BlobStore | S3BlobStore


def open_store(setting: str | None, data_dir: str | os.PathLike[str], *,
               endpoint_url: str | None = None) -> AnyStore:
    """The attachment store ``BLOB_STORE`` names: empty for ``{data_dir}/blobs``, a folder path,
    or ``s3://bucket/prefix``."""
    setting = (setting or "").strip()
    if setting.startswith("s3://"):
        return S3BlobStore(setting, endpoint_url=endpoint_url)
    return BlobStore(setting or Path(data_dir) / "blobs")


def copy_blob(source: AnyStore, target: AnyStore, sha256: str) -> bool:
    """Copy one blob, checking its sum; False when the target already had it whole."""
    if target.size(sha256) == source.size(sha256):
        return False
    data = source.get(sha256)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"blob {sha256} in {source} does not match its sha256")
    target.put(data)
    return True
