"""Test data, built one way: forms from small XLSForm tables, submissions for them, and one way to
send a submission to the server.

    from tests import builders
    builders.publish(session, "hl_ballot")                     # a form of FORMS, built by pyxform
    xml = builders.submission("hl_ballot", {"voter_name": "Rina", "picks": "nom-1"})
    builders.submit(session, xml, blobs=blobs)                 # through pipeline.ingest.accept
    builders.submit(client, xml, via="http", key=token)        # as ODK Collect posts it

Each form is an XLSForm written as a markdown table (pyxform reads these as it reads .xlsx), so
what the tests publish is what pyxform makes of a workbook; each table is converted once per
test run. The five real forms in ``xlsforms/`` are in ``tests/formtools.py``.
"""

from __future__ import annotations

import functools
import io
import itertools
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from pipeline.forms import BuiltForm
from pipeline.forms import publish as publish_built

# --- Forms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """An XLSForm as markdown (``survey`` and, if any, ``choices`` sheets) and how to publish it."""

    sheets: str
    version: str = "1"
    title: str | None = None
    settings: tuple[tuple[str, str], ...] = ()  # more settings columns, e.g. instance_name
    media: dict[str, bytes] = field(default_factory=dict, hash=False, compare=False)
    root_is_form_id: bool = False  # the instance's root element is named after the form id


PLACES_CSV = b"name,label\ndhaka,Dhaka\nkathmandu,Kathmandu\n"
JPEG = b"\xff\xd8\xff\xe0" + b"pretend photo " * 50 + b"\xff\xd9"

# A site visit as Collect sends it: a text field, a photo, a repeat with a photo per row, and a
# CSV media file. The sync server needs no more; the real forms run in the end-to-end tests.
SITE_VISIT = Table("""
| survey |
|        | type                       | name   | label |
|        | text                       | name   | Name  |
|        | image                      | photo  | Photo |
|        | begin repeat               | rows   | Rows  |
|        | text                       | item   | Item  |
|        | image                      | snap   | Snap  |
|        | end repeat                 |        |       |
|        | select_one_from_file places.csv | place | Place |
""", title="Site visit", media={"places.csv": PLACES_CSV}, root_is_form_id=True)

# Small forms with the field names of docs/fields.md, for the domain tests (ballots, registry,
# follow-ups, generated media). Only the fields the domain reads; the full forms are xlsforms/.
_BD = """
|  | text | division | division |
|  | text | district | district |
|  | text | upazila  | upazila  |"""
_NP = """
|  | text | country     | country     |
|  | text | province    | province    |
|  | text | local_level | local_level |"""
_HEAD = """
| survey |
|  | type | name | label |"""
DOMAIN_VERSION = "2026010101"

HL_NOMINATION = Table(_HEAD + _BD + """
|  | text | union                | union                |
|  | date | workshop_date        | workshop_date        |
|  | text | practice_title       | practice_title       |
|  | text | practice_description | practice_description |
|  | begin repeat | indicators   | indicators           |
|  | text | indicator            | indicator            |
|  | end repeat |                |                      |
""", version=DOMAIN_VERSION)

HL_BALLOT = Table(_HEAD + _BD + """
|  | text | voter_name | voter_name |
|  | text | voter_role | voter_role |
|  | text | picks      | picks      |
|  | text | priority   | priority   |
""", version=DOMAIN_VERSION)

INNOVATION_INSPECTION = Table(_HEAD + _BD + """
|  | text    | project_listed       | project_listed       |
|  | text    | project              | project              |
|  | text    | new_project_name     | new_project_name     |
|  | text    | new_project_code     | new_project_code     |
|  | text    | new_project_office   | new_project_office   |
|  | text    | new_project_category | new_project_category |
|  | text    | inspector_name       | inspector_name       |
|  | text    | inspector_role       | inspector_role       |
|  | date    | visit_date           | visit_date           |
|  | text    | stage                | stage                |
|  | integer | progress             | progress             |
|  | text    | on_plan              | on_plan              |
|  | decimal | time_before          | time_before          |
|  | decimal | time_after           | time_after           |
|  | decimal | cost_before          | cost_before          |
|  | decimal | cost_after           | cost_after           |
|  | integer | visits_before        | visits_before        |
|  | integer | visits_after         | visits_after         |
|  | text    | recommendation       | recommendation       |
""", version=DOMAIN_VERSION)

HL_ACTION_PLAN = Table(_HEAD + _BD + """
|  | text | union | union |""" + _NP + """
|  | text | participant_name | participant_name |
|  | text | position         | position         |
|  | date | date_prepared    | date_prepared    |
|  | text | place            | place            |
|  | begin repeat | plans    | plans            |
|  | text | topic            | topic            |
|  | text | practice         | practice         |
|  | text | expected_results | expected_results |
|  | end repeat |            |                  |
""", version=DOMAIN_VERSION)

