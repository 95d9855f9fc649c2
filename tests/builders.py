"""Test data, built one way: forms from small XLSForm tables, submissions for them, and one way to
send a submission to the server.

    from tests import builders
    builders.publish(session, "hl_ballot")                     # a form of FORMS, built by pyxform
    xml = builders.submission("hl_ballot", {"voter_name": "Rina", "picks": "nom-1"})
    builders.submit(session, xml, blobs=blobs)                 # through pipeline.ingest.accept
    builders.submit(client, xml, via="http", key=token)        # as ODK Collect posts it
    builders.submit(server.port, xml, via="http", key=token)   # over real HTTP to a live server
    builders.submit(client, builders.edit(xml), via="http", user=("officer", password))

Each form is an XLSForm written as a markdown table (pyxform reads these as it reads .xlsx), so
what the tests publish is what pyxform makes of a workbook; each table is converted once per
test run. The five real forms in ``xlsforms/`` are in ``tests/formtools.py``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import http.client
import io
import itertools
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
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
    if not with_media:  # the form without the questions that read a media file
        table = _without_media(table)
    return BuiltForm(form_id=form_id, version=version or table.version,
                     title=title or table.title or form_id,
                     xml=xform(table, form_id, version, title), media=sorted(table.media))


@functools.cache
def _without_media(table: Table) -> Table:
    sheets = "\n".join(row for row in table.sheets.splitlines() if "_from_file " not in row)
    return dataclasses.replace(table, sheets=sheets, media={})


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


Files = dict[str, bytes | tuple[bytes, str]]


def _parts(files: Files | None) -> list[tuple[str, str, bytes]]:
    """(part name, file name, bytes) of each attachment: ``files`` maps a part's name to its
    bytes, or to (bytes, file name) for a part whose file name is not its own (e.g. "blob")."""
    parts = []
    for part, value in (files or {}).items():
        content, file_name = value if isinstance(value, tuple) else (value, part)
        parts.append((part, file_name, content))
    return parts


def multipart(xml: bytes, files: Files | None = None, *,
              incomplete: bool = False) -> dict[str, Any]:
    """The body of Collect's upload, as the Flask test client takes it."""
    data: dict[str, Any] = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    for part, file_name, content in _parts(files):
        data[part] = (io.BytesIO(content), file_name, "image/jpeg")
    if incomplete:
        data["*isIncomplete*"] = "yes"
    return data


def site_visit(instance_id: str = "uuid:0001", *, name: str = "Rina", photo: str | None = None,
               snaps: tuple[str, ...] = (), rows: int = 3, form_id: str = "site_visit",
               **meta: Any) -> bytes:
    """A submission of SITE_VISIT (or a copy published as ``form_id``): ``rows`` repeat rows, the
    i-th with the photo ``snaps[i]`` if given."""
    answers = {"name": name, "photo": photo or "",
               "rows": [{"item": f"item {i}", "snap": snaps[i] if i < len(snaps) else ""}
                        for i in range(rows)]}
    return submission(form_id, answers, instance_id=instance_id, root=form_id, **meta)


