"""Importing filled forms copied off a phone: a Collect ``instances/`` folder and an ODK Briefcase
storage folder, made by filling the real forms with ODK's engine. Every answer and photo
round-trips; known instances are skipped; bad ones are refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.connectors.instances import import_instances
from pipeline.models import PullRun, Submission
from pipeline.problems import Problem
from tests import builders, formtools
from tests.fakes.expected import assert_answers_in_warehouse

DESK = b"\xff\xd8\xff\xe0desk photo" + bytes(range(256)) * 20 + b"\xff\xd9"
QUEUE = b"\xff\xd8\xff\xe0queue photo" + bytes(range(255, -1, -1)) * 20 + b"\xff\xd9"
SIGNATURE = b"\x89PNG\r\n\x1a\nsignature strokes" + b"\x00\x01" * 300
MEDIA = {"desk.jpg": DESK, "queue.jpg": QUEUE, "signature.png": SIGNATURE}


def collect_folder(root: Path, form_id: str, stamp: str, xml: bytes,
                   media: dict[str, bytes]) -> Path:
    """What Collect keeps for one filled form: instances/{form}_{time}/{form}_{time}.xml + media."""
    folder = root / "instances" / f"{form_id}_{stamp}"
    folder.mkdir(parents=True)
    (folder / f"{form_id}_{stamp}.xml").write_bytes(xml)
    for name, content in media.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.fixture
def published(session):
    return formtools.publish_all(session)


@pytest.fixture
def phone(tmp_path) -> Path:
    """A realistic copy of a phone's odk/ folder: two filled forms and the forms themselves."""
    root = tmp_path / "odk"
    collect_folder(root, "innovation_inspection", "2026-11-10_10-15-31",
                   builders.sample("innovation_inspection"), MEDIA)
    collect_folder(root, "hl_action_plan", "2026-10-20_16-02-11",
                   builders.sample("hl_action_plan"),
                   {"signature.png": SIGNATURE, ".nomedia": b""})
    forms = root / "forms"
    forms.mkdir()
    built = formtools.built_forms()["hl_action_plan"]
    (forms / "hl_action_plan.xml").write_bytes(built.xml)  # a form, not a filled one: ignored
    return root


def stored(session) -> dict[str, Submission]:
    session.rollback()
    return {s.instance_id: s for s in session.scalars(select(Submission))}


def test_a_collect_instances_folder_round_trips_every_answer_and_photo(app, session, published,
                                                                       phone):
    blobs = app.extensions["blobs"]
    report = import_instances(session, blobs, phone)
    inspection, plan = builders.sample("innovation_inspection"), builders.sample("hl_action_plan")
    inspection_id, plan_id = builders.instance_id_of(inspection), builders.instance_id_of(plan)
    assert sorted(report.imported) == sorted([inspection_id, plan_id])
    assert (report.skipped, report.refused, report.incomplete) == ([], [], [])
    subs = stored(session)
    sub = subs[inspection_id]
    assert sub.xml == inspection and sub.source == "import"
    assert sub.source_ref == "instances/innovation_inspection_2026-11-10_10-15-31/" \
                             "innovation_inspection_2026-11-10_10-15-31.xml"
    assert {a.name: blobs.get(a.sha256) for a in sub.attachments} == MEDIA
    assert {a.name for a in subs[plan_id].attachments} == {"signature.png"}
    assert_answers_in_warehouse(session, "innovation_inspection", inspection_id)
    assert_answers_in_warehouse(session, "hl_action_plan", plan_id)
    run = session.get(PullRun, report.run_id)
    assert (run.kind, run.status, run.new, run.skipped, run.errors) == ("import", "ok", 2, 0, 0)


def test_importing_again_skips_what_is_already_here(app, session, published, phone):
    blobs = app.extensions["blobs"]
    import_instances(session, blobs, phone)
    again = import_instances(session, blobs, phone)
    assert (again.imported, again.refused) == ([], [])
    assert len(again.skipped) == 2
    assert len(stored(session)) == 2


