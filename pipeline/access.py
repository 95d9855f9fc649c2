"""Who may write which form where, and see which submission: one rule for every door.

Every door that writes a submission (Collect with a key or with a web user's password, pulls,
phone folders, and doors to come: browser forms, OData, presigned links) turns its caller into a
``Principal`` and asks ``check_write`` before anything is stored; every door that shows one asks
``may_see`` (pages and downloads put the same rule in SQL with ``scope.where``).

- A web user writes only with a role that collects (admins and supervisors; district officers
  are read-only everywhere), and only inside their scope.
- An app user writes only its forms (none given: every form), and only inside its area when it
  has one (``app_users.scope``; none: everywhere).
- A pull source writes only the form it is configured for, anywhere (an admin set it up).
- A public form link (``links``) writes only its form, inside its area, and a workshop's link
  only for its upazila.
- "Inside" is decided by the submission's own location fields (``division``, ``district``,
  ``province``, the codes the warehouse stores): a scoped writer's submission with no location,
  or with fields that disagree with each other (a Rangpur district in the Dhaka division), is
  refused.
- An edit (``meta/deprecatedID``) may replace only an instance its writer may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from . import problems, safe_xml
from . import scope as scoping
from .domain import places
from .problems import Problem
from .scope import Scope

# Web roles that may send submissions (through Collect's door); the others only read.
COLLECTING_ROLES = ("admin", "supervisor")
# The submission's location fields: top-level fields of every form, holding geo codes.
LOCATION_FIELDS = ("division", "district", "province", "upazila", "local_level")

EVERYWHERE = Scope(everything=True)


@dataclass(frozen=True)
class Principal:
    """Who is writing or reading, as the rule needs them (no database row, no request)."""

    name: str
    kind: str  # "web" | "app" | "source" | "link"
    role: str | None = None  # web users
    forms: frozenset[str] = frozenset()  # app users and sources; empty: every form
    scope: Scope = field(default=EVERYWHERE)
    scope_codes: tuple[str, ...] = ("*",)  # as stored, for messages
    upazila: str = ""  # a workshop link's upazila: its submissions must be of that upazila


def web_user(user: Any) -> Principal:
    """A web user (``models.User``: ``username``, ``role``, ``scope``)."""
    codes = tuple(str(c) for c in (user.scope or ()))
    return Principal(user.username, "web", role=user.role, scope=scoping.parse(codes),
                     scope_codes=codes)


def app_user(holder: Any) -> Principal:
    """An app user (``models.AppUser`` or ``accounts.KeyHolder``: ``name``, ``forms``,
    ``scope``); an app user without an area writes and sees everywhere."""
    codes = tuple(str(c) for c in (getattr(holder, "scope", None) or ()))
    return Principal(holder.name, "app", forms=frozenset(holder.forms or ()),
                     scope=scoping.parse(codes) if codes else EVERYWHERE,
                     scope_codes=codes or ("*",))


def form_link(link: Any) -> Principal:
    """A public form link (``models.FormLink``: ``id``, ``form``, ``scope``, ``upazila``): its
    one form, inside its area and, for a workshop, its upazila."""
    codes = tuple(str(c) for c in (link.scope or ()))
    return Principal(f"link {link.id}", "link", forms=frozenset({link.form.xml_form_id}),
                     scope=scoping.parse(codes) if codes else EVERYWHERE,
                     scope_codes=codes or ("*",), upazila=link.upazila or "")


def pull_source(name: str, xml_form_id: str) -> Principal:
    """A KoBo / Central source or a phone-folder import, writing into ``xml_form_id``."""
    return Principal(name, "source", forms=frozenset({xml_form_id}))


def location(root: Element) -> dict[str, str]:
    """The submission's location codes (``{"division": "55", "district": "5585",
    "province": ""}``) from its parsed XML: the top-level fields of those names, in any
    namespace. A field missing or empty is ``""``."""
    found = dict.fromkeys(LOCATION_FIELDS, "")
    for child in root:
        tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
        if tag in found and not found[tag]:
            found[tag] = (child.text or "").strip()
    return found


def stored_location(xml: bytes) -> dict[str, str]:
    """The location codes of a stored submission read from its raw XML: for those the
    warehouse has no row of (failed, dismissed or waiting to load). Read as uploads are
    (``safe_xml.submission``): XML that does not parse, or that has a DTD, which no upload
    could, has no location, so only a reader who sees everywhere may see it."""
    try:
        return location(safe_xml.submission(xml))
    except Problem:
        return dict.fromkeys(LOCATION_FIELDS, "")


def may_see_stored(who: Principal, xml: bytes) -> bool:
    """May ``who`` see a stored submission by its raw XML's location (``may_see``)?"""
    return who.scope.everything or may_see(who, stored_location(xml))


