"""Content-addressed blob storage on disk: identical photos are stored once.

Blobs are written to a temporary file, fsynced and renamed into place, so a crash leaves either a
complete blob or nothing under its final name. The temporary files are named after the process
writing them (``.incoming-<pid>-…``): what a crashed process left behind is removed when the
server starts (``remove_leftovers``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

# An attachment as it arrives: bytes, or a file read from its start (an upload spooled to disk,
# never held in memory whole).
Content = bytes | BinaryIO
_CHUNK = 1024 * 1024

TEMPORARY_PREFIX = ".incoming-"
_WRITER = re.compile(r"\.incoming-(\d+)-")


class BlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

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