def encode_multipart(xml: bytes, files: Files | None = None, *,
                     incomplete: bool = False) -> tuple[bytes, str]:
    """Collect's upload as raw bytes, for clients that speak real HTTP (body, Content-Type)."""
    boundary = "sangjogBoundary7MA4YWxkTrZu0gW"
    chunks = []
    parts = [("xml_submission_file", "submission.xml", "text/xml", xml)]
    parts += [(part, file_name, "image/jpeg", data) for part, file_name, data in _parts(files)]
    for field_name, filename, content_type, data in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode() + data + b"\r\n")
    if incomplete:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="*isIncomplete*"'
                      f"\r\n\r\nyes\r\n".encode())
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def submit(to: Any, xml: bytes, files: Files | None = None, *, via: str = "accept",
           blobs: Any = None, key: str | None = None, user: tuple[str, str] | None = None,
           url: str | None = None, query: str = "", incomplete: bool = False,
           headers: dict[str, str] | None = None, timeout: float = 30, check: bool = True,
           **incoming: Any) -> Any:
    """Send one submission (``files``: attachments by part name, see ``_parts``).

    ``via="accept"``: ``to`` is a session; stored through ``pipeline.ingest.accept`` (``blobs``,
    ``Incoming`` fields as keywords) and, with ``check``, asserted parsed; returns the Outcome.
    ``via="http"``: posted as Collect does to ``/key/<key>/submission`` with an app user's key,
    else to ``/submission`` (as the web user ``user``, (name, password), through HTTP Basic), or
    to ``url`` (the browser doors ``/f/<form>/submission``, ``/l/<token>/submission``); ``query``
    appended. ``to`` is a Flask test client (returns the response) or the port of a server on
    127.0.0.1 (real HTTP, a new connection each time: returns the status, or None when the
    connection failed, as when the server is killed mid-upload)."""
    if via == "http":
        path = url or (f"/key/{key}/submission" if key else "/submission")
        path += f"?{query}" if query else ""
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(user).encode()).decode()
        if isinstance(to, int):
            return _post_over_http(to, path, xml, files, incomplete, headers, timeout)
        return to.post(path, headers=headers, content_type="multipart/form-data",
                       data=multipart(xml, files, incomplete=incomplete))
    if via != "accept":
        raise ValueError(f"via must be 'accept' or 'http', not {via!r}")
    from pipeline.ingest import Incoming, accept

    outcome = accept(to, blobs, Incoming(xml, files={p: c for p, _, c in _parts(files)},
                                         incomplete=incomplete, **incoming))
    if check:
        assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome


def _post_over_http(port: int, path: str, xml: bytes, files: Files | None, incomplete: bool,
                    headers: dict[str, str], timeout: float) -> int | None:
    body, content_type = encode_multipart(xml, files, incomplete=incomplete)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", path, body=body, headers={
            "Content-Type": content_type, "X-OpenRosa-Version": "1.0", **headers})
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


# --- The real forms' submissions ------------------------------------------------------------
# The five forms of xlsforms/ filled by ODK's engine once each (``formtools.sample_submission``)
# and varied: another instanceID and other top-level answers in that XML, so every submission is
# what Collect would send.


@functools.cache
def sample(form_id: str) -> bytes:
    """The engine's submission of one of the five real forms, with its sample answers."""
    from tests import formtools

    return formtools.sample_submission(form_id)


@functools.cache
def sample_with(form_id: str, changes: tuple[tuple[str, object], ...]) -> bytes:
    """The engine's submission for the sample answers with some answers (by path) replaced or
    dropped (None)."""
    from tests import formtools

    wanted = dict(changes)
    answers = [(p, wanted.get(p, v)) for p, v in formtools.SAMPLE_ANSWERS[form_id]
               if wanted.get(p, v) is not None]
    answers += [(p, v) for p, v in changes if v is not None and p not in dict(answers)]
    result = formtools.fill(form_id, answers)
    assert result.ok, (result.violations, result.errors)
    return result.xml


def vary(xml: bytes | str, instance_id: str | None = None, **answers: object) -> bytes:
    """The same submission with another instanceID and other values for top-level fields (each
    must be in it)."""
    text = xml.decode() if isinstance(xml, bytes) else xml
    if instance_id is not None:
        text, n = re.subn(r"(<(?:\w+:)?instanceID>)[^<]*(</(?:\w+:)?instanceID>)",
                          rf"\g<1>{instance_id}\g<2>", text, count=1)
        assert n == 1, "the submission has no instanceID"
    for name, value in answers.items():
        text, n = re.subn(rf"<{name}>[^<]*</{name}>|<{name}/>", f"<{name}>{value}</{name}>", text,
                          count=1)
        assert n == 1, f"the submission has no <{name}>"
    return text.encode()


def instance_id_of(xml: bytes | str) -> str:
    """The instanceID of a submission."""
    text = xml.decode() if isinstance(xml, bytes) else xml
    found = re.search(r"<(?:\w+:)?instanceID>([^<]+)</", text)
    assert found, "the submission has no instanceID"
    return found.group(1)


