"""A form as an OData v4 service, the shape ODK Central publishes: entity types, EDMX, values.

Pure: a ``FormSchema`` (and the warehouse's column kinds) in, the service document, the
``$metadata`` EDMX and row → JSON converters out. ``Submissions`` is the main table; each repeat
is an entity set named ``Submissions.{path}`` with its parent's id in ``__Submissions[-path]-id``;
groups are complex types; fields are typed as Central types them (int → Edm.Int64, decimal →
Edm.Decimal, date → Edm.Date, dateTime → Edm.DateTimeOffset, geopoint → Edm.GeographyPoint,
everything else → Edm.String).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from pipeline.models import CENTRAL_REVIEW_STATES
from pipeline.schema import DATE, DATETIME, FLOAT, INTEGER, TEXT, ColumnSpec, FormSchema, TableSpec

EDM_TYPES = {
    "int": "Edm.Int64", "decimal": "Edm.Decimal", "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint", "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon", "date": "Edm.Date", "dateTime": "Edm.DateTimeOffset",
}
# The storage kind a field of each bind type has when its column was never widened.
_NATURAL_KIND = {"int": INTEGER, "decimal": FLOAT, "date": DATE, "dateTime": DATETIME}
SYSTEM_FIELDS = ("submissionDate", "updatedAt", "deletedAt", "submitterId", "submitterName",
                 "attachmentsPresent", "attachmentsExpected", "status", "reviewState", "deviceId",
                 "edits", "formVersion")


def identifier(name: str) -> str:
    """An element name as an OData identifier (Central's rule: ``q1.8`` → ``q1_8``, ``42`` →
    ``_42``)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", re.sub(r"^([^A-Za-z_])", r"_\1", name))


def repeat_id(key: str) -> str:
    """The ``__id`` of a repeat row: a stable hash of its warehouse key (like Central's)."""
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class Leaf:
    name: str
    spec: ColumnSpec
    edm: str
    columns: tuple[str, ...]  # warehouse columns it reads (4 for a geopoint)
    kind: str  # storage kind of its column (after widening)


@dataclass
class Group:
    name: str
    type_name: str  # dotted path, e.g. ``header`` or ``g.sub``
    members: list[Leaf | Group | Nav] = field(default_factory=list)


@dataclass
class Nav:
    name: str
    entity: Entity


@dataclass
class Entity:
    name: str  # ``Submissions`` or ``Submissions.photos.marks``
    spec: TableSpec
    parts: tuple[str, ...]  # path below the instance root, sanitized (``()`` for Submissions)
    parent: Entity | None
    members: list[Leaf | Group | Nav] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return self.parent is None

    @property
    def parent_id_name(self) -> str | None:
        """``__Submissions-id``, or ``__Submissions-photos-id`` below a repeat ``photos``."""
        if self.parent is None:
            return None
        return "__" + "-".join(("Submissions", *self.parent.parts)) + "-id"

    def leaves(self) -> Iterator[tuple[tuple[str, ...], Leaf]]:
        """Every field with its path of property names below this entity."""
        yield from _walk(self.members, Leaf, ())

    def navs(self) -> Iterator[tuple[tuple[str, ...], Nav]]:
        yield from _walk(self.members, Nav, ())

    def groups(self) -> Iterator[Group]:
        yield from _groups(self.members)


M = TypeVar("M")  # Leaf or Nav


def _walk(members: list[Any], kind: type[M], prefix: tuple[str, ...]
          ) -> Iterator[tuple[tuple[str, ...], M]]:
    """The members of this kind in document order, each with its path through the groups."""
    for m in members:
        if isinstance(m, kind):
            yield (*prefix, m.name), m
        elif isinstance(m, Group):
            yield from _walk(m.members, kind, (*prefix, m.name))


def _groups(members: list[Any]) -> Iterator[Group]:
    for m in members:
        if isinstance(m, Group):
            yield m
            yield from _groups(m.members)


