"""Collect's submission door as an attacker with a low-privilege account uses it: a web user
through HTTP Basic and an app user with an area may send only inside their area, and an edit
may replace only a submission its writer may see. Refused means 403 and nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pipeline import accounts
from pipeline.models import Submission
from tests import builders
from tests.builders import KURIGRAM, PASSWORD, PROJECT, RANGPUR, UPAZILA, inspection_xml

pytestmark = pytest.mark.usefixtures("fast_hashing")


def send(client, xml: bytes, *, user: str | None = None, key: str | None = None):
    """Post ``xml`` as Collect does, as the web user ``user`` (HTTP Basic) or with an app key."""
    return builders.submit(client, xml, via="http", key=key,
                           user=(user, PASSWORD) if user else None)


def stored(db, iid: str) -> Submission | None:
    db.rollback()
    return db.scalar(select(Submission).where(Submission.instance_id == iid))


def edit_of(db, submission_id: int, district: str) -> bytes:
    """An edit of a stored inspection, its place changed to ``district``."""
    return builders.edit(db.get(Submission, submission_id).xml, district=district,
                         upazila=UPAZILA[district], project=PROJECT[district], progress=99)


def test_a_scoped_supervisor_through_basic_sends_only_inside_the_area(client, db, world):
    inside, outside = inspection_xml(RANGPUR, 10), inspection_xml(KURIGRAM, 10)
    assert send(client, inside, user="sup_rangpur").status_code == 201
    refused = send(client, outside, user="sup_rangpur")
    assert refused.status_code == 403
    assert b"may send submissions only for Rangpur" in refused.data
    assert stored(db, builders.instance_id_of(inside)) is not None
    assert stored(db, builders.instance_id_of(outside)) is None


def test_an_edit_of_another_areas_submission_is_refused_and_changes_nothing(client, db, world):
    kurigram_id = world.first(KURIGRAM)
    edit = edit_of(db, kurigram_id, RANGPUR)  # placed inside the area, replacing outside it
    assert send(client, edit, user="sup_rangpur").status_code == 403
    assert stored(db, builders.instance_id_of(edit)) is None
    assert db.get(Submission, kurigram_id).current is True
    # The admin may: the same edit is stored and becomes the current version.
    assert send(client, edit, user="admin").status_code == 201
    assert stored(db, builders.instance_id_of(edit)).current is True


def test_a_district_officer_through_basic_is_read_only(client, db, world):
    xml = inspection_xml(RANGPUR, 10)
    refused = send(client, xml, user="do_rangpur")
    assert refused.status_code == 403
    assert b"may read submissions but not send them" in refused.data
    assert stored(db, builders.instance_id_of(xml)) is None


def test_an_app_user_with_an_area_sends_only_inside_it(client, db, world):
    scoped = accounts.create_app_user(db, "rangpur-phone", [], actor="test",
                                      scope=[f"bd_district:{RANGPUR}"]).token
    everywhere = accounts.create_app_user(db, "any-phone", [], actor="test").token
    inside, outside = inspection_xml(RANGPUR, 10), inspection_xml(KURIGRAM, 10)
    assert send(client, inside, key=scoped).status_code == 201
    assert send(client, outside, key=scoped).status_code == 403
    assert stored(db, builders.instance_id_of(outside)) is None
    # Sent again the plain, one-statement way: the area is still checked before it.
    again = inspection_xml(KURIGRAM, 11)
    assert send(client, again, key=scoped).status_code == 403
    assert send(client, again, key=everywhere).status_code == 201
    edit = edit_of(db, world.first(KURIGRAM), RANGPUR)
    assert send(client, edit, key=scoped).status_code == 403
    assert stored(db, builders.instance_id_of(edit)) is None
