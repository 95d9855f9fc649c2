"""Parse submission XML without ever expanding an entity, quickly when that is plainly safe, and
never building a tree larger than the limits.

A document without a DTD cannot declare entities, so the C parser is safe for it and several
times faster than defusedxml's Python-level handlers. Anything else (a DOCTYPE, or an encoding
in which "<!DOCTYPE" might not appear byte for byte) goes through defusedxml, which refuses
entity declarations (and, with ``forbid_dtd``, any DTD at all).

Either way the document is fed to the parser in slices and its elements counted as they open:
past ``LIMITS.elements`` elements or ``LIMITS.depth`` levels of nesting it is refused
(``submission.too_complex``, 400) with at most one slice's worth of tree built, so a small
upload of millions of empty elements costs neither the memory nor the time of its tree. A
document with no more ``<`` than either limit cannot exceed one and skips the count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree as FastElementTree
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from . import problems

SLICE = 64 * 1024  # bytes fed to the parser between two looks at the count


@dataclass(frozen=True)
class Limits:
    elements: int = 100_000
    depth: int = 64


# The process's limits: ``sync_server`` sets them from MAX_SUBMISSION_ELEMENTS and
# MAX_SUBMISSION_DEPTH when it builds the app (the web workers and the loader alike).
LIMITS = Limits()


def configure(limits: Limits) -> None:
    global LIMITS
    LIMITS = limits


def submission(xml: bytes) -> Element:
    """The root element of a submission, as every door and every later reader of a stored one
    takes it: no DTD at all (submissions never have one, so no entity can be declared, let alone
    expanded), within the limits. Raises ``submission.malformed_xml`` (400), or
    ``submission.too_complex``."""
    if not xml.strip():
        raise problems.malformed_xml("the XML part is empty")
    try:
        return fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise problems.malformed_xml(
            f"it declares a DTD or entities, which submissions never contain ({type(exc).__name__})"
        ) from exc
    except (FastElementTree.ParseError, LookupError, ValueError) as exc:  # LookupError: encoding
        raise problems.malformed_xml(str(exc)) from exc


def fromstring(xml: bytes, *, forbid_dtd: bool = False, limits: Limits | None = None) -> Element:
    """The root element. Raises ParseError (malformed), DefusedXmlException (a DTD or entity
    refused), ValueError/LookupError (undecodable bytes, unknown encoding) or the
    ``submission.too_complex`` Problem (over the limits)."""
    limits = limits or LIMITS
    fast = (b"<!DOCTYPE" not in xml and b"<!ENTITY" not in xml and b"\x00" not in xml
            and _plain_encoding(xml))
    if xml.count(b"<") <= min(limits.depth, limits.elements):  # cannot be over either limit
        return (FastElementTree.fromstring(xml) if fast
                else SafeElementTree.fromstring(xml, forbid_dtd=forbid_dtd))
    if fast:
        parser = FastElementTree.XMLPullParser(events=("start", "end"))
    else:
        parser = FastElementTree.XMLPullParser(
            events=("start", "end"),
            _parser=SafeElementTree.DefusedXMLParser(target=FastElementTree.TreeBuilder(),
                                                     forbid_dtd=forbid_dtd))
    elements = depth = 0
    root: Element | None = None
    for start in range(0, len(xml), SLICE):
        parser.feed(xml[start:start + SLICE])
        for event, element in parser.read_events():
            if event == "start":
                if root is None:
                    root = element
                elements += 1
                depth += 1
                if depth > limits.depth:
                    raise problems.submission_too_complex("levels of nested elements", limits.depth)
                if elements > limits.elements:
                    raise problems.submission_too_complex("elements", limits.elements)
            else:
                depth -= 1
    parser.close()  # raises ParseError when the document is cut off
    if root is None:
        raise FastElementTree.ParseError("no element found")
    return root


def _plain_encoding(xml: bytes) -> bool:
    start = xml.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"<?xml"):
        return True
    declaration = start[: start.find(b"?>")].lower()
    if b"encoding" not in declaration:
        return True
    return bool(re.search(rb"encoding\s*=\s*[\"'](utf-8|us-ascii)[\"']", declaration))