@dataclass
class Service:
    """One form's OData service: its entity sets, the main one first."""

    form_id: str
    schema: FormSchema
    entities: list[Entity]

    @property
    def main(self) -> Entity:
        return self.entities[0]

    @property
    def namespace(self) -> str:
        return f"org.opendatakit.user.{identifier(self.form_id)}"

    def entity(self, name: str) -> Entity | None:
        for entity in self.entities:
            if entity.name == name:
                return entity
        return None

    def entity_by_table(self, table_name: str) -> Entity:
        for entity in self.entities:
            if entity.spec.name == table_name:
                return entity
        raise KeyError(table_name)


def build(schema: FormSchema, kinds: Mapping[str, Mapping[str, str]]) -> Service:
    """The service of a form's newest schema. ``kinds`` maps each existing warehouse table to its
    columns' storage kinds; a field whose column was widened (int → decimal → text) is typed by
    its column, so every value matches the type the EDMX announces. Repeats without a table
    yet are left out."""
    root_parts = _parts(schema.root)
    entities: list[Entity] = []
    by_table: dict[str, Entity] = {}
    for spec in schema.tables:
        if spec.name not in kinds:
            continue
        parts = tuple(identifier(p) for p in _parts(spec.path)[len(root_parts):])
        parent = by_table.get(spec.parent) if spec.parent else None
        if spec.parent is not None and parent is None:
            continue  # its parent table does not exist yet
        entity = Entity("Submissions" if parent is None else "Submissions." + ".".join(parts),
                        spec, parts, parent)
        for col in spec.columns:
            leaf = _leaf(col, kinds[spec.name])
            if leaf is not None:
                _place(entity, col.relpath[:-1], leaf)
        if parent is not None:
            rel = parts[len(parent.parts):]
            _place(parent, rel[:-1], Nav(rel[-1], entity))
        entities.append(entity)
        by_table[spec.name] = entity
    if entities:
        meta = Group("meta", "meta")
        meta.members.append(Leaf("instanceID", _META_ID, "Edm.String", ("_key",), TEXT))
        if schema.instance_name:
            meta.members.append(Leaf("instanceName", _META_NAME, "Edm.String",
                                     ("_instance_name",), TEXT))
        entities[0].members.append(meta)
    return Service(schema.form_id, schema, entities)


_META_ID = ColumnSpec("_key", "/meta/instanceID", ("meta", "instanceID"), "string")
_META_NAME = ColumnSpec("_instance_name", "/meta/instanceName", ("meta", "instanceName"), "string")


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split("/") if p)


def _leaf(col: ColumnSpec, kinds: Mapping[str, str]) -> Leaf | None:
    names = tuple(name for name, _kind in col.sql_columns())
    if col.type == "select_multiple":
        names = names[:1]  # the 0/1 columns are the warehouse's, not the form's
    if any(n not in kinds for n in names):
        return None  # a field whose column has not been created yet
    kind = kinds[names[0]]
    edm = EDM_TYPES.get(col.type, "Edm.String")
    natural = _NATURAL_KIND.get(col.type)
    if natural is not None and kind != natural:  # widened across versions
        edm = "Edm.Decimal" if kind == FLOAT else "Edm.String"
    return Leaf(identifier(col.relpath[-1]), col, edm, names, kind)


def _place(entity: Entity, groups: tuple[str, ...], member: Leaf | Nav) -> None:
    members, dotted = entity.members, list(entity.parts)
    for name in groups:
        name = identifier(name)
        dotted.append(name)
        found = next((m for m in members if isinstance(m, Group) and m.name == name), None)
        if found is None:
            found = Group(name, ".".join(dotted))
            members.append(found)
        members = found.members
    members.append(member)


# ---- documents --------------------------------------------------------------------------------

def service_document(service: Service, context: str) -> dict[str, Any]:
    return {"@odata.context": context,
            "value": [{"name": e.name, "kind": "EntitySet", "url": e.name} for e in service.entities]}


