"""ODK Collect settings QR codes, in the format ODK Central shows for app users.

Collect reads a QR code holding Base64 of the zlib-compressed JSON settings
(``{"general": {...}, "admin": {...}, "project": {...}}``) and creates a project from it.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from typing import Any


def collect_url(server_url: str, token: str) -> str:
    """The server URL an app user's Collect is set to (Collect adds /formList, /submission)."""
    return f"{server_url.rstrip('/')}/key/{token}"


def collect_settings(url: str, project_name: str) -> dict[str, Any]:
    return {
        "general": {
            "server_url": url,
            # Phones always hold exactly the published forms, as Central sets them up.
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "admin": {},
        "project": {"name": project_name},
    }


def encode_settings(settings: dict[str, Any]) -> str:
    text = json.dumps(settings, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")


def decode_settings(payload: str) -> dict[str, Any]:
    return json.loads(zlib.decompress(base64.b64decode(payload)).decode("utf-8"))


def qr_png(payload: str) -> bytes:
    """A PNG of the QR code holding ``payload``."""
    import qrcode  # here: only this page draws codes, and the library is slow to import
    from qrcode.image.pure import PyPNGImage

    image = qrcode.make(payload, image_factory=PyPNGImage,
                        error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=8, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def app_user_qr(server_url: str, token: str, project_name: str) -> bytes:
    return qr_png(encode_settings(collect_settings(collect_url(server_url, token), project_name)))