def test_an_instance_already_sent_from_collect_is_skipped(app, client, session, published, phone):
    xml = builders.sample("hl_action_plan")
    key = builders.app_user(session).token
    resp = builders.submit(client, xml, {"signature.png": SIGNATURE}, via="http", key=key)
    assert resp.status_code == 201
    report = import_instances(session, app.extensions["blobs"], phone)
    assert report.skipped == [builders.instance_id_of(xml)]
    assert stored(session)[builders.instance_id_of(xml)].source == "collect"


def test_a_briefcase_storage_folder_is_imported(app, session, published, tmp_path):
    xml = builders.sample("innovation_inspection")
    storage = tmp_path / "ODK Briefcase Storage" / "forms" / "Innovation inspection" / "instances"
    folder = storage / builders.instance_id_of(xml).replace(":", "")
    folder.mkdir(parents=True)
    (folder / "submission.xml").write_bytes(xml)
    for name, content in MEDIA.items():
        (folder / name).write_bytes(content)
    report = import_instances(session, app.extensions["blobs"], tmp_path / "ODK Briefcase Storage")
    assert report.imported == [builders.instance_id_of(xml)]
    assert len(stored(session)[builders.instance_id_of(xml)].attachments) == 3


def test_bad_instances_are_refused_with_reasons_and_the_rest_imported(app, session, published,
                                                                      tmp_path):
    root = tmp_path / "instances-copy"
    good = builders.sample("hl_action_plan")
    collect_folder(root, "hl_action_plan", "2026-10-20_16-02-11", good, {})  # photo not copied
    collect_folder(root, "broken", "2026-10-21_09-00-00", good[: len(good) // 2], {})
    collect_folder(root, "other", "2026-10-21_09-30-00",
                   good.replace(b'id="hl_action_plan"', b'id="not_published_here"'), {})
    encrypted = root / "instances" / "secret_2026-10-22_08-00-00"
    encrypted.mkdir()
    (encrypted / "submission.xml.enc").write_bytes(b"\x00encrypted bytes")
    report = import_instances(session, app.extensions["blobs"], root)
    assert report.imported == [builders.instance_id_of(good)]
    reasons = dict(report.refused)
    assert len(reasons) == 3
    assert "not well-formed XML" in reasons["instances/broken_2026-10-21_09-00-00/"
                                            "broken_2026-10-21_09-00-00.xml"]
    assert "not_published_here" in reasons["instances/other_2026-10-21_09-30-00/"
                                           "other_2026-10-21_09-30-00.xml"]
    assert "encrypted" in reasons["instances/secret_2026-10-22_08-00-00/submission.xml.enc"]
    assert report.incomplete == [("instances/hl_action_plan_2026-10-20_16-02-11/"
                                  "hl_action_plan_2026-10-20_16-02-11.xml", ["signature.png"])]
    run = session.get(PullRun, report.run_id)
    assert (run.status, run.new, run.errors) == ("incomplete", 1, 3)
    assert "not_published_here" in run.message


def test_a_missing_folder_is_a_clear_problem(app, session, tmp_path):
    with pytest.raises(Problem) as caught:
        import_instances(session, app.extensions["blobs"], tmp_path / "nowhere")
    assert caught.value.code == "import.not_found"


def test_an_edit_is_imported_after_the_instance_it_replaces(app, session, tmp_path):
    builders.publish(session, "site_visit")
    root = tmp_path / "instances"
    # Folder order puts the edit first; it must still land as an edit of the original.
    collect_folder(tmp_path, "a_edit", "2026-11-02_10-00-00",
                   builders.site_visit("uuid:v2", name="Fixed", deprecated_id="uuid:v1"), {})
    collect_folder(tmp_path, "b_original", "2026-11-01_10-00-00",
                   builders.site_visit("uuid:v1", name="Typo"), {})
    report = import_instances(session, app.extensions["blobs"], root)
    assert report.imported == ["uuid:v1", "uuid:v2"]
    subs = stored(session)
    assert subs["uuid:v2"].root_id == "uuid:v1" and subs["uuid:v2"].current
    assert not subs["uuid:v1"].current
