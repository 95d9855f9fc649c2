"""Small XForms with the field names of docs/fields.md, and a way to send submissions to them
through the real ingest path, for the domain tests (ballots, registry, follow-ups, media).

Only the fields the domain reads are here; the full forms live in ``xlsforms/``.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from pipeline.forms import BuiltForm, publish
from pipeline.ingest import Incoming, accept
from pipeline.models import Submission
from pipeline.storage import BlobStore

VERSION = "2026010101"
BD = [("division", "string"), ("district", "string"), ("upazila", "string"),
      ("union", "string")]
NP = [("country", "string"), ("province", "string"), ("local_level", "string")]

# form id -> (top-level fields, {repeat: fields})
FORMS: dict[str, tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]] = {
    "hl_nomination": (
        BD + [("workshop_date", "date"), ("practice_title", "string"),
              ("practice_description", "string")],
        {"indicators": [("indicator", "string")]},
    ),
    "hl_ballot": (
        BD[:3] + [("voter_name", "string"), ("voter_role", "string"), ("picks", "string"),
                  ("priority", "string")],
        {},
    ),
    "innovation_inspection": (
        BD[:3] + [("project_listed", "string"), ("project", "string"), ("new_project_name", "string"),
                  ("new_project_code", "string"), ("new_project_office", "string"),
                  ("new_project_category", "string"), ("inspector_name", "string"),
                  ("inspector_role", "string"), ("visit_date", "date"), ("stage", "string"),
                  ("progress", "int"), ("on_plan", "string"), ("time_before", "decimal"),
                  ("time_after", "decimal"), ("cost_before", "decimal"),
                  ("cost_after", "decimal"), ("visits_before", "int"), ("visits_after", "int"),
                  ("recommendation", "string")],
        {},
    ),
    "hl_action_plan": (
        BD + NP + [("participant_name", "string"), ("position", "string"),
                   ("date_prepared", "date"), ("place", "string")],
        {"plans": [("topic", "string"), ("practice", "string"), ("expected_results", "string")]},
    ),
    "hl_followup": (
        BD + NP + [("action_plan", "string"), ("participant_name", "string"),
                   ("position", "string"), ("period_type", "string"), ("period_start", "date"),
                   ("period_end", "date"), ("officer_name", "string"), ("plan_date", "date"),
                   ("followup_date", "date")],
        {"results": [("tried", "string"), ("practice", "string"), ("result", "string"),
                     ("verification", "string")]},
    ),
}

_ids = itertools.count(1)


def xform(form_id: str) -> bytes:
    fields, repeats = FORMS[form_id]
    instance = "".join(f"<{name}/>" for name, _ in fields) + "".join(
        f'<{r} jr:template="">{"".join(f"<{n}/>" for n, _ in cols)}</{r}>'
        for r, cols in repeats.items())
    binds = [(f"/data/{n}", t) for n, t in fields] + [
        (f"/data/{r}/{n}", t) for r, cols in repeats.items() for n, t in cols]
    body = "".join(f'<input ref="/data/{n}"><label>{n}</label></input>' for n, _ in fields) + "".join(
        f'<group ref="/data/{r}"><label>{r}</label><repeat nodeset="/data/{r}">'
        + "".join(f'<input ref="/data/{r}/{n}"><label>{n}</label></input>' for n, _ in cols)
        + "</repeat></group>"
        for r, cols in repeats.items())
    return f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
 xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
 xmlns:odk="http://www.opendatakit.org/xforms">
<h:head><h:title>{form_id}</h:title><model odk:xforms-version="1.0.0">
<instance><data id="{form_id}" version="{VERSION}">{instance}
<meta><instanceID/><deprecatedID/></meta></data></instance>
{"".join(f'<bind nodeset="{p}" type="{t}"/>' for p, t in binds)}
<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
</model></h:head><h:body>{body}</h:body></h:html>""".encode()


def publish_forms(session: Session, *form_ids: str) -> None:
    for form_id in form_ids or tuple(FORMS):
        built = BuiltForm(form_id=form_id, version=VERSION, title=form_id, xml=xform(form_id))
        publish(session, built, None, {}, "test")


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    return f"<{name}/>" if value is None else f"<{name}>{escape(str(value))}</{name}>"


def submit(session: Session, blobs: BlobStore, form_id: str, answers: dict[str, Any],
           instance_id: str | None = None, received_at: datetime | None = None,
           deprecated_id: str | None = None) -> Submission:
    """Send one submission through ``pipeline.ingest.accept``; returns its raw-store row."""
    instance_id = instance_id or f"uuid:{form_id}-{next(_ids):04d}"
    meta = f"<orx:meta><orx:instanceID>{instance_id}</orx:instanceID>" + (
        f"<orx:deprecatedID>{deprecated_id}</orx:deprecatedID>" if deprecated_id else "") + "</orx:meta>"
    body = "".join(_element(k, v) for k, v in answers.items())
    xml = (f'<data xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{VERSION}">'
           f"{body}{meta}</data>").encode()
    outcome = accept(session, blobs, Incoming(xml=xml, received_at=received_at, source="import"))
    assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome.submission
