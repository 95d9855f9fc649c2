"""The one reader of XForm XML: a form version's document read once, its parts named.

Every module that needs something from a published XForm asks ``read(xml, md5)`` and takes it
from the ``XForm`` it gets: the schema (``pipeline/schema.py``: binds, controls, repeats,
labels), the raw store (``binary_paths``: its file fields), publishing (``identity``), the CSV
zip (``document_order``) and the submission page (``group_labels``). Each version is parsed once
per process: ``read`` keeps the ``XForm`` by the version's md5 (a cache ``pipeline/caches.py``
owns), and each part is computed the first time it is asked for.

Pure: bytes in, plain values out; defusedxml, so a form file can hold no entity tricks.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from . import caches

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
_ITEXT_REF = re.compile(r"\s*jr:itext\(\s*'([^']*)'\s*\)\s*")
_BINARY_TYPES = ("binary", "base64Binary")


def language_code(name: str) -> str:
    """``English (en)`` → ``en``; a language without a code keeps its name (``default``)."""
    match = re.search(r"\(([A-Za-z][A-Za-z0-9_-]*)\)\s*$", name)
    return match.group(1) if match else name.strip()


def local(tag: Any) -> str:
    """An element's name without its namespace (comments and processing instructions: "")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def text_of(el: Element) -> str:
    return "".join(el.itertext()).strip()


def child(parent: Element | None, name: str) -> Element | None:
    """The first child of ``parent`` called ``name`` in any namespace."""
    if parent is None:
        return None
    return next((el for el in parent if local(el.tag) == name), None)


def pick(labels: dict[str, str], lang: str, fallback: str = "") -> str:
    """The label in ``lang``, else English, else any language the form has, else ``fallback``:
    how every page, workbook and file picks a label."""
    for code in (lang, "en", "default"):
        if labels.get(code):
            return labels[code]
    return next((v for v in labels.values() if v), fallback)


class XForm:
    """One XForm document. Raises ``ValueError`` for bytes that are not an XForm."""

    def __init__(self, xml: bytes, md5: str | None = None) -> None:
        try:
            self.doc = ElementTree.fromstring(xml)
        except Exception as exc:  # defusedxml raises several types; all mean "not an XForm"
            raise ValueError(f"not well-formed XML: {exc}") from exc
        self.md5 = md5 or hashlib.md5(xml).hexdigest()
        head = child(self.doc, "head")
        self.model = child(head, "model")
        if self.model is None:
            raise ValueError("not an XForm: no h:head/model")
        title = child(head, "title")
        self.title = text_of(title) if title is not None else ""
        self.instances = [el for el in self.model if local(el.tag) == "instance"]
        main = next((i for i in self.instances if not i.get("id")), None)
        if main is None or len(main) == 0:
            raise ValueError("not an XForm: no primary instance")
        self.instance_root: Element = main[0]
        # nodeset -> <bind>
        self.binds: dict[str, Element] = {b.get("nodeset", ""): b for b in self.model.iter(f"{XF}bind")}
        self.itext, self.languages, self.default_language = self._read_itext()
        self.controls: dict[str, Element] = {}  # absolute path -> the body's control for it
        self.repeat_paths: set[str] = set()
        body = child(self.doc, "body")
        if body is not None:
            self._read_body(body, "")

    def _read_itext(self) -> tuple[dict[str, dict[str, str]], tuple[str, ...], str | None]:
        """Translations: text id -> {language code -> the plain (or long) text}."""
        texts: dict[str, dict[str, str]] = {}
        languages: list[str] = []
        default = None
        itext = child(self.model, "itext")
        for translation in itext if itext is not None else []:
            code = language_code(translation.get("lang", "default"))
            languages.append(code)
            if translation.get("default") in ("true()", "true"):
                default = code
            for text in translation:
                values = [v for v in text if local(v.tag) == "value"]
                plain = [v for v in values if v.get("form") in (None, "long")] or values
                if plain:
                    texts.setdefault(text.get("id", ""), {})[code] = text_of(plain[0])
        return texts, tuple(languages), default or (languages[0] if languages else None)

    def _read_body(self, el: Element, context: str) -> None:
        for item in el:
            tag = local(item.tag)
            ref = item.get("nodeset") if tag == "repeat" else item.get("ref")
            path = resolve(ref, context) if ref else context
            if tag == "repeat":
                self.repeat_paths.add(path)
            elif ref and tag not in ("label", "hint", "item", "itemset", "value"):
                self.controls.setdefault(path, item)
            if tag in ("group", "repeat"):
                self._read_body(item, path)

    def labels(self, el: Element | None) -> dict[str, str]:
        """The label of a control, group or choice: {language code -> text}."""
        label = child(el, "label")
        if label is None:
            return {}
        match = _ITEXT_REF.fullmatch(label.get("ref", ""))
        if match:
            return dict(self.itext.get(match.group(1), {}))
        text = text_of(label)
        return {self.default_language or "default": text} if text else {}

    @cached_property
    def identity(self) -> tuple[str, str, str, str | None]:
        """(form id, version, title, the instance name's expression or None)."""
        instance_name = next((b.get("calculate") for path, b in self.binds.items()
                              if path.endswith("/meta/instanceName")), None)
        return (self.instance_root.get("id", ""), self.instance_root.get("version", ""),
                self.title, instance_name)

    @cached_property
    def binary_paths(self) -> frozenset[str]:
        """Absolute paths (``/data/photos/photo``) of the form's file fields."""
        return frozenset(path for path, bind in self.binds.items()
                         if bind.get("type", "").split(":")[-1] in _BINARY_TYPES)

    @cached_property
    def document_order(self) -> dict[str, int]:
        """Position of every element of the primary instance, in document order."""
        order: dict[str, int] = {}

        def walk(el: Element, path: str) -> None:
            for item in el:
                if isinstance(item.tag, str):
                    item_path = f"{path}/{local(item.tag)}"
                    order.setdefault(item_path, len(order))
                    walk(item, item_path)

        walk(self.instance_root, "/" + local(self.instance_root.tag))
        return order

    @cached_property
    def group_labels(self) -> dict[str, dict[str, str]]:
        """The labels of the form's groups and repeats: ``/data/plans`` -> {language -> label}."""
        found: dict[str, dict[str, str]] = {}
        for group in self.doc.iter(f"{XF}group"):
            path = group.get("ref", "")
            if path.startswith("/") and child(group, "label") is not None:
                labels = self.labels(group)
                if labels or _ITEXT_REF.fullmatch(child(group, "label").get("ref", "")):
                    found[path] = labels
        return found


def resolve(ref: str, context: str) -> str:
    return ref if ref.startswith("/") else f"{context}/{ref}"


_FORMS: dict[str, XForm] = {}  # md5 -> the version's XForm
caches.register(_FORMS.clear)


def read(xml: bytes, md5: str | None = None) -> XForm:
    """The ``XForm`` of ``xml``, parsed once per process (``md5``: the version's, when known)."""
    key = md5 or hashlib.md5(xml).hexdigest()
    found = _FORMS.get(key)
    if found is None:
        found = _FORMS[key] = XForm(xml, key)
    return found


def cached(md5: str) -> XForm | None:
    """The version's ``XForm`` if this process has read it already (the upload path asks before
    it fetches the XML from the database)."""
    return _FORMS.get(md5)
