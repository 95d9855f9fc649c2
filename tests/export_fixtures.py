"""Submissions for the export tests: the real forms filled by ODK's engine, varied, and sent
through ``pipeline.ingest.accept``.

Each form is filled by the engine once (``formtools.sample_submission``); variants change the
instanceID and top-level answers in that XML, so every submission is what Collect would send.
``SPEC`` lists what was sent, so tests can compute what an export must hold without the code
under test.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree

from sqlalchemy.orm import Session

from pipeline.ingest import Incoming, accept
from tests import formtools

SERVER = "https://sangjog.example.org"
DINAJPUR, GAZIPUR, KATHMANDU = "5527", "3033", "306"


@functools.cache
def engine_xml(form_id: str) -> bytes:
    return formtools.sample_submission(form_id)


@functools.cache
def engine_xml_with(form_id: str, changes: tuple[tuple[str, object], ...]) -> bytes:
    """The engine's submission for the sample answers with some answers replaced or dropped."""
    wanted = dict(changes)
    answers = [(p, wanted.get(p, v)) for p, v in formtools.SAMPLE_ANSWERS[form_id] if wanted.get(p, v) is not None]
    answers += [(p, v) for p, v in changes if v is not None and p not in dict(answers)]
    result = formtools.fill(form_id, answers)
    assert result.ok, (result.violations, result.errors)
    return result.xml


def vary(xml: bytes, instance_id: str, **answers: str) -> bytes:
    """Same submission with another instanceID and other values for top-level fields."""
    text = xml.decode()
    text, n = re.subn(r"(<(?:\w+:)?instanceID>)[^<]*(</(?:\w+:)?instanceID>)",
                      rf"\g<1>{instance_id}\g<2>", text, count=1)
    assert n == 1
    for name, value in answers.items():
        text, n = re.subn(rf"<{name}>[^<]*</{name}>|<{name}/>", f"<{name}>{value}</{name}>", text, count=1)
        assert n == 1, name
    return text.encode()


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
        root = ElementTree.fromstring(self.xml)
        el = root.find(name)
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
    base = engine_xml("innovation_inspection")
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
    base = engine_xml("hl_nomination")
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
        xml = engine_xml_with("hl_ballot", (("/data/voter_role", filled_role),
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
    places = {"/data/country", "/data/division", "/data/district", "/data/upazila", "/data/union"}
    answers = NEPAL_PLACE + [(p, PLAN_KEY if p == "/data/action_plan" else v)
                             for p, v in formtools.SAMPLE_ANSWERS["hl_followup"] if p not in places]
    result = formtools.fill("hl_followup", answers)
    assert result.ok, (result.violations, result.errors)
    return result.xml


def plans() -> list[Sent]:
    """A Nepal action plan (the engine's sample, Kathmandu) and its quarterly follow-up."""
    plan_id = f"uuid:{PLAN_KEY}"
    return [Sent("hl_action_plan", plan_id, vary(engine_xml("hl_action_plan"), plan_id),
                 at("2026-10-20 08:00")),
            Sent("hl_followup", "uuid:ex-f1", vary(nepal_followup_xml(), "uuid:ex-f1"),
                 at("2026-10-21 08:00"))]


def send(app, session: Session, items: list[Sent]) -> None:
    blobs = app.extensions["blobs"]
    for item in items:
        outcome = accept(session, blobs, Incoming(
            item.xml, files={"signature.png": b"png", "desk.jpg": b"jpg"}, submitter="phone-1",
            received_at=item.received_at, review_state=item.review_state))
        assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    session.commit()


def load_all(app, session: Session) -> dict[str, list[Sent]]:
    formtools.publish_all(session)
    data = {"inspections": inspections(), "workshop": workshop(), "plans": plans()}
    for items in data.values():
        send(app, session, items)
    return data