_SYSTEM_SCHEMA = """    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.submission">
      <ComplexType Name="metadata">
        <Property Name="submissionDate" Type="Edm.DateTimeOffset"/>
        <Property Name="updatedAt" Type="Edm.DateTimeOffset"/>
        <Property Name="deletedAt" Type="Edm.DateTimeOffset"/>
        <Property Name="submitterId" Type="Edm.String"/>
        <Property Name="submitterName" Type="Edm.String"/>
        <Property Name="attachmentsPresent" Type="Edm.Int64"/>
        <Property Name="attachmentsExpected" Type="Edm.Int64"/>
        <Property Name="status" Type="org.opendatakit.submission.Status"/>
        <Property Name="reviewState" Type="org.opendatakit.submission.ReviewState"/>
        <Property Name="deviceId" Type="Edm.String"/>
        <Property Name="edits" Type="Edm.Int64"/>
        <Property Name="formVersion" Type="Edm.String"/>
      </ComplexType>
      <EnumType Name="Status">
        <Member Name="notDecrypted" Value="0"/>
        <Member Name="missingEncryptedFormData" Value="1"/>
      </EnumType>
      <EnumType Name="ReviewState">
        <Member Name="hasIssues" Value="0"/>
        <Member Name="edited" Value="1"/>
        <Member Name="rejected" Value="2"/>
        <Member Name="approved" Value="3"/>
      </EnumType>
    </Schema>
"""

_CAPABILITIES = """          <Annotation Term="Org.OData.Capabilities.V1.ConformanceLevel" EnumMember="Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"/>
          <Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>
          <Annotation Term="Org.OData.Capabilities.V1.CountRestrictions">
            <Record><PropertyValue Property="Countable" Bool="true"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.FilterRestrictions">
            <Record>
              <PropertyValue Property="Filterable" Bool="true"/>
              <PropertyValue Property="RequiresFilter" Bool="false"/>
            </Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.SortRestrictions">
            <Record><PropertyValue Property="Sortable" Bool="true"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.ExpandRestrictions">
            <Record><PropertyValue Property="Expandable" Bool="true"/></Record>
          </Annotation>
"""


def edmx(service: Service) -> str:
    """The ``$metadata`` document (CSDL XML), laid out as Central lays it out. Enum members
    carry their (optional) values, which some clients need."""
    ns = service.namespace
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n'
           '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
           "  <edmx:DataServices>\n", _SYSTEM_SCHEMA,
           f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace={quoteattr(ns)}>\n']
    for entity in service.entities:
        out.append(f"      <EntityType Name={quoteattr(entity.name)}>\n"
                   '        <Key><PropertyRef Name="__id"/></Key>\n'
                   '        <Property Name="__id" Type="Edm.String"/>\n')
        if entity.is_main:
            out.append('        <Property Name="__system" Type="org.opendatakit.submission.metadata"/>\n')
        else:
            out.append(f'        <Property Name={quoteattr(entity.parent_id_name or "")} Type="Edm.String"/>\n')
        out.extend(_properties(entity.members, ns))
        out.append("      </EntityType>\n")
    for entity in service.entities:
        for group in entity.groups():
            out.append(f"      <ComplexType Name={quoteattr(group.type_name)}>\n")
            out.extend(_properties(group.members, ns))
            out.append("      </ComplexType>\n")
    out.append(f"      <EntityContainer Name={quoteattr(service.form_id)}>\n")
    for entity in service.entities:
        out.append(f"        <EntitySet Name={quoteattr(entity.name)} "
                   f"EntityType={quoteattr(f'{ns}.{entity.name}')}>\n")
        if entity.is_main:
            out.append(_CAPABILITIES)
        out.append("        </EntitySet>\n")
    out.append("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>")
    return "".join(out)


def _properties(members: list[Any], ns: str) -> Iterator[str]:
    for m in members:
        if isinstance(m, Leaf):
            yield f"        <Property Name={quoteattr(m.name)} Type={quoteattr(m.edm)}/>\n"
        elif isinstance(m, Group):
            yield f"        <Property Name={quoteattr(m.name)} Type={quoteattr(f'{ns}.{m.type_name}')}/>\n"
        else:
            yield (f"        <NavigationProperty Name={quoteattr(m.name)} "
                   f"Type={quoteattr(f'Collection({ns}.{m.entity.name})')}/>\n")


# ---- values -----------------------------------------------------------------------------------