def edit(xml: bytes | str, instance_id: str | None = None, **answers: object) -> bytes:
    """The edit Collect sends of submission ``xml``: a new instanceID (``instance_id``, else a
    fresh uuid), a deprecatedID naming the edited one, and other top-level ``answers``."""
    old = instance_id_of(xml)
    text = vary(xml, instance_id or f"uuid:{uuid.uuid4()}", **answers).decode()
    text, n = re.subn(r"(<((?:\w+:)?)deprecatedID>)[^<]*", rf"\g<1>{old}", text, count=1)
    if n == 0:  # an edit of an original: deprecatedID goes right after instanceID
        text = re.sub(r"(</((?:\w+:)?)instanceID>)",
                      rf"\g<1><\g<2>deprecatedID>{old}</\g<2>deprecatedID>", text, count=1)
    return text.encode()


# --- People and waiting ----------------------------------------------------------------------


def app_user(session: Any, name: str = "phone-1", forms: tuple[str, ...] = ()) -> Any:
    """An app user (a phone's key) allowed ``forms`` (every form when none)."""
    from pipeline import accounts

    return accounts.create_app_user(session, name, list(forms), actor="tester")


def database_for_phones(url: str, phone: str = "phone-1", *, then: Any = None) -> tuple[Any, str]:
    """A migrated database at ``url`` with ``site_visit`` published and an app user for every
    form, outside any Flask app (for a server started apart, a benchmark): its engine and the
    phone's key. ``then(session)`` adds what else a test needs in the same session."""
    from pipeline.db import make_engine, session_factory, upgrade

    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        publish(session, "site_visit")
        key = app_user(session, phone).token
        if then is not None:
            then(session)
    return engine, key


def wait_loaded(session: Any, timeout: float = 10.0) -> None:
    """Wait (bounded) until the server's background loader has loaded every stored upload."""
    import time

    from sqlalchemy import select

    from pipeline.models import Submission

    deadline = time.monotonic() + timeout
    while True:
        session.rollback()  # a fresh snapshot each look
        pending = session.scalar(select(Submission.id).where(Submission.parse_status == "pending").limit(1))
        if pending is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"submission {pending} was still pending after {timeout} s")
        time.sleep(0.02)


def picture(shade: int = 90) -> bytes:
    """A small real PNG (64×48, a green gradient) so browsers draw an actual thumbnail."""
    return _picture(shade)


@functools.cache
def _picture(shade: int) -> bytes:
    import png

    rows = [[(x * 3) % 256 if c == 0 else shade + y if c == 1 else 120
             for x in range(64) for c in range(3)] for y in range(48)]
    out = io.BytesIO()
    png.Writer(64, 48, greyscale=False).write(out, rows)
    return out.getvalue()


# --- The web tests' world --------------------------------------------------------------------
# Users of every role, a project registry and inspections in two districts of Rangpur division,
# sent through the real ingest path with real photos (the ``world`` fixture in conftest.py).
# Rangpur (5585) and Kurigram (5549) are the two districts; every scope test compares them.

PASSWORD = "correct horse battery"
RANGPUR, KURIGRAM = "5585", "5549"
UPAZILA = {RANGPUR: "558503", KURIGRAM: "554906"}  # Badarganj, Bhurungamari
UNION = {RANGPUR: "55850318", KURIGRAM: "55490613"}  # Bishnupur (Badarganj), Andhari Jhar
PROJECT = {RANGPUR: "RNG-2026-101", KURIGRAM: "KUR-2026-201"}

USERS = {  # username -> (role, scope)
    "admin": ("admin", ["*"]),
    "sup_rangpur": ("supervisor", [f"bd_district:{RANGPUR}"]),
    "sup_division": ("supervisor", ["bd_division:55"]),
    "do_rangpur": ("district_officer", [f"bd_district:{RANGPUR}"]),
    "do_kurigram": ("district_officer", [f"bd_district:{KURIGRAM}"]),
    "do_dhaka": ("district_officer", ["bd_district:3026"]),
}
# username -> the districts of the world whose submissions they may see, on every door
VISIBLE = {
    "admin": {RANGPUR, KURIGRAM},
    "sup_division": {RANGPUR, KURIGRAM},
    "sup_rangpur": {RANGPUR},
    "do_rangpur": {RANGPUR},
    "do_kurigram": {KURIGRAM},
    "do_dhaka": set(),
}

