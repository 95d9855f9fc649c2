"""Remote submissions → instances of our form: KoBo's JSON view (for servers that will not serve
the XML), and XML whose root names another form (KoBo's asset uid, a Central form id).

Pure functions. KoBo's JSON flattens the instance: group paths joined by ``/``
(``grp/field``), every value a string, a repeat as a list of objects whose keys are full paths,
``_``-prefixed server metadata (``_id``, ``_uuid``, ``_attachments``, ``_submission_time``...).
We rebuild the instance from the published XForm's own instance template: root element, ``id``
and ``version``, every field in the form's order with its answer (or empty, as Collect leaves
an unanswered one), one element per repeat row. Keys the form does not define are KoBo's
metadata and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring
from xml.parsers import expat

from pipeline import problems, safe_xml, xform

JR_TEMPLATE = "{http://openrosa.org/javarosa}template"
# Elements KoBoToolbox adds to every instance it serves, whatever the root is named: KoBoCAT's
# ``formhub/uuid``, the deployed version (``__version__``; ``_version_`` and ``_version__001``...
# in forms from older KoBoCAT). Not answers: never kept. (``meta/rootUuid`` and
# ``meta/deprecatedID`` stay in ``meta``, which says which submission this is.)
BOOKKEEPING = re.compile(r"^(formhub|__version__|_version_(_\d+)?)$")


class Versions:
    """Every published version of our form (newest first), parsed once: a pull maps each
    submission with these, never reading an XForm again."""

    def __init__(self, xforms: bytes | Sequence[bytes]) -> None:
        self.xforms = _listed(xforms)
        self.templates = [_template(x) for x in self.xforms]  # (instance root, repeat paths)
        self.leaves = [_leaves(root, "") for root, _repeats in self.templates]
        self.form_id = self.templates[0][0].get("id")

    @cached_property
    def repeats(self) -> set[str]:
        return set().union(*(repeats for _root, repeats in self.templates))


# One XForm, every published version of our form (newest first), or those parsed.
XForms = bytes | Sequence[bytes] | Versions


def versions_of(xforms: XForms) -> Versions:
    return xforms if isinstance(xforms, Versions) else Versions(xforms)


def kobo_json_to_xml(record: dict[str, Any], xforms: XForms) -> bytes:
    """Rebuild the submission XML of one KoBo JSON record for our form (the newest version
    that has every field answered)."""
    parsed = versions_of(xforms)
    template, repeats = parsed.templates[_pick(record, parsed)]
    top = Element(_local(template.tag), {k: v for k, v in template.attrib.items()
                                         if _local(k) in ("id", "version")})
    _fill(top, template, record, "", repeats)
    # OpenRosa metadata the form template may not list (deprecatedID of an edit, rootUuid,
    # instanceName) is kept: it says which submission this is.
    meta = top.find("meta")
    meta = meta if meta is not None else SubElement(top, "meta")
    for key, value in record.items():
        name = key[len("meta/"):] if key.startswith("meta/") else ""
        if name and "/" not in name and value not in (None, "") and meta.find(name) is None:
            SubElement(meta, name).text = str(value)
    instance_id = meta.find("instanceID")
    if instance_id is None:
        instance_id = SubElement(meta, "instanceID")
    if not instance_id.text and record.get("_uuid"):
        instance_id.text = f"uuid:{record['_uuid']}"
    return tostring(top, encoding="utf-8", xml_declaration=True)


def onto_form(xml: bytes, xforms: XForms, deprecated_id: str | None = None) -> bytes:
    """A remote server's XML of a submission, as an instance of our form.

    KoBo names the instance root after the asset uid (``<aBcD id="aBcD" version="vXyz">``) and
    adds its bookkeeping elements (``BOOKKEEPING``) whatever the root is called; a Central form
    may have another form id than ours. XML that already is an instance of our form (our root
    id, nothing added) is kept byte for byte; otherwise the answers are moved onto our form's
    instance, as for JSON. ``deprecated_id`` names the version an edit replaces when the XML
    does not say.
    """
    parsed = versions_of(xforms)
    root = safe_xml.submission(xml)
    record = _flatten(root, "", parsed.repeats)
    says_replaced = bool(record.get("meta/deprecatedID"))
    added = any(BOOKKEEPING.match(_local(child.tag)) for child in root)
    if (root.get("id") == parsed.form_id and not added
            and (says_replaced or not deprecated_id)):
        return xml
    if deprecated_id and not says_replaced:
        record["meta/deprecatedID"] = deprecated_id
    return kobo_json_to_xml(record, parsed)


INSTANCE_ID = re.compile(rb"<(?:[\w.-]+:)?instanceID>\s*([^<\s]+)\s*</")


def kobo_listing(body: bytes) -> dict[str, bytes]:
    """The submissions of KPI's data list as XML (``format=xml``), by instanceID: KPI wraps
    each instance as stored, its declaration removed, in ``<root>`` (``count``, ``next``,
    ``previous``) ``<results>...</results></root>``; each one's bytes are kept as they are.
    Raises ValueError for what is not such a listing; a DTD or entity is refused."""
    parser = expat.ParserCreate()
    depth, results, spans = 0, False, []

    def start(name: str, _attrs: Any) -> None:
        nonlocal depth, results
        depth += 1
        if depth == 2:
            results = name == "results"
        elif depth == 3 and results:
            spans.append([parser.CurrentByteIndex, None])

    def end(_name: str) -> None:
        nonlocal depth
        if depth == 3 and results:  # at the end tag's "<" (or the empty element's)
            spans[-1][1] = body.index(b">", parser.CurrentByteIndex) + 1
        depth -= 1

    def refuse(*_args: Any) -> None:
        raise ValueError("the list declares a DTD or entities")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    found: dict[str, bytes] = {}
    for begin, stop in spans:
        xml = body[begin:stop]
        match = INSTANCE_ID.search(xml)
        if match:
            found[match.group(1).decode("utf-8", "replace")] = xml
    return found


def pick_version(record: dict[str, Any], xforms: XForms) -> bytes:
    """The newest version of our form that has a field for every answer in ``record``."""
    parsed = versions_of(xforms)
    return parsed.xforms[_pick(record, parsed)]


def _pick(record: dict[str, Any], parsed: Versions) -> int:
    answered = _answered(record)
    for index, leaves in enumerate(parsed.leaves):
        if answered <= leaves:
            return index
    raise problems.fields_not_in_form(sorted(answered - parsed.leaves[0]))


def _listed(xforms: bytes | Sequence[bytes]) -> list[bytes]:
    versions = [xforms] if isinstance(xforms, bytes) else list(xforms)
    if not versions:
        raise problems.source_form_unpublished()
    return versions


def _answered(record: dict[str, Any]) -> set[str]:
    """Paths of the answers in a KoBo-style record (KoBo's own additions left out)."""
    found: set[str] = set()
    for key, value in record.items():
        if (not _is_answer(key) or key.startswith("meta/")
                or BOOKKEEPING.match(key.split("/", 1)[0])):
            continue
        if isinstance(value, list):
            for row in value:
                found |= _answered(row) if isinstance(row, dict) else set()
        elif value not in (None, ""):
            found.add(key)
    return found


def _leaves(template: Element, prefix: str) -> set[str]:
    found: set[str] = set()
    for child in template:
        path = prefix + _local(child.tag)
        if len(child):
            found |= _leaves(child, path + "/")
        else:
            found.add(path)
    return found


def _is_answer(key: str) -> bool:
    # Server metadata starts with one underscore; ``__version__`` is an element KoBo adds.
    return bool(key) and (not key.startswith("_") or key == "__version__")


def _flatten(el: Element, prefix: str, repeats: set[str]) -> dict[str, Any]:
    """An instance element as KoBo's JSON has it: ``grp/field`` keys, repeats as lists."""
    out: dict[str, Any] = {}
    for child in el:
        path = prefix + _local(child.tag)
        if path in repeats:
            out.setdefault(path, []).append(_flatten(child, path + "/", repeats))
        elif len(child):
            out.update(_flatten(child, path + "/", repeats))
        elif (child.text or "").strip():
            out[path] = child.text
    return out


def _template(form: bytes) -> tuple[Element, set[str]]:
    """The primary instance's root, and the paths (below the root) of its repeats."""
    read = xform.read(form)  # raises ValueError for what is not an XForm
    return read.instance_root, {"/".join(path.split("/")[2:]) for path in read.repeat_paths}


def _fill(out: Element, template: Element, scope: dict[str, Any], prefix: str,
          repeats: set[str]) -> None:
    seen: set[str] = set()
    for child in template:
        tag = _local(child.tag)
        if tag in seen:  # a repeat's template and its default row share the tag
            continue
        seen.add(tag)
        path = prefix + tag
        if path in repeats or JR_TEMPLATE in child.attrib:
            for row in scope.get(path) or []:
                _fill(SubElement(out, tag), child, row if isinstance(row, dict) else {},
                      path + "/", repeats)
        elif len(child):
            _fill(SubElement(out, tag), child, scope, path + "/", repeats)
        else:
            element = SubElement(out, tag)
            value = scope.get(path)
            if isinstance(value, bool):
                value = "true" if value else "false"
            if value is not None and not isinstance(value, (list, dict)):
                element.text = str(value)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
