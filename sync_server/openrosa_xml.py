"""OpenRosa response bodies, and nothing else: form list, manifest, submission receipt.

Shapes follow ODK Central's answers, which ODK Collect is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from xml.etree.ElementTree import Element, SubElement, tostring

XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"


@dataclass(frozen=True)
class ListedForm:
    form_id: str
    name: str
    version: str
    md5: str
    download_url: str
    manifest_url: str | None


@dataclass(frozen=True)
class MediaEntry:
    filename: str
    md5: str
    download_url: str


def form_list(forms: list[ListedForm]) -> bytes:
    root = Element("xforms", xmlns=XFORMS_LIST_NS)
    for form in forms:
        item = SubElement(root, "xform")
        _leaf(item, "formID", form.form_id)
        _leaf(item, "name", form.name)
        _leaf(item, "version", form.version)
        _leaf(item, "hash", f"md5:{form.md5}")
        _leaf(item, "downloadUrl", form.download_url)
        if form.manifest_url:
            _leaf(item, "manifestUrl", form.manifest_url)
    return _document(root)


def manifest(files: list[MediaEntry]) -> bytes:
    root = Element("manifest", xmlns=MANIFEST_NS)
    for entry in files:
        item = SubElement(root, "mediaFile")
        _leaf(item, "filename", entry.filename)
        _leaf(item, "hash", f"md5:{entry.md5}")
        _leaf(item, "downloadUrl", entry.download_url)
    return _document(root)


@cache  # the same bytes for every upload
def submission_received() -> bytes:
    root = Element("OpenRosaResponse", xmlns=RESPONSE_NS, items="0")
    _leaf(root, "message", "full submission upload was successful!", nature="")
    return _document(root)


def _leaf(parent: Element, tag: str, text: str, **attrs: str) -> None:
    SubElement(parent, tag, attrs).text = text


def _document(root: Element) -> bytes:
    return tostring(root, encoding="utf-8", xml_declaration=True)
