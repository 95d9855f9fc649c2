"""Small JPEG copies of photos for the submission page, so a slow connection loads a few KB
per picture instead of a phone camera's megabytes. Made once per blob and kept on disk."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 320  # longest side, in pixels: twice the 160 px the page shows, for sharp screens


def thumbnail(source: Path, folder: Path, sha256: str) -> Path | None:
    """The thumbnail of ``source`` (made now if missing), or None if it is not a picture."""
    target = folder / sha256[:2] / f"{sha256}-{SIZE}.jpg"
    if target.exists():
        return target
    try:
        with Image.open(source) as image:
            image = ImageOps.exif_transpose(image)  # phones store portraits sideways
            image.thumbnail((SIZE, SIZE))
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as out:
            small.save(out, "JPEG", quality=80, optimize=True)
        os.replace(tmp, target)  # whole or absent, even with two requests at once
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