REGISTRY = (
    "code,title_en,title_bn,division,district,upazila,office,started_on,category\n"
    f"{PROJECT[RANGPUR]},Mobile land records desk,ভ্রাম্যমাণ ভূমি রেকর্ড ডেস্ক,55,{RANGPUR},"
    f"{UPAZILA[RANGPUR]},DC Office Rangpur,2026-01-10,land\n"
    f"{PROJECT[KURIGRAM]},Char school attendance by SMS,চরের স্কুলে এসএমএসে উপস্থিতি,55,{KURIGRAM},"
    f"{UPAZILA[KURIGRAM]},DC Office Kurigram,2026-02-01,education\n"
)


@dataclass
class World:
    submissions: dict[str, list[int]] = field(default_factory=dict)  # district code -> ids
    photo: bytes = b""

    def first(self, district: str) -> int:
        return self.submissions[district][0]


def _photos() -> dict[str, bytes]:
    return {"desk.jpg": picture(), "queue.jpg": picture(140), "signature.png": picture(200)}


def inspection_xml(district: str, progress: int, visit_date: str = "2026-11-10",
                   inspector: str = "Farhana Yasmin", stage: str = "pilot_running") -> bytes:
    """The engine-filled sample inspection, moved to ``district`` with a new instanceID."""
    return vary(sample("innovation_inspection"), f"uuid:{uuid.uuid4()}", district=district,
                upazila=UPAZILA[district], project=PROJECT[district], progress=str(progress),
                visit_date=visit_date, inspector_name=inspector, stage=stage)


def add_inspection(session: Any, blobs: Any, district: str, progress: int,
                   files: dict[str, bytes] | None = None, **answers: Any) -> int:
    xml = inspection_xml(district, progress, **answers)
    return submit(session, xml, {**_photos(), **(files or {})}, blobs=blobs,
                  submitter="phone-1").submission_id


def edit_inspection(session: Any, blobs: Any, submission_id: int, progress: int) -> int:
    """Send an edit of a stored inspection (as Collect does): new instanceID, deprecatedID."""
    from pipeline.models import Submission

    xml = edit(session.get(Submission, submission_id).xml, progress=progress)
    outcome = submit(session, xml, _photos(), blobs=blobs, submitter="phone-1", check=False)
    assert outcome.status == "edited", outcome.status
    return outcome.submission.id


def add_workshop(session: Any, blobs: Any, practices: dict[str, str],
                 ballots: list[list[str]]) -> None:
    """A Gazipur (3033) upazila workshop: nominations (key -> title) and UP chairmen's ballots
    picking nomination keys."""
    for key, title in practices.items():
        submit(session, vary(sample("hl_nomination"), f"uuid:{key}", practice_title=title),
               blobs=blobs, check=False)
    for n, picks in enumerate(ballots):
        xml = vary(sample("hl_ballot"), f"uuid:{uuid.uuid4()}", voter_name=f"Voter {n}",
                   picks=" ".join(picks), priority=" ".join(picks))
        submit(session, xml, blobs=blobs, check=False)


def add_district_workshop(session: Any, blobs: Any, district: str, practices: dict[str, str],
                          ballots: list[tuple[str, str, list[str]]]) -> None:
    """Nominations (key -> title) and ballots (voter, role, picked keys) of the workshop held
    in ``district``'s test upazila."""
    place = {"division": "55", "district": district, "upazila": UPAZILA[district]}
    for key, title in practices.items():
        xml = vary(sample("hl_nomination"), f"uuid:{key}", **place, practice_title=title,
                   workshop_date="2026-11-12")
        submit(session, xml, blobs=blobs)
    for voter, role, picks in ballots:
        xml = vary(sample("hl_ballot"), f"uuid:{uuid.uuid4()}", **place, voter_name=voter,
                   voter_role=role, ballot_date="2026-11-12", picks=" ".join(picks),
                   priority=" ".join(picks))
        submit(session, xml, blobs=blobs)


