"""Small JPEG copies of photos for the submission page, so a slow connection loads a few KB
per picture instead of a phone camera's megabytes. Made once per blob and kept on disk.

Memory stays small whatever the file says: JPEGs are decoded at a reduced scale
(``Image.draft``: 1/2 to 1/8, straight to the thumbnail's size), and a picture that would still
decode to more than ``MAX_PIXELS`` (a 420 KB PNG can declare 12000 × 12000 pixels: 1.2 GB) is
never decoded: the page shows ``PLACEHOLDER`` and the original stays a download.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

SIZE = 320  # longest side, in pixels: twice the 160 px the page shows, for sharp screens
MAX_PIXELS = 50_000_000  # decoded pixels (RGB: 150 MB); a 48-megapixel phone photo fits
PLACEHOLDER = Path(__file__).resolve().parent.parent / "static" / "too-large.svg"


def thumbnail(source: Callable[[], BinaryIO], folder: Path, sha256: str) -> Path | None:
    """The thumbnail of the blob ``source()`` opens (made now if missing; the blob is opened
    only then), ``PLACEHOLDER`` for a picture too large to decode, or None if it is not a
    picture."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # here: only this page decodes pictures

    target = folder / sha256[:2] / f"{sha256}-{SIZE}.jpg"
    if target.exists():
        return target
    try:
        with warnings.catch_warnings():
            # Pillow's own warning counts pixels before ``draft``: ours is checked after it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with source() as raw, Image.open(_seekable(raw)) as image:
                image.draft("RGB", (SIZE, SIZE))  # JPEG only: decode at the smallest scale
                width, height = image.size  # from the header, after draft's scaling
                if width * height > MAX_PIXELS:
                    return PLACEHOLDER
                image.thumbnail((SIZE, SIZE))
                small = ImageOps.exif_transpose(image).convert("RGB")  # phones store portraits sideways
    except Image.DecompressionBombError:  # over twice Pillow's limit, refused at open
        return PLACEHOLDER
    except (UnidentifiedImageError, OSError):
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


def _seekable(raw: BinaryIO) -> BinaryIO:
    """Pillow seeks while it reads a header; an object store's stream cannot, so it is read
    into memory first (a phone photo: a few MB; pictures too large to decode never are)."""
    try:
        if raw.seekable():
            return raw
    except AttributeError:
        pass
    return io.BytesIO(raw.read())
