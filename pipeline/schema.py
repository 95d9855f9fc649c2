"""XForm XML → ``FormSchema``: the tables, columns, types, labels and choices of one form version.

Pure: bytes in, dataclasses out. The warehouse builds its tables from this, the parser walks
submissions with it, and exports read labels and choices from it. Naming follows
``docs/warehouse.md``: groups flatten with ``__``, repeats become child tables.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from . import caches, xform

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"

# PostgreSQL cuts identifiers at 63 bytes; longer names get a stable hash suffix instead.
MAX_IDENTIFIER = 63

# Storage kinds of warehouse columns; the warehouse maps each to one SQL type.
TEXT, INTEGER, FLOAT, DATE, DATETIME = "text", "integer", "float", "date", "datetime"

_BIND_KINDS = {"int": INTEGER, "decimal": FLOAT, "date": DATE, "dateTime": DATETIME}
_GEOPOINT_PARTS = ("latitude", "longitude", "altitude", "accuracy")


@dataclass(frozen=True)
class ColumnSpec:
    """One field of the form. ``name`` is its column; geopoints and select_multiples with inline
    choices occupy more than one SQL column (see ``sql_columns``)."""

    name: str
    path: str  # absolute XPath in the instance, e.g. /data/plans/topic
    relpath: tuple[str, ...]  # element names below the owning table's root
    type: str  # string, int, decimal, date, dateTime, time, geopoint, select_one, ...
    labels: dict[str, str] = field(default_factory=dict)  # language code -> label
    choices: dict[str, dict[str, str]] | None = None  # value -> {language code -> label}
    choice_file: str | None = None  # select_one_from_file / select_multiple_from_file

    def sql_columns(self) -> list[tuple[str, str]]:
        """(column name, storage kind) pairs this field fills, in order."""
        if self.type == "geopoint":
            return [(_identifier(f"{self.name}_{part}"), FLOAT) for part in _GEOPOINT_PARTS]
        if self.type == "select_multiple" and self.choices:
            return [(self.name, TEXT)] + [
                (_identifier(f"{self.name}_{value}"), INTEGER) for value in self.choices
            ]
        return [(self.name, _BIND_KINDS.get(self.type, TEXT))]


@dataclass(frozen=True)
class TableSpec:
    name: str  # wh_{form_id} or wh_{form_id}__{repeat path}
    path: str  # XPath of the table's root: the instance root, or the repeat
    parent: str | None  # parent table name; None for the main table
    columns: tuple[ColumnSpec, ...]

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class FormSchema:
    form_id: str
    version: str
    title: str
    languages: tuple[str, ...]  # language codes, e.g. ("en", "bn", "ne")
    default_language: str | None
    instance_name: str | None  # the calculate of meta/instanceName, if any
    root: str  # instance root path, e.g. /data
    tables: tuple[TableSpec, ...]  # main table first, then repeats in form order
    md5: str = ""
    # Paths the parser accepts but does not store (notes; the meta block is handled apart).
    ignored: frozenset[str] = frozenset()

    @property
    def main(self) -> TableSpec:
        return self.tables[0]

    @property
    def repeats(self) -> tuple[TableSpec, ...]:
        return self.tables[1:]

    def table(self, name: str) -> TableSpec:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def field(self, path: str) -> ColumnSpec:
        for table in self.tables:
            for col in table.columns:
                if col.path == path:
                    return col
        raise KeyError(path)

    @classmethod
    def from_xform(cls, xml: bytes) -> FormSchema:
        return _Reader(xml).schema()


def table_name(form_id: str, repeat_path: tuple[str, ...] = ()) -> str:
    return _identifier("__".join(("wh_" + form_id, *repeat_path)))


def _identifier(name: str) -> str:
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest


_local, _text = xform.local, xform.text_of


class _Reader:
    """Builds one version's ``FormSchema`` from its ``XForm`` (``pipeline/xform.py``)."""

    def __init__(self, xml: bytes) -> None:
        form = xform.read(xml)
        self.md5, self.title, self.instances = form.md5, form.title, form.instances
        self.instance_root, self.binds, self.itext = form.instance_root, form.binds, form.itext
        self.languages, self.default_language = form.languages, form.default_language
        self.controls, self.repeat_paths = form.controls, form.repeat_paths
        self._labels = form.labels

    _find = staticmethod(xform.child)

    def _choices(self, control: Element) -> tuple[dict[str, dict[str, str]] | None, str | None]:
        items = [i for i in control if _local(i.tag) == "item"]
        if items:
            return {
                _text(self._find(i, "value")): self._labels(i)
                for i in items if self._find(i, "value") is not None
            }, None
        itemset = self._find(control, "itemset")
        if itemset is None:
            return None, None
        match = re.match(r"\s*instance\(\s*['\"]([^'\"]+)['\"]\s*\)", itemset.get("nodeset", ""))
        instance = next((i for i in self.instances if match and i.get("id") == match.group(1)), None)
        if instance is None:
            return None, None
        if instance.get("src"):
            return None, instance.get("src", "").rsplit("/", 1)[-1]
        value_el = self._find(itemset, "value")
        value_ref = value_el.get("ref", "name") if value_el is not None else "name"
        label_el = self._find(itemset, "label")
        label_ref = label_el.get("ref", "label") if label_el is not None else "label"
        itext_ref = re.fullmatch(r"\s*jr:itext\(\s*([\w.-]+)\s*\)\s*", label_ref)
        choices: dict[str, dict[str, str]] = {}
        for item in instance.iter():
            value = self._find(item, value_ref)
            if value is None or _local(item.tag) == value_ref:
                continue
            if itext_ref:
                key = self._find(item, itext_ref.group(1))
                labels = dict(self.itext.get(_text(key), {})) if key is not None else {}
            else:
                text_el = self._find(item, label_ref)
                labels = {self.default_language or "default": _text(text_el)} if text_el is not None else {}
            choices[_text(value)] = labels
        return choices, None

    def _field_type(self, path: str, control: Element | None) -> str:
        bind = self.binds.get(path)
        bind_type = (bind.get("type") if bind is not None else None) or "string"
        bind_type = bind_type.rsplit(":", 1)[-1]  # xsd:int, odk:rank
        tag = _local(control.tag) if control is not None else ""
        if tag == "select1" and bind_type == "string":
            return "select_one"
        if tag == "select" and bind_type == "string":
            return "select_multiple"
        return bind_type

    def _is_note(self, path: str, control: Element | None) -> bool:
        bind = self.binds.get(path)
        return (
            control is not None and _local(control.tag) == "input" and bind is not None
            and bind.get("readonly") in ("true()", "true") and not bind.get("calculate")
        )

    def schema(self) -> FormSchema:
        root = self.instance_root
        form_id = root.get("id") or _local(root.tag)
        root_path = "/" + _local(root.tag)
        tables: list[TableSpec] = []
        ignored: set[str] = set()
        self._table(root, root_path, (), None, form_id, tables, ignored)
        name_bind = self.binds.get(f"{root_path}/meta/instanceName")
        return FormSchema(
            form_id=form_id,
            version=root.get("version") or "",
            title=self.title,
            languages=self.languages,
            default_language=self.default_language,
            instance_name=name_bind.get("calculate") if name_bind is not None else None,
            root=root_path,
            tables=tuple(tables),
            md5=self.md5,
            ignored=frozenset(ignored),
        )

    def _table(self, el: Element, path: str, repeat_path: tuple[str, ...], parent: str | None,
               form_id: str, tables: list[TableSpec], ignored: set[str]) -> None:
        name = table_name(form_id, repeat_path)
        columns: list[ColumnSpec] = []
        index = len(tables)
        tables.append(TableSpec(name, path, parent, ()))  # placeholder keeps form order
        nested: list[tuple[Element, str, tuple[str, ...]]] = []
        self._collect(el, path, (), repeat_path, columns, nested, ignored, top=parent is None)
        tables[index] = TableSpec(name, path, parent, tuple(_dedupe(columns)))
        for child, child_path, child_repeat in nested:
            self._table(child, child_path, child_repeat, name, form_id, tables, ignored)

    def _collect(self, el: Element, path: str, relpath: tuple[str, ...],
                 repeat_path: tuple[str, ...], columns: list[ColumnSpec],
                 nested: list[tuple[Element, str, tuple[str, ...]]], ignored: set[str],
                 top: bool) -> None:
        seen: set[str] = set()
        for child in el:
            local = _local(child.tag)
            if not local or local in seen:
                continue  # a repeat's jr:template and its first instance share a name
            seen.add(local)
            child_path = f"{path}/{local}"
            if top and not relpath and local == "meta":
                continue  # instanceID, instanceName, deprecatedID: metadata, not columns
            if child_path in self.repeat_paths or child.get(JR_TEMPLATE) is not None:
                nested.append((child, child_path, (*repeat_path, *relpath, local)))
            elif len(child):
                self._collect(child, child_path, (*relpath, local), repeat_path, columns,
                              nested, ignored, top)
            else:
                control = self.controls.get(child_path)
                if self._is_note(child_path, control):
                    ignored.add(child_path)
                    continue
                kind = self._field_type(child_path, control)
                choices, choice_file = self._choices(control) if control is not None else (None, None)
                columns.append(ColumnSpec(
                    name=_identifier("__".join((*relpath, local))),
                    path=child_path,
                    relpath=(*relpath, local),
                    type=kind,
                    labels=self._labels(control),
                    choices=choices if kind in ("select_one", "select_multiple", "rank") else None,
                    choice_file=choice_file,
                ))