HL_FOLLOWUP = Table(_HEAD + _BD + """
|  | text | union | union |""" + _NP + """
|  | text | action_plan      | action_plan      |
|  | text | participant_name | participant_name |
|  | text | position         | position         |
|  | text | period_type      | period_type      |
|  | date | period_start     | period_start     |
|  | date | period_end       | period_end       |
|  | text | officer_name     | officer_name     |
|  | date | plan_date        | plan_date        |
|  | date | followup_date    | followup_date    |
|  | begin repeat | results  | results          |
|  | text | tried            | tried            |
|  | text | practice         | practice         |
|  | text | result           | result           |
|  | text | verification     | verification     |
|  | end repeat |            |                  |
""", version=DOMAIN_VERSION)

# A site check for the warehouse tests, shaped like the real forms: labels in English and
# Bengali (and plain ones), choices from lists and from a CSV file, a group, a note, a geopoint,
# a repeat with a nested repeat. Version 2 adds ``obstacles``, drops ``score`` and turns
# ``progress`` from int into decimal.
CHECK_V1, CHECK_V2 = "2024010101", "2024020101"
_CHECK = """
| survey |
|  | type | name | label | label::English (en) | label::Bengali (bn) | choice_filter |
|  | select_one districts | district | | District | জেলা | |
|  | date | visit_date | Visit date | | | |
|  | dateTime | visited_at | Visited at | | | |
|  | time | start_time | Start | | | |
|  | {progress} | progress | | Progress | অগ্রগতি | |{score}
|  | select_one yes_no | on_plan | On plan? | | | |
|  | select_multiple tags | tags | | Tags | ট্যাগ | |
|  | select_one_from_file projects.csv | project | Project | | | district=${{district}} |
|  | geopoint | location | Location | | | |
|  | begin group | header | Header | | | |
|  | text | officer | | Officer | কর্মকর্তা | |
|  | end group | | | | | |
|  | note | intro | Please check the site. | | | |
|  | image | photo | Photo | | | |
|  | begin repeat | photos | Photos | | | |
|  | text | caption | Caption | | | |
|  | image | shot | Shot | | | |
|  | begin repeat | marks | Marks | | | |
|  | integer | n | N | | | |
|  | end repeat | | | | | |
|  | end repeat | | | | | |{obstacles}
| choices |
|  | list_name | name | label | label::English (en) | label::Bengali (bn) |
|  | districts | d1 | | Dhaka | ঢাকা |
|  | districts | d2 | | Khulna | খুলনা |
|  | yes_no | yes | Yes | | |
|  | yes_no | no | No | | |
|  | tags | water | Water | | |
|  | tags | roads | Roads | | |
|  | tags | ict | ICT | | |
"""
_CHECK_SETTINGS = (("default_language", "English (en)"),
                   ("instance_name", "concat(${officer}, ' ',${visit_date})"))
SITE_CHECK = Table(_CHECK.format(progress="integer", score="""
|  | decimal | score | Score | | | |""", obstacles=""), version=CHECK_V1, title="Site check",
                   settings=_CHECK_SETTINGS, media={"projects.csv": b"name,label\np1,P1\n"})
SITE_CHECK_V2 = Table(_CHECK.format(progress="decimal", score="", obstacles="""
|  | text | obstacles | Obstacles | | | |"""), version=CHECK_V2, title="Site check",
                      settings=_CHECK_SETTINGS, media=SITE_CHECK.media)
SITE_CHECK_ANSWERS: dict[str, Any] = {  # a whole submission of version 1
    "district": "d1", "visit_date": "2024-01-15", "visited_at": "2024-01-15T10:30:00.000+06:00",
    "start_time": "10:30:00.000+06:00", "progress": "40", "score": "7.5", "on_plan": "yes",
    "tags": "water ict", "project": "p1", "location": "23.81 90.41 12.5 4.0",
    "header": {"officer": "Rahima Begum"}, "intro": None, "photo": "site.jpg",
    "photos": [
        {"caption": "gate", "shot": "a.jpg", "marks": [{"n": "1"}, {"n": "2"}]},
        {"caption": "yard", "shot": "b.jpg"},
    ],
}

FORMS: dict[str, Table] = {
    "site_visit": SITE_VISIT,
    "site_check": SITE_CHECK,
    "hl_nomination": HL_NOMINATION,
    "hl_ballot": HL_BALLOT,
    "innovation_inspection": INNOVATION_INSPECTION,
    "hl_action_plan": HL_ACTION_PLAN,
    "hl_followup": HL_FOLLOWUP,
}
OTHER_VERSIONS: dict[tuple[str, str], Table] = {("site_check", CHECK_V2): SITE_CHECK_V2}
DOMAIN_FORMS = ("hl_nomination", "hl_ballot", "innovation_inspection", "hl_action_plan",
                "hl_followup")


@functools.cache
def xform(table: Table, form_id: str, version: str | None = None, title: str | None = None) -> bytes:
    """The XForm pyxform makes of ``table`` (converted once per table, id, version and title)."""
    from pyxform.xls2xform import convert

    settings = [("form_id", form_id), ("version", version or table.version),
                ("form_title", title or table.title or form_id), *table.settings]
    if table.root_is_form_id:
        settings.append(("name", form_id))
    sheet = ("\n| settings |\n|  | " + " | ".join(k for k, _ in settings) + " |\n|  | "
             + " | ".join(v for _, v in settings) + " |\n")
    return convert(table.sheets + sheet, file_type=".md").xform.encode()