def may_fill(who: Principal, xml_form_id: str) -> bool:
    """May ``who`` get and fill this form at all (form lists, form downloads, media)?"""
    if who.kind == "web":
        return who.role in COLLECTING_ROLES
    return not who.forms or xml_form_id in who.forms


def check_write(who: Principal, xml_form_id: str, where: Mapping[str, Any]) -> None:
    """Raise the catalogue's 403 ``Problem`` unless ``who`` may store a submission of form
    ``xml_form_id`` located at ``where`` (``location(root)``, or any mapping with those keys)."""
    if who.kind == "web" and who.role not in COLLECTING_ROLES:
        raise read_only(who)
    if not may_fill(who, xml_form_id):
        raise form_not_given(who, xml_form_id)
    _check_inside(who, where, "send submissions")


def may_write(who: Principal, xml_form_id: str, where: Mapping[str, Any]) -> bool:
    try:
        check_write(who, xml_form_id, where)
    except Problem:
        return False
    return True


def may_see(who: Principal, where: Mapping[str, Any]) -> bool:
    """May ``who`` see a submission located at ``where``? The same test as ``scope.where``."""
    return who.scope.everything or who.scope.allows(_codes(where))


def check_edit(who: Principal, replaced: Mapping[str, Any]) -> None:
    """Raise 403 unless ``who`` may see the submission an edit replaces (its location, read
    from the stored XML of the instance ``meta/deprecatedID`` names)."""
    if not may_see(who, replaced):
        raise problems.edit_outside_area(_area(who), _area_names(who))


def read_only(who: Principal) -> Problem:
    return problems.read_only(who.name, who.role or "")


def form_not_given(who: Principal, xml_form_id: str) -> Problem:
    return problems.key_not_for_form(xml_form_id)


def _check_inside(who: Principal, where: Mapping[str, Any], doing: str) -> None:
    if who.scope.everything:
        return
    codes = _codes(where)
    if not any(codes.values()):
        raise problems.no_location(_area(who), doing, _area_names(who))
    clash = _disagreement(codes)
    if clash:
        raise problems.location_mismatch(clash)
    if not who.scope.allows(codes):
        raise problems.outside_area(_place_names(codes), _area(who), doing, _area_names(who))
    if who.upazila and codes["upazila"] != who.upazila:
        raise problems.outside_upazila(codes["upazila"] or "(none)", _area(who),
                                       _code_name("bd_upazila:" + who.upazila))


def _codes(where: Mapping[str, Any]) -> dict[str, str]:
    return {f: str(where.get(f) or "").strip() for f in LOCATION_FIELDS}


def _disagreement(codes: Mapping[str, str]) -> str:
    """Why the location fields contradict each other (a district outside the division or
    province given), or ``""``."""
    district = codes["district"]
    for level, parent_field in (("bd_district", "division"), ("np_district", "province")):
        found = places.place(level, district) if district else None
        given = codes[parent_field]
        if found is not None and given and found.parent != given:
            return (f"The submission's district {district} ({found.en}) is not in its "
                    f"{parent_field} {given}")
    local = places.place("np_local_level", codes["local_level"]) if codes["local_level"] else None
    if local is not None and district and local.parent != district:
        return (f"The submission's local level {local.code} ({local.en}) is not in its "
                f"district {district}")
    return ""


def _area(who: Principal) -> str:
    return {"web": f"user {who.name}", "app": f"app user {who.name}",
            "link": f"form {who.name}"}.get(who.kind, who.name)


def _area_names(who: Principal) -> str:
    return ", ".join(_code_name(c) for c in who.scope_codes) or "no area"


def _code_name(code: str) -> str:
    level, _, value = code.partition(":")
    found = places.place(level, value)
    return f"{found.en} ({code})" if found else code


def _place_names(codes: Mapping[str, str]) -> str:
    parts = []
    for fld, levels in (("district", ("bd_district", "np_district")),
                        ("division", ("bd_division",)), ("province", ("np_province",)),
                        ("local_level", ("np_local_level",))):
        value = codes[fld]
        if value:
            found = next((p for p in (places.place(lvl, value) for lvl in levels) if p), None)
            parts.append(f"{found.en} ({fld} {value})" if found else f"{fld} {value}")
    return ", ".join(parts)


def scope_codes(codes: Iterable[str]) -> list[str]:
    """An app user's area as stored: valid codes, sorted, without repeats; ``*`` or nothing
    means everywhere (stored as ``[]``)."""
    clean = sorted({scoping.validate(str(c)) for c in codes if str(c).strip()})
    return [] if "*" in clean else clean
