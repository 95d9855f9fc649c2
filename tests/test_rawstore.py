"""The raw store on its own: pure envelope reading, statuses, and racing identical uploads."""

from __future__ import annotations

import threading
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pipeline import rawstore
from pipeline.ingest import Incoming, accept
from pipeline.models import Attachment, Submission
from pipeline.problems import Problem
from pipeline.storage import BlobStore
from tests import builders


def test_envelope_reads_form_version_and_ids_in_any_namespace():
    env = rawstore.read_envelope(builders.site_visit("uuid:9", version="3", deprecated_id="uuid:8"))
    assert (env.form_id, env.version, env.instance_id, env.deprecated_id) == (
        "site_visit", "3", "uuid:9", "uuid:8")
    plain = (b'<data xmlns="http://opendatakit.org/submissions" id="f"><meta>'
             b"<instanceID>uuid:p</instanceID></meta></data>")
    env = rawstore.read_envelope(plain)
    assert (env.form_id, env.version, env.instance_id, env.deprecated_id) == ("f", "", "uuid:p", None)


def test_binary_fields_come_from_the_form_binds():
    xform = builders.built("site_visit").xml
    paths = rawstore.binary_paths(xform)
    assert paths == {"/site_visit/photo", "/site_visit/rows/snap"}
    root = rawstore.read_envelope(builders.site_visit(photo="p.jpg", snaps=("a.jpg", "",
                                                                            "p.jpg"))).root
    assert rawstore.binary_values(root, paths) == ["p.jpg", "a.jpg"]


@pytest.mark.parametrize(("name", "plain"), [
    ("photo.jpg", True), ("১৭০০.jpg", True), ("a/b.jpg", False), ("..\\b.jpg", False),
    ("..", False), ("", False), ("x\x00.jpg", False), ("x" * 300 + ".jpg", False),
])
def test_plain_names(name, plain):
    assert rawstore.is_plain_name(name) is plain


def _incoming(xml: bytes, files: dict[str, bytes] | None = None) -> Incoming:
    return Incoming(xml=xml, files=files or {}, submitter="tester")


def test_statuses_of_create_resend_and_edit(session, tmp_path):
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path / "blobs")
    xml = builders.site_visit(photo="a.jpg", snaps=("b.jpg",))
    assert accept(session, blobs, _incoming(xml, {"a.jpg": builders.JPEG}),
                  load=False).status == "created"
    assert accept(session, blobs, _incoming(xml), load=False).status == "duplicate"
    outcome = accept(session, blobs, _incoming(xml, {"b.jpg": builders.JPEG}), load=False)
    assert outcome.status == "attachments_added"
    assert [a.name for a in outcome.submission.attachments] == ["a.jpg", "b.jpg"]
    assert outcome.submission.attachments[0].sha256 == outcome.submission.attachments[1].sha256
    edit = builders.site_visit("uuid:2", deprecated_id="uuid:0001", photo="a.jpg")
    edited = accept(session, blobs, _incoming(edit), load=False)
    assert edited.status == "edited" and edited.is_new
    assert [a.name for a in edited.submission.attachments] == ["a.jpg"]
    assert edited.submission.attachments_expected == 1


def test_edit_of_an_unknown_instance_is_kept_as_new(session, tmp_path):
    builders.publish(session, "site_visit")
    xml = builders.site_visit("uuid:new", deprecated_id="uuid:never-seen")
    outcome = accept(session, BlobStore(tmp_path), _incoming(xml), load=False)
    assert outcome.status == "created"
    assert outcome.submission.root_id == "uuid:new" and outcome.submission.current


def test_an_original_arriving_after_its_edit_joins_the_chain_as_the_older_version(
        client, session):
    """Collect on a second phone sends the edit first: both get a 201, one version is current."""
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    original = builders.site_visit("uuid:late-1", name="Rina", photo="a.jpg")
    edit = builders.site_visit("uuid:late-2", deprecated_id="uuid:late-1", name="Rina Das",
                          photo="a.jpg")

    def post(xml: bytes, files: dict[str, bytes] | None = None) -> int:
        return builders.submit(client, xml, files, via="http", key=key).status_code

    assert post(edit, {"a.jpg": builders.JPEG}) == 201
    assert post(original, {"a.jpg": builders.JPEG}) == 201
    assert post(original) == 201  # a resend of the late original is still a duplicate
    session.rollback()
    found = {s.instance_id: s for s in session.scalars(select(Submission))}
    assert {i: (s.root_id, s.current) for i, s in found.items()} == {
        "uuid:late-1": ("uuid:late-1", False), "uuid:late-2": ("uuid:late-1", True)}
    assert found["uuid:late-1"].xml == original and found["uuid:late-2"].xml == edit
    assert found["uuid:late-2"].deprecated_id == "uuid:late-1"


@pytest.mark.parametrize("order", ["BAC", "BCA", "ACB", "CAB", "CBA"])
def test_a_chain_of_edits_in_any_order_has_one_current_version(session, tmp_path, order):
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path)
    xml = {"A": builders.site_visit("uuid:A"),
           "B": builders.site_visit("uuid:B", deprecated_id="uuid:A", name="B"),
           "C": builders.site_visit("uuid:C", deprecated_id="uuid:B", name="C")}
    for letter in order:
        assert accept(session, blobs, _incoming(xml[letter]), load=False).status in ("created", "edited")
    session.rollback()
    found = {s.instance_id: (s.root_id, s.current, s.xml) for s in session.scalars(select(Submission))}
    assert found == {"uuid:A": ("uuid:A", False, xml["A"]), "uuid:B": ("uuid:A", False, xml["B"]),
                     "uuid:C": ("uuid:A", True, xml["C"])}