def table_of(name: str, version: str | None = None) -> Table:
    """The table of form ``name`` (of ``version``, for forms with several)."""
    return OTHER_VERSIONS.get((name, version or ""), FORMS[name])


def built(name: str, *, form_id: str | None = None, version: str | None = None,
          title: str | None = None, with_media: bool = True) -> BuiltForm:
    """The form ``FORMS[name]`` as ``pipeline.forms.publish`` takes it (under another id if asked)."""
    table = table_of(name, version)
    form_id = form_id or name
    xml = xform(table, form_id, version, title)
    media = sorted(table.media)
    if not with_media:
        for file in media:  # a form that names no media file
            xml = _without_file(xml, file)
        media = []
    return BuiltForm(form_id=form_id, version=version or table.version,
                     title=title or table.title or form_id, xml=xml, media=media)


def _without_file(xml: bytes, file: str) -> bytes:
    import re

    stem = file.rsplit(".", 1)[0]
    xml = re.sub(rb'<instance id="%s" src="jr://file-csv/%s"/>' % (stem.encode(), file.encode()),
                 b"", xml)
    xml = re.sub(rb'<bind nodeset="[^"]*/place"[^>]*/>', b"", xml)
    xml = re.sub(rb"<place/>", b"", xml)
    return re.sub(rb'<select1 ref="[^"]*/place">.*?</select1>', b"", xml, flags=re.S)


def publish(session: Any, *names: str, form_id: str | None = None, version: str | None = None,
            title: str | None = None, with_media: bool = True, actor: str = "test") -> Any:
    """Publish the forms of ``FORMS`` named (every domain form when none is named); returns the
    last one's FormVersion."""
    version_row = None
    for name in names or DOMAIN_FORMS:
        form = built(name, form_id=form_id, version=version, title=title, with_media=with_media)
        media = dict(table_of(name, version).media) if with_media else {}
        version_row = publish_built(session, form, None, media, actor).version
    return version_row


# --- Submissions -----------------------------------------------------------------------------

_ids = itertools.count(1)


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    return f"<{name}/>" if value is None else f"<{name}>{escape(str(value))}</{name}>"


def submission(form_id: str, answers: dict[str, Any], *, version: str | None = None,
               instance_id: str | None = None, deprecated_id: str | None = None,
               name: str | None = None, root: str | None = None) -> bytes:
    """Submission XML as Collect sends it: ``answers`` maps element names to text (None: empty),
    dicts (groups) or lists (repeat rows)."""
    table = FORMS.get(form_id)
    version = version or (table.version if table else "1")
    root = root or (form_id if table is None or table.root_is_form_id else "data")
    instance_id = instance_id or f"uuid:{form_id}-{next(_ids):04d}"
    meta = f"<orx:instanceID>{instance_id}</orx:instanceID>"
    if deprecated_id:
        meta += f"<orx:deprecatedID>{deprecated_id}</orx:deprecatedID>"
    if name is not None:
        meta += f"<orx:instanceName>{escape(name)}</orx:instanceName>"
    body = "".join(_element(k, v) for k, v in answers.items())
    return (f'<{root} xmlns:jr="http://openrosa.org/javarosa" '
            f'xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
            f"{body}<orx:meta>{meta}</orx:meta></{root}>").encode()


def multipart(xml: bytes, files: dict[str, bytes] | None = None, *,
              incomplete: bool = False) -> dict[str, Any]:
    """The body of Collect's upload, as the Flask test client takes it."""
    data: dict[str, Any] = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    for file, content in (files or {}).items():
        data[file] = (io.BytesIO(content), file, "image/jpeg")
    if incomplete:
        data["*isIncomplete*"] = "yes"
    return data


def submit(to: Any, xml: bytes, files: dict[str, bytes] | None = None, *, via: str = "accept",
           blobs: Any = None, key: str | None = None, incomplete: bool = False,
           headers: dict[str, str] | None = None, check: bool = True, **incoming: Any) -> Any:
    """Send one submission.

    ``via="accept"``: ``to`` is a session; stored through ``pipeline.ingest.accept`` (``blobs``,
    ``Incoming`` fields as keywords) and, with ``check``, asserted parsed; returns the Outcome.
    ``via="http"``: ``to`` is a Flask test client; posted as Collect does, to ``/key/<key>/submission``
    with a key, else ``/submission``; returns the response."""
    if via == "http":
        url = f"/key/{key}/submission" if key else "/submission"
        return to.post(url, data=multipart(xml, files, incomplete=incomplete),
                       headers={"X-OpenRosa-Version": "1.0", **(headers or {})})
    if via != "accept":
        raise ValueError(f"via must be 'accept' or 'http', not {via!r}")
    from pipeline.ingest import Incoming, accept

    outcome = accept(to, blobs, Incoming(xml, files=dict(files or {}), incomplete=incomplete,
                                         **incoming))
    if check:
        assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome
