"""A small picture that declares a huge size (12000 × 12000 pixels in a few hundred KB) gets a
placeholder instead of a thumbnail, and making it costs no more memory than a normal photo."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sync_server.web.thumbnails import PLACEHOLDER
from tests import builders
from tests.builders import RANGPUR
from tests.live_server import ROOT

pytestmark = pytest.mark.usefixtures("fast_hashing")


def huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12000, 12000), (30, 120, 60)).save(out, "PNG")
    return out.getvalue()


def photo_jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 150, 90)).save(out, "JPEG", quality=70)
    return out.getvalue()


def test_the_page_gets_a_placeholder_for_a_picture_too_large_to_decode(app, db, blobs, world):
    bomb = huge_png()
    assert len(bomb) < 1_000_000
    target = builders.add_inspection(db, blobs, RANGPUR, 50, files={"desk.jpg": bomb})
    client = builders.login(app.test_client(), "sup_rangpur")
    thumb = client.get(f"/attachments/{target}/desk.jpg?size=thumb")
    assert thumb.status_code == 200
    assert thumb.mimetype == "image/svg+xml" and thumb.data == PLACEHOLDER.read_bytes()
    # The original is still there for whoever downloads it; a normal photo still gets its JPEG.
    assert client.get(f"/attachments/{target}/desk.jpg").data == bomb
    normal = client.get(f"/attachments/{target}/queue.jpg?size=thumb")
    assert normal.mimetype == "image/jpeg" and normal.data.startswith(b"\xff\xd8")


# Peak resident memory of this process image (VmHWM: ru_maxrss would keep the parent's, which
# made the test picture, across exec).
MEASURE = """
import re, sys
from pathlib import Path
from sync_server.web.thumbnails import thumbnail
made = thumbnail(lambda: Path(sys.argv[1]).open("rb"), Path(sys.argv[2]), sys.argv[3])
status = Path("/proc/self/status").read_text()
print(made.name, int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


@pytest.mark.parametrize("name, content, made", [
    ("bomb.png", huge_png, "too-large.svg"),
    ("camera.jpg", lambda: photo_jpeg(12000, 9000), "-320.jpg"),  # 108 MP: decoded at 1/8
])
def test_making_a_thumbnail_stays_small_in_memory(tmp_path: Path, name, content, made):
    source = tmp_path / name
    source.write_bytes(content())
    result = subprocess.run([sys.executable, "-c", MEASURE, str(source), str(tmp_path / "t"),
                             "ab" * 32], capture_output=True, text=True, cwd=ROOT, check=True)
    produced, peak_mb = result.stdout.split()
    assert produced.endswith(made)
    assert int(peak_mb) < 150, f"{name}: peak RSS {peak_mb} MB"