def iso_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def value_getter(leaf: Leaf, wkt: bool) -> Callable[[Mapping[str, Any]], Any]:
    """A function row → the field's JSON value (as Central writes it)."""
    name = leaf.columns[0]
    if leaf.spec.type == "geopoint" and len(leaf.columns) == 4:
        lat_c, lon_c, alt_c, acc_c = leaf.columns
        return lambda row: _point(row[lat_c], row[lon_c], row[alt_c], row[acc_c], wkt)
    if leaf.kind == DATETIME:
        return lambda row: iso_datetime(row[name])
    if leaf.kind == DATE:
        return lambda row: None if row[name] is None else row[name].isoformat()
    if leaf.spec.type in ("geotrace", "geoshape") and leaf.kind == TEXT:
        kind = leaf.spec.type
        return lambda row: _line(row[name], kind, wkt)
    if leaf.kind == TEXT:
        return lambda row: _text(row[name])
    return lambda row: row[name]


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, datetime):
        return iso_datetime(value) or ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _point(lat: float | None, lon: float | None, alt: float | None, acc: float | None,
           wkt: bool) -> Any:
    if lat is None or lon is None:
        return None
    coords = [_num(lon), _num(lat)] + ([_num(alt)] if alt is not None else [])
    if wkt:
        return f"POINT ({' '.join(str(c) for c in coords)})"
    point: dict[str, Any] = {"type": "Point", "coordinates": coords}
    if acc is not None:
        point["properties"] = {"accuracy": _num(acc)}
    return point


def _line(text: str | None, kind: str, wkt: bool) -> Any:
    """A geotrace / geoshape (``lat lon alt acc;…``) as GeoJSON or WKT, like Central."""
    if not text or not text.strip():
        return None
    points, accuracies = [], []
    for part in re.split(r"; ?", text.strip()):
        numbers = part.split()
        try:
            lat, lon = float(numbers[0]), float(numbers[1])
        except (IndexError, ValueError):
            continue
        point = [_num(lon), _num(lat)]
        if len(numbers) > 2:
            with contextlib.suppress(ValueError):
                point.append(_num(float(numbers[2])))
        points.append(point)
        accuracies.append(_num(float(numbers[3])) if len(numbers) > 3 and _is_number(numbers[3])
                          else None)
    if not points:
        return None
    if wkt:
        body = ",".join(" ".join(str(c) for c in p) for p in points)
        return f"LINESTRING ({body})" if kind == "geotrace" else f"POLYGON (({body}))"
    shape: dict[str, Any] = ({"type": "LineString", "coordinates": points} if kind == "geotrace"
                             else {"type": "Polygon", "coordinates": [points]})
    if any(a is not None for a in accuracies):
        shape["properties"] = {"accuracies": accuracies}
    return shape


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def system(row: Mapping[str, Any], updated_at: datetime | None) -> dict[str, Any]:
    """A main row's ``__system`` object."""
    return {
        "submissionDate": iso_datetime(row["_submitted_at"]),
        "updatedAt": iso_datetime(updated_at),
        "deletedAt": None,
        "submitterId": row["_submitter"],
        "submitterName": row["_submitter"],
        "attachmentsPresent": row["_attachments_present"] or 0,
        "attachmentsExpected": row["_attachments_expected"] or 0,
        "status": None,
        "reviewState": CENTRAL_REVIEW_STATES.get(row["_review_state"] or "received"),
        "deviceId": row["_device_id"],
        "edits": row["_edits"] or 0,
        "formVersion": row["_form_version"],
    }


def navigation_link(instance_id: str, entity: Entity, parent_row_ids: list[str]) -> str:
    """``Submissions('uuid%3A…')/photos('…')/marks``: the rows of ``entity`` below one parent.
    ``parent_row_ids`` holds the ``__id`` of each enclosing repeat row, outermost first."""
    out = [f"Submissions('{quote(instance_id, safe='')}')"]
    ancestors = []
    node: Entity | None = entity.parent
    while node is not None and node.parent is not None:
        ancestors.append(node)
        node = node.parent
    ancestors.reverse()
    done = 0
    for anc, row_id in zip(ancestors, parent_row_ids, strict=True):
        out.extend(anc.parts[done:-1])
        out.append(f"{anc.parts[-1]}('{row_id}')")
        done = len(anc.parts)
    out.extend(entity.parts[done:])
    return "/".join(out)