_RESERVED = {"_key", "_parent_key", "_submission_id"}


def _dedupe(columns: list[ColumnSpec]) -> list[ColumnSpec]:
    """Give every SQL column a unique name (a field named like another's expansion is renamed)."""
    taken: set[str] = set(_RESERVED)
    result = []
    for col in columns:
        candidate, n = col, 2
        while any(name.lower() in taken for name, _ in candidate.sql_columns()):
            candidate = ColumnSpec(_identifier(f"{col.name}_{n}"), col.path, col.relpath, col.type,
                                   col.labels, col.choices, col.choice_file)
            n += 1
        taken.update(name.lower() for name, _ in candidate.sql_columns())
        result.append(candidate)
    return result


# In-process cache: a published version's XML never changes, so its md5 names its schema.
_CACHE: dict[str, FormSchema] = {}  # version md5 -> schema
caches.register(_CACHE.clear)


def schema_for(session: Any, form_xml_id: str, version: str) -> FormSchema:
    """The schema of one published version (cached by the version's md5)."""
    from sqlalchemy import select

    from .models import Form, FormVersion

    found = session.execute(
        select(FormVersion.id, FormVersion.md5)
        .join(Form, Form.id == FormVersion.form_id)
        .where(Form.xml_form_id == form_xml_id, FormVersion.version == version)
    ).first()
    if found is None:
        from .problems import unknown_form

        raise unknown_form(form_xml_id, version)
    cached = _CACHE.get(found.md5)
    if cached is None:
        xml = session.scalar(select(FormVersion.xml).where(FormVersion.id == found.id))
        cached = _CACHE[found.md5] = FormSchema.from_xform(xml)
    return cached
