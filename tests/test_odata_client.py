"""A real OData client (``python-odata`` from PyPI) reads the feed over HTTP on 127.0.0.1: it
reflects ``$metadata`` into entity classes and reads every row, filtered and not."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import requests
from odata import ODataService

from pipeline import accounts
from tests import builders
from tests.builders import PASSWORD
from tests.fakes.serve import serving

pytestmark = pytest.mark.usefixtures("fast_hashing")
ROWS = 120


@pytest.fixture
def server(app):
    """The test's app on a free port of 127.0.0.1, on both databases (``tests.browser``'s
    ``server`` runs on SQLite only)."""
    with serving(app) as url:
        yield url


@pytest.fixture
def filled(db, blobs):
    builders.publish(db, "site_check")
    accounts.create_user(db, "analyst", PASSWORD, "supervisor", ["*"])
    db.commit()
    for n in range(ROWS):
        answers = {**builders.SITE_CHECK_ANSWERS, "progress": str(n)}
        out = builders.submit(db, builders.submission("site_check", answers,
                                                      instance_id=f"uuid:{uuid.uuid4()}"),
                              blobs=blobs)
        assert out.submission.parse_status == "ok"


@pytest.mark.parametrize("door", ["/odata", "/v1/projects/1/forms"])
def test_a_real_client_reads_every_row(server, filled, door):
    session = requests.Session()
    session.auth = ("analyst", PASSWORD)
    service = ODataService(f"{server}{door}/site_check.svc/", session=session,
                           reflect_entities=True)
    assert set(service.entities) == {"Submissions", "Submissions.photos",
                                     "Submissions.photos.marks"}
    submissions = service.entities["Submissions"]
    rows = service.query(submissions).all()
    assert sorted(r.progress for r in rows) == list(range(ROWS))
    assert {r.score for r in rows} == {Decimal("7.5")}
    assert {r.visited_at.isoformat() for r in rows} == {"2024-01-15T04:30:00+00:00"}
    few = service.query(submissions).filter(submissions.progress >= 100).all()
    assert sorted(r.progress for r in few) == list(range(100, ROWS))
    photos = service.query(service.entities["Submissions.photos"]).all()
    assert len(photos) == 2 * ROWS
    marks = service.query(service.entities["Submissions.photos.marks"]).all()
    assert sorted({m.n for m in marks}) == [1, 2] and len(marks) == 2 * ROWS
