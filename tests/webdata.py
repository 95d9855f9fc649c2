"""Data for the web tests: users of every role, a project registry and inspection submissions
in two districts of Rangpur division, sent through the real ingest path with real photos.

    from tests import webdata
    world = webdata.seed(session, blobs)        # World with users and submission ids
    webdata.login(client, "sup_rangpur")         # a logged-in test client

Rangpur (5585) and Kurigram (5549) are the two districts; every scope test compares them.
"""

from __future__ import annotations

import functools
import io
import re
import uuid
from dataclasses import dataclass, field

import png
import pytest

from pipeline import accounts
from pipeline.domain import projects
from pipeline.ingest import Incoming, accept
from pipeline.storage import BlobStore

PASSWORD = "correct horse battery"
RANGPUR, KURIGRAM = "5585", "5549"
UPAZILA = {RANGPUR: "558503", KURIGRAM: "554906"}  # Badarganj, Bhurungamari
PROJECT = {RANGPUR: "RNG-2026-101", KURIGRAM: "KUR-2026-201"}

USERS = {  # username -> (role, scope)
    "admin": ("admin", ["*"]),
    "sup_rangpur": ("supervisor", [f"bd_district:{RANGPUR}"]),
    "sup_division": ("supervisor", ["bd_division:55"]),
    "do_rangpur": ("district_officer", [f"bd_district:{RANGPUR}"]),
    "do_kurigram": ("district_officer", [f"bd_district:{KURIGRAM}"]),
    "do_dhaka": ("district_officer", ["bd_district:3026"]),
}

REGISTRY = (
    "code,title_en,title_bn,division,district,upazila,office,started_on,category\n"
    f"{PROJECT[RANGPUR]},Mobile land records desk,ভ্রাম্যমাণ ভূমি রেকর্ড ডেস্ক,55,{RANGPUR},"
    f"{UPAZILA[RANGPUR]},DC Office Rangpur,2026-01-10,land\n"
    f"{PROJECT[KURIGRAM]},Char school attendance by SMS,চরের স্কুলে এসএমএসে উপস্থিতি,55,{KURIGRAM},"
    f"{UPAZILA[KURIGRAM]},DC Office Kurigram,2026-02-01,education\n"
)


@pytest.fixture
def fast_hashing(monkeypatch):
    """argon2 with its cheapest settings: the web tests log in hundreds of times, and the cost
    parameters are stored in each hash, so verification still runs the real algorithm."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


@pytest.fixture
def db(app):
    """A session on the test's database that, unlike ``session``, pushes no app context: the
    app's requests then each get their own ``g``, as they do in production."""
    s = app.extensions["sessions"]()
    yield s
    s.close()


@pytest.fixture
def blobs(app) -> BlobStore:
    return app.extensions["blobs"]


@pytest.fixture
def world(db, blobs):
    """Users of every role, the registry, and two inspections in each of the two districts."""
    return seed(db, blobs)


@dataclass
class World:
    submissions: dict[str, list[int]] = field(default_factory=dict)  # district code -> ids
    photo: bytes = b""

    def first(self, district: str) -> int:
        return self.submissions[district][0]


@functools.cache
def picture(shade: int = 90) -> bytes:
    """A small real PNG (64×48, a green gradient) so browsers draw an actual thumbnail."""
    rows = [[(x * 3) % 256 if c == 0 else shade + y if c == 1 else 120
             for x in range(64) for c in range(3)] for y in range(48)]
    out = io.BytesIO()
    png.Writer(64, 48, greyscale=False).write(out, rows)
    return out.getvalue()


@functools.cache
def _sample_xml() -> str:
    from tests import formtools

    return formtools.sample_submission("innovation_inspection").decode("utf-8")


def inspection_xml(district: str, progress: int, visit_date: str = "2026-11-10",
                   inspector: str = "Farhana Yasmin", stage: str = "pilot_running") -> bytes:
    """The engine-filled sample, moved to ``district`` with a new instanceID and answers."""
    xml = _sample_xml()
    values = {"district": district, "upazila": UPAZILA[district], "project": PROJECT[district],
              "progress": str(progress), "visit_date": visit_date, "inspector_name": inspector,
              "stage": stage}
    for name, value in values.items():
        xml, n = re.subn(rf"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", xml, count=1)
        assert n == 1, f"sample inspection has no <{name}>"
    xml = re.sub(r"<instanceID>[^<]*</instanceID>", f"<instanceID>uuid:{uuid.uuid4()}</instanceID>",
                 xml, count=1)
    return xml.encode("utf-8")


def add_inspection(session, blobs: BlobStore, district: str, progress: int,
                   files: dict[str, bytes] | None = None, **answers) -> int:
    files = {"desk.jpg": picture(), "queue.jpg": picture(140), "signature.png": picture(200),
             **(files or {})}
    outcome = accept(session, blobs, Incoming(inspection_xml(district, progress, **answers),
                                              files=files, submitter="phone-1"))
    assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome.submission.id


def edit_inspection(session, blobs: BlobStore, submission_id: int, progress: int) -> int:
    """Send an edit of a stored inspection (as Collect does): new instanceID, deprecatedID."""
    from pipeline.models import Submission

    old = session.get(Submission, submission_id)
    xml = old.xml.decode("utf-8")
    xml = re.sub(r"<progress>[^<]*</progress>", f"<progress>{progress}</progress>", xml, count=1)
    xml = re.sub(r"<instanceID>[^<]*</instanceID>",
                 f"<instanceID>uuid:{uuid.uuid4()}</instanceID>"
                 f"<deprecatedID>{old.instance_id}</deprecatedID>", xml, count=1)
    files = {"desk.jpg": picture(), "queue.jpg": picture(140), "signature.png": picture(200)}
    outcome = accept(session, blobs, Incoming(xml.encode("utf-8"), files=files,
                                              submitter="phone-1"))
    assert outcome.status == "edited", outcome.status
    return outcome.submission.id