def test_two_edits_stored_before_their_original_leave_the_last_received_current(session, tmp_path):
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path)
    for instance_id in ("uuid:F1", "uuid:F2"):
        accept(session, blobs, _incoming(builders.site_visit(instance_id,
                                                             deprecated_id="uuid:F0")), load=False)
    assert accept(session, blobs, _incoming(builders.site_visit("uuid:F0")),
                  load=False).status == "created"
    session.rollback()
    found = {s.instance_id: (s.root_id, s.current) for s in session.scalars(select(Submission))}
    assert found == {"uuid:F0": ("uuid:F0", False), "uuid:F1": ("uuid:F0", False),
                     "uuid:F2": ("uuid:F0", True)}


def test_refusals_write_no_row(session, tmp_path):
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path)
    accept(session, blobs, _incoming(builders.site_visit()), load=False)
    with pytest.raises(Problem) as conflict:
        accept(session, blobs, _incoming(builders.site_visit(name="changed")), load=False)
    assert conflict.value.status == 409
    with pytest.raises(Problem) as unknown:
        accept(session, blobs, _incoming(builders.site_visit("uuid:x", version="7")), load=False)
    assert unknown.value.status == 404
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == 1


def test_racing_identical_uploads_end_in_one_row(app, session, tmp_path):
    """Two retries of the same submission arrive together: both succeed, one row remains."""
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path / "blobs")
    make_session = app.extensions["sessions"]
    rounds, racers = 5, 4
    for n in range(rounds):
        xml = builders.site_visit(f"uuid:race-{n}", photo="a.jpg")
        start = threading.Barrier(racers)
        statuses: list[str] = []
        errors: list[BaseException] = []

        def upload(xml: bytes = xml, start: threading.Barrier = start,
                   statuses: list[str] = statuses, errors: list[BaseException] = errors) -> None:
            with make_session() as own:
                start.wait(timeout=10)
                try:
                    statuses.append(accept(own, blobs, _incoming(xml, {"a.jpg": builders.JPEG}),
                                           load=False).status)
                except BaseException as exc:  # collected and asserted below
                    errors.append(exc)

        threads = [threading.Thread(target=upload) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        assert sorted(statuses) == ["created"] + ["duplicate"] * (racers - 1)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == rounds
    assert session.scalar(select(func.count()).select_from(Attachment)) == rounds


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_read_or_refused_with_a_400(data):
    try:
        rawstore.read_envelope(data)
    except Problem as problem:
        assert problem.status == 400 and problem.message


def test_every_truncation_of_a_submission_is_a_400():
    xml = builders.site_visit(photo="p.jpg", deprecated_id="uuid:0")
    for cut in range(len(xml)):
        with pytest.raises(Problem) as refused:
            rawstore.read_envelope(xml[:cut])
        assert refused.value.status == 400


def test_the_outcome_shows_the_stored_row_even_when_the_caller_held_an_older_copy(session, tmp_path):
    """Importers read a stored submission (and its files) before sending the rest of its files:
    the outcome must show the files just added, not the copy the session already held."""
    builders.publish(session, "site_visit")
    blobs = BlobStore(tmp_path / "blobs")
    xml = builders.site_visit(photo="a.jpg", snaps=("b.jpg",))
    accept(session, blobs, _incoming(xml, {"a.jpg": builders.JPEG}), load=False)
    held = session.scalar(select(Submission).where(Submission.instance_id == "uuid:0001"))
    assert [a.name for a in held.attachments] == ["a.jpg"]
    session.commit()
    outcome = accept(session, blobs, _incoming(xml, {"b.jpg": builders.JPEG}), load=False)
    assert outcome.status == "attachments_added"
    assert [a.name for a in outcome.submission.attachments] == ["a.jpg", "b.jpg"]
    edit = builders.site_visit("uuid:2", deprecated_id="uuid:0001", photo="a.jpg")
    accept(session, blobs, _incoming(edit), load=False)
    assert accept(session, blobs, _incoming(xml), load=False).submission.current is False


def _tree(draw_spec) -> ElementTree.Element:
    """An element tree from nested (tag, text, children) tuples."""
    tag, text, children = draw_spec
    element = ElementTree.Element(tag)
    element.text = text
    element.extend(_tree(child) for child in children)
    return element


_TAGS = st.sampled_from(["a", "b", "snap", "{http://openrosa.org/xforms}a", "{urn:x}snap"])
_NODES = st.recursive(
    st.tuples(_TAGS, st.sampled_from(["", "x.jpg", "y.jpg", " z.jpg "]), st.just([])),
    lambda children: st.tuples(_TAGS, st.sampled_from(["", "x.jpg", "w.jpg"]),
                               st.lists(children, max_size=4)),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_NODES, st.lists(st.lists(st.sampled_from(["a", "b", "snap"]), min_size=1, max_size=3),
                        min_size=1, max_size=3))
def test_file_names_are_found_as_elementpath_finds_them_in_any_namespace(spec, steps):
    """The binary fields' values, by local name in any namespace, in document order, each once:
    what ElementPath's ``{*}`` wildcards find, walked more quickly."""
    root = _tree(("data", "", [spec]))
    paths = frozenset("/data/" + "/".join(path) for path in steps)
    expected: dict[str, None] = {}
    for path in sorted(paths):
        wildcard = "/".join("{*}" + step for step in path.split("/")[2:])
        for element in root.iterfind(wildcard):
            if (element.text or "").strip():
                expected[(element.text or "").strip()] = None
    assert rawstore.binary_values(root, paths) == list(expected)
