"""A small inspection-like XForm in two versions, and submissions for it, for the warehouse tests.

Written as XForm XML (the shape pyxform produces: itext in English and Bengali, choices in a
secondary instance and inline items, a CSV choice list, a group, a note, a geopoint, a repeat with
a nested repeat). Version 2 adds ``obstacles``, drops ``score`` and turns ``progress`` from int
into decimal.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from pipeline.forms import BuiltForm, publish
from pipeline.models import FormVersion

FORM_ID = "site_check"
V1, V2 = "2024010101", "2024020101"
DEFAULT = ' default="true()"'

_ITEXT = {
    "en": ("English (en)", {"district": "District", "officer": "Officer", "progress": "Progress",
                            "tags": "Tags", "d1": "Dhaka", "d2": "Khulna"}),
    "bn": ("Bengali (bn)", {"district": "জেলা", "officer": "কর্মকর্তা", "progress": "অগ্রগতি",
                            "tags": "ট্যাগ", "d1": "ঢাকা", "d2": "খুলনা"}),
}


def xform(version: str = V1) -> bytes:
    v2 = version != V1
    translations = "".join(
        f'<translation lang="{lang}"{DEFAULT if code == "en" else ""}>'
        + "".join(
            f'<text id="{tid}"><value>{texts[key]}</value></text>'
            for tid, key in [("/data/district:label", "district"),
                             ("/data/header/officer:label", "officer"),
                             ("/data/progress:label", "progress"), ("/data/tags:label", "tags"),
                             ("districts-0", "d1"), ("districts-1", "d2")])
        + "</translation>"
        for code, (lang, texts) in _ITEXT.items()
    )
    score = "" if v2 else "<score/>"
    obstacles = "<obstacles/>" if v2 else ""
    binds = [
        ("district", "string"), ("visit_date", "date"), ("visited_at", "dateTime"),
        ("start_time", "time"), ("progress", "decimal" if v2 else "int"), ("on_plan", "string"),
        ("tags", "string"), ("project", "string"), ("location", "geopoint"),
        ("header/officer", "string"), ("photo", "binary"), ("photos/caption", "string"),
        ("photos/shot", "binary"), ("photos/marks/n", "int"),
    ] + ([] if v2 else [("score", "decimal")]) + ([("obstacles", "string")] if v2 else [])
    bind_xml = "".join(f'<bind nodeset="/data/{p}" type="{t}"/>' for p, t in binds)
    return f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
 xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
 xmlns:odk="http://www.opendatakit.org/xforms">
<h:head><h:title>Site check</h:title><model odk:xforms-version="1.0.0">
<itext>{translations}</itext>
<instance><data id="{FORM_ID}" version="{version}"><district/><visit_date/><visited_at/>
<start_time/><progress/>{score}<on_plan/><tags/><project/><location/><header><officer/></header>
<intro/><photo/><photos jr:template=""><caption/><shot/><marks jr:template=""><n/></marks></photos>
<photos><caption/><shot/><marks><n/></marks></photos>{obstacles}
<meta><instanceID/><instanceName/><deprecatedID/></meta></data></instance>
<instance id="districts"><root><item><itextId>districts-0</itextId><name>d1</name></item>
<item><itextId>districts-1</itextId><name>d2</name></item></root></instance>
<instance id="projects" src="jr://file-csv/projects.csv"/>
{bind_xml}
<bind nodeset="/data/intro" readonly="true()" type="string"/>
<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
<bind nodeset="/data/meta/instanceName" type="string" calculate="concat( /data/header/officer , ' ', /data/visit_date )"/>
</model></h:head>
<h:body>
<select1 ref="/data/district"><label ref="jr:itext('/data/district:label')"/>
 <itemset nodeset="instance('districts')/root/item"><value ref="name"/><label ref="jr:itext(itextId)"/></itemset></select1>
<input ref="/data/visit_date"><label>Visit date</label></input>
<input ref="/data/visited_at"><label>Visited at</label></input>
<input ref="/data/start_time"><label>Start</label></input>
<input ref="/data/progress"><label ref="jr:itext('/data/progress:label')"/></input>
{"" if v2 else '<input ref="/data/score"><label>Score</label></input>'}
<select1 ref="/data/on_plan"><label>On plan?</label><item><label>Yes</label><value>yes</value></item>
 <item><label>No</label><value>no</value></item></select1>
<select ref="/data/tags"><label ref="jr:itext('/data/tags:label')"/>
 <item><label>Water</label><value>water</value></item><item><label>Roads</label><value>roads</value></item>
 <item><label>ICT</label><value>ict</value></item></select>
<select1 ref="/data/project"><label>Project</label>
 <itemset nodeset="instance('projects')/root/item[district= /data/district ]"><value ref="name"/><label ref="label"/></itemset></select1>
<input ref="/data/location"><label>Location</label></input>
<group ref="/data/header"><label>Header</label>
 <input ref="/data/header/officer"><label ref="jr:itext('/data/header/officer:label')"/></input></group>
<input ref="/data/intro"><label>Please check the site.</label></input>
<upload ref="/data/photo" mediatype="image/*"><label>Photo</label></upload>
<group ref="/data/photos"><label>Photos</label><repeat nodeset="/data/photos">
 <input ref="/data/photos/caption"><label>Caption</label></input>
 <upload ref="/data/photos/shot" mediatype="image/*"><label>Shot</label></upload>
 <group ref="/data/photos/marks"><label>Marks</label><repeat nodeset="/data/photos/marks">
  <input ref="/data/photos/marks/n"><label>N</label></input></repeat></group>
</repeat></group>
{'<input ref="/data/obstacles"><label>Obstacles</label></input>' if v2 else ""}
</h:body></h:html>""".encode()


def built(version: str = V1) -> BuiltForm:
    return BuiltForm(form_id=FORM_ID, version=version, title="Site check", xml=xform(version),
                     media=["projects.csv"])


def publish_form(session: Session, version: str = V1) -> FormVersion:
    return publish(session, built(version), None, {"projects.csv": b"name,label\np1,P1\n"},
                   "test").version


def _element(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    return f"<{name}/>" if value is None else f"<{name}>{escape(str(value))}</{name}>"


def submission(instance_id: str, answers: dict[str, Any], version: str = V1,
               deprecated_id: str | None = None, name: str | None = None) -> bytes:
    """Submission XML: ``answers`` maps element names to text, dicts (groups) or lists (repeats)."""
    meta: dict[str, Any] = {"instanceID": instance_id}
    if name is not None:
        meta["instanceName"] = name
    if deprecated_id:
        meta["deprecatedID"] = deprecated_id
    body = "".join(_element(k, v) for k, v in answers.items())
    return (f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
            f'id="{FORM_ID}" version="{version}">{body}{_element("orx:meta", meta)}</data>').encode()


ANSWERS: dict[str, Any] = {
    "district": "d1", "visit_date": "2024-01-15", "visited_at": "2024-01-15T10:30:00.000+06:00",
    "start_time": "10:30:00.000+06:00", "progress": "40", "score": "7.5", "on_plan": "yes",
    "tags": "water ict", "project": "p1", "location": "23.81 90.41 12.5 4.0",
    "header": {"officer": "Rahima Begum"}, "intro": None, "photo": "site.jpg",
    "photos": [
        {"caption": "gate", "shot": "a.jpg", "marks": [{"n": "1"}, {"n": "2"}]},
        {"caption": "yard", "shot": "b.jpg"},
    ],
}