@functools.cache
def _sample(form_id: str) -> str:
    from tests import formtools

    return formtools.sample_submission(form_id).decode("utf-8")


def _with(xml: str, **values: str) -> bytes:
    for name, value in values.items():
        xml, n = re.subn(rf"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", xml, count=1)
        assert n == 1, f"sample has no <{name}>"
    return xml.encode("utf-8")


def add_workshop(session, blobs: BlobStore, practices: dict[str, str],
                 ballots: list[list[str]]) -> None:
    """A Gazipur (3033) upazila workshop: nominations (key -> title) and UP chairmen's ballots
    picking nomination keys."""
    for key, title in practices.items():
        accept(session, blobs, Incoming(_with(_sample("hl_nomination"), practice_title=title,
                                              instanceID=f"uuid:{key}")))
    for n, picks in enumerate(ballots):
        accept(session, blobs, Incoming(_with(_sample("hl_ballot"), voter_name=f"Voter {n}",
                                              picks=" ".join(picks), priority=" ".join(picks),
                                              instanceID=f"uuid:{uuid.uuid4()}")))


def add_district_workshop(session, blobs: BlobStore, district: str, practices: dict[str, str],
                          ballots: list[tuple[str, str, list[str]]]) -> None:
    """Nominations (key -> title) and ballots (voter, role, picked keys) of the workshop held
    in ``district``'s test upazila."""
    place = {"division": "55", "district": district, "upazila": UPAZILA[district]}
    for key, title in practices.items():
        xml = _with(_sample("hl_nomination"), **place, practice_title=title,
                    workshop_date="2026-11-12", instanceID=f"uuid:{key}")
        assert accept(session, blobs, Incoming(xml)).submission.parse_status == "ok"
    for voter, role, picks in ballots:
        xml = _with(_sample("hl_ballot"), **place, voter_name=voter,
                    voter_role=role, ballot_date="2026-11-12", picks=" ".join(picks),
                    priority=" ".join(picks), instanceID=f"uuid:{uuid.uuid4()}")
        assert accept(session, blobs, Incoming(xml)).submission.parse_status == "ok"


@pytest.fixture
def workshops(world, db, blobs):
    """Workshops in both districts: ties, a second ballot, a staff ballot and six picks in
    Rangpur; one nomination and ballot in Kurigram."""
    many = [f"r-extra-{i}" for i in range(6)]
    add_district_workshop(db, blobs, RANGPUR,
                          {"r-desk": "Rangpur land desk", "r-sms": "Rangpur SMS reminders",
                  "r-wall": "Rangpur budget wall"},
                          [("Amina Khatun", "up_chairman", ["r-desk", "r-sms"]),
                           ("Babul Mia", "up_member", ["r-desk", "r-wall"]),
                           ("amina khatun.", "up_chairman", ["r-wall"]),  # her second ballot
                           ("Chanda Rani", "up_secretary", ["r-wall"]),  # staff do not vote
                           ("Dulal Hossain", "mayor", many)])  # six picks
    add_district_workshop(db, blobs, KURIGRAM, {"k-boat": "Kurigram boat school"},
                          [("Eti Begum", "up_chairman", ["k-boat"])])


def seed(session, blobs: BlobStore, per_district: int = 2) -> World:
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


def login(client, username: str, password: str = PASSWORD):
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


UNION = {RANGPUR: "55850318", KURIGRAM: "55490613"}  # Bishnupur (Badarganj), Andhari Jhar


def _bangladesh(xml: str, district: str) -> str:
    """The sample moved to a Bangladesh union of ``district`` (the plan's sample is Nepali)."""
    xml = re.sub(r"<(province|local_level)>[^<]*</\1>", "", xml)
    xml = re.sub(r"<country>[^<]*</country>", "<country>bd</country>", xml, count=1)
    values = {"division": "55", "district": district, "upazila": UPAZILA[district],
              "union": UNION[district]}
    for name, value in reversed(values.items()):
        xml, n = re.subn(rf"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", xml, count=1)
        if n == 0:
            xml = xml.replace("<country>bd</country>",
                              f"<country>bd</country><{name}>{value}</{name}>", 1)
    return xml


def add_plan(session, blobs: BlobStore, district: str, participant: str, prepared: str,
             key: str) -> int:
    """A Form 1 action plan (instanceID ``uuid:<key>``) in a union of ``district``."""
    xml = _with(_bangladesh(_sample("hl_action_plan"), district), participant_name=participant,
                date_prepared=prepared, instanceID=f"uuid:{key}")
    outcome = accept(session, blobs, Incoming(xml, files={"signature.png": picture(200)}))
    assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome.submission.id


def add_followup(session, blobs: BlobStore, district: str, participant: str, plan_key: str,
                 period_type: str, start: str, end: str, followup_date: str) -> int:
    """A Form 2 follow-up of the plan ``plan_key`` covering ``start``–``end``."""
    xml = _with(_bangladesh(_sample("hl_followup"), district), action_plan=plan_key,
                participant_name=participant, period_type=period_type, period_start=start,
                period_end=end, followup_date=followup_date,
                instanceID=f"uuid:{uuid.uuid4()}")
    outcome = accept(session, blobs, Incoming(xml))
    assert outcome.submission.parse_status == "ok", outcome.submission.parse_error
    return outcome.submission.id