def seed(session: Any, blobs: Any, per_district: int = 2) -> World:
    """The registry, USERS (password PASSWORD) and ``per_district`` inspections per district."""
    from pipeline import accounts
    from pipeline.domain import projects
    from tests import formtools

    formtools.publish_all(session)
    projects.import_projects(session, REGISTRY.encode("utf-8"))
    for username, (role, scope) in USERS.items():
        accounts.create_user(session, username, PASSWORD, role, scope)
    world = World(photo=picture())
    for district in (RANGPUR, KURIGRAM):
        world.submissions[district] = [
            add_inspection(session, blobs, district, progress=20 + 10 * i,
                           visit_date=f"2026-11-{10 + i:02d}")
            for i in range(per_district)
        ]
    return world


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    """Log ``client`` in through the real login form (CSRF token included)."""
    page = client.get("/login")
    token = csrf(page.get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def _bangladesh(xml: bytes, district: str) -> str:
    """The sample moved to a Bangladesh union of ``district`` (the plan's sample is Nepali)."""
    text = re.sub(r"<(province|local_level)>[^<]*</\1>", "", xml.decode())
    text = re.sub(r"<country>[^<]*</country>", "<country>bd</country>", text, count=1)
    values = {"division": "55", "district": district, "upazila": UPAZILA[district],
              "union": UNION[district]}
    for name, value in reversed(values.items()):
        text, n = re.subn(rf"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", text, count=1)
        if n == 0:
            text = text.replace("<country>bd</country>",
                                f"<country>bd</country><{name}>{value}</{name}>", 1)
    return text


def add_plan(session: Any, blobs: Any, district: str, participant: str, prepared: str,
             key: str) -> int:
    """A Form 1 action plan (instanceID ``uuid:<key>``) in a union of ``district``."""
    xml = vary(_bangladesh(sample("hl_action_plan"), district), f"uuid:{key}",
               participant_name=participant, date_prepared=prepared)
    return submit(session, xml, {"signature.png": picture(200)}, blobs=blobs).submission_id


def add_followup(session: Any, blobs: Any, district: str, participant: str, plan_key: str,
                 period_type: str, start: str, end: str, followup_date: str) -> int:
    """A Form 2 follow-up of the plan ``plan_key`` covering ``start``–``end``."""
    xml = vary(_bangladesh(sample("hl_followup"), district), f"uuid:{uuid.uuid4()}",
               action_plan=plan_key, participant_name=participant, period_type=period_type,
               period_start=start, period_end=end, followup_date=followup_date)
    return submit(session, xml, blobs=blobs).submission_id


# --- The export tests' submissions -----------------------------------------------------------
# The real forms' samples, varied and sent through ``pipeline.ingest.accept``. ``Sent`` keeps what
# was sent, so tests can compute what an export must hold without the code under test.

SERVER = "https://sangjog.example.org"
DINAJPUR, GAZIPUR, KATHMANDU = "5527", "3033", "306"


@dataclass
class Sent:
    form_id: str
    instance_id: str
    xml: bytes
    received_at: datetime
    review_state: str = "received"
    answers: dict[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        """A top-level answer as the XML holds it (independent of the code under test)."""
        el = ElementTree.fromstring(self.xml).find(name)
        return el.text if el is not None else None

    def repeat_rows(self, name: str) -> list[dict[str, str | None]]:
        root = ElementTree.fromstring(self.xml)
        return [{child.tag: child.text for child in row} for row in root.findall(name)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NOMINATION_KEYS = {  # the keys ballot_candidates.csv offers (xlsforms/media sample)
    "c01": "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c01",
    "c02": "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c02",
    "c04": "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c04",
}
# voter role, picks: c02 gets 3 votes, c04 2, c01 1; the UNO may not vote.
BALLOTS = [("up_chairman", ["c02", "c04", "c01"]), ("up_member", ["c02", "c04"]),
           ("uno", ["c01", "c04"]), ("mayor", ["c02"])]
ELIGIBLE = {"up_chairman", "up_member", "up_member_reserved", "mayor", "councillor",
            "councillor_reserved", "upazila_chairman", "upazila_vice_chairman",
            "upazila_vice_chairman_female"}


def inspections() -> list[Sent]:
    base = sample("innovation_inspection")
    rows = [
        ("uuid:ex-d1", DINAJPUR, "55", "552710", "2026-07-05 09:00", "approved", "pilot_running"),
        ("uuid:ex-d2", DINAJPUR, "55", "552712", "2026-08-10 10:30", "has_issues", "idea"),
        ("uuid:ex-d3", DINAJPUR, "55", "552710", "2026-09-30 23:59", "received", "replicated"),
        ("uuid:ex-d4", DINAJPUR, "55", "552712", "2026-10-01 00:00", "received", "idea"),
        ("uuid:ex-g1", GAZIPUR, "30", "303334", "2026-08-01 08:00", "received", "idea"),
    ]
    sent = []
    for iid, district, division, upazila, when, state, stage in rows:
        answers = {"division": division, "district": district, "upazila": upazila, "stage": stage,
                   "inspector_name": f"পরিদর্শক {iid[-2:]}"}
        sent.append(Sent("innovation_inspection", iid, vary(base, iid, **answers), at(when), state,
                         answers))
    return sent


def workshop() -> list[Sent]:
    """Three nominations and four ballots at the Kaliganj (Gazipur) upazila workshop."""
    sent = []
    base = sample("hl_nomination")
    for short, key in NOMINATION_KEYS.items():
        answers = {"practice_title": f"ভালো শিখন {short}", "workshop_date": "2026-08-02"}
        iid = f"uuid:{key}"
        sent.append(Sent("hl_nomination", iid, vary(base, iid, **answers), at("2026-08-02 09:00"),
                         answers=answers))
    for i, (role, picks) in enumerate(BALLOTS):
        keys = [NOMINATION_KEYS[p] for p in picks]
        # The form refuses non-voters, so the UNO's ballot is one that arrived from elsewhere
        # (a KoBo pull): an eligible ballot with the role changed.
        filled_role = role if role in ELIGIBLE else "up_member"
        xml = sample_with("hl_ballot", (("/data/voter_role", filled_role),
                                        ("/data/picks", tuple(keys)), ("/data/priority", tuple(keys))))
        iid = f"uuid:ex-b{i}"
        answers = {"voter_name": f"ভোটার {i}", "voter_role": role, "ballot_date": "2026-08-02"}
        sent.append(Sent("hl_ballot", iid, vary(xml, iid, **answers), at("2026-08-02 12:00"),
                         answers={**answers, "picks": " ".join(keys)}))
    return sent


PLAN_KEY = "5d1c6a52-8b0e-4c7e-9f0a-3b2d1e4f5a62"  # offered by the sample action_plans.csv
NEPAL_PLACE = [("/data/country", "np"), ("/data/province", "3"), ("/data/district", KATHMANDU),
               ("/data/local_level", "30601")]


@functools.cache
def nepal_followup_xml() -> bytes:
    """The sample follow-up, answered for Kathmandu and linked to the Nepal plan."""
    from tests import formtools

    places = {"/data/country", "/data/division", "/data/district", "/data/upazila", "/data/union"}
    answers = NEPAL_PLACE + [(p, PLAN_KEY if p == "/data/action_plan" else v)
                             for p, v in formtools.SAMPLE_ANSWERS["hl_followup"] if p not in places]
    result = formtools.fill("hl_followup", answers)
    assert result.ok, (result.violations, result.errors)
    return result.xml


def plans() -> list[Sent]:
    """A Nepal action plan (the engine's sample, Kathmandu) and its quarterly follow-up."""
    plan_id = f"uuid:{PLAN_KEY}"
    return [Sent("hl_action_plan", plan_id, vary(sample("hl_action_plan"), plan_id),
                 at("2026-10-20 08:00")),
            Sent("hl_followup", "uuid:ex-f1", vary(nepal_followup_xml(), "uuid:ex-f1"),
                 at("2026-10-21 08:00"))]


def send(app: Any, session: Any, items: list[Sent]) -> None:
    """Submit each of ``items`` (with a signature and a photo), then commit."""
    for item in items:
        submit(session, item.xml, {"signature.png": b"png", "desk.jpg": b"jpg"},
               blobs=app.extensions["blobs"], submitter="phone-1", received_at=item.received_at,
               review_state=item.review_state)
    session.commit()


def load_all(app: Any, session: Any) -> dict[str, list[Sent]]:
    """The five forms published and inspections(), workshop() and plans() sent."""
    from tests import formtools

    formtools.publish_all(session)
    data = {"inspections": inspections(), "workshop": workshop(), "plans": plans()}
    for items in data.values():
        send(app, session, items)
    return data
