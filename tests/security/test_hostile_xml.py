"""Small uploads that would cost a large tree: millions of empty elements, or nesting thousands
deep, are refused with 400 while they are read (Collect's door and the loader alike), and
nothing is stored."""

from __future__ import annotations

import time
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pipeline import safe_xml
from pipeline.models import Submission
from pipeline.parse import parse
from pipeline.problems import Problem
from pipeline.safe_xml import Limits
from tests import builders


def flood(count: int) -> bytes:
    """A site visit whose ``name`` holds ``count`` empty elements (4 bytes each)."""
    xml = builders.site_visit("uuid:flood")
    return xml.replace(b"<name>Rina</name>", b"<name>" + b"<a/>" * count + b"</name>")


def nest(depth: int) -> bytes:
    xml = builders.site_visit("uuid:deep")
    return xml.replace(b"<name>Rina</name>", b"<name>" + b"<g>" * depth + b"</g>" * depth + b"</name>")


@pytest.mark.parametrize("body, says", [(flood(2_000_000), "more than 100,000 elements"),
                                        (nest(100_000), "more than 64 levels")])
def test_collects_door_refuses_them_before_building_a_tree(client, session, body, says):
    builders.publish(session, "site_visit")
    key = builders.app_user(session).token
    started = time.monotonic()
    response = client.post(f"/key/{key}/submission", data=builders.multipart(body))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert says in response.get_data(as_text=True)
    assert time.monotonic() - started < 20  # the whole tree took 25 s on the 8-million case
    assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_the_settings_set_the_limits_of_the_process(tmp_path):
    from pipeline.db import writer_for
    from sync_server import background_loader, create_app

    app = create_app({"SANGJOG_DATA_DIR": str(tmp_path), "SECRET_KEY": "x",
                      "MAX_SUBMISSION_ELEMENTS": "50", "MAX_SUBMISSION_DEPTH": 5})
    background_loader.stop(app)
    writer_for(app.extensions["engine"]).close()
    app.extensions["engine"].dispose()
    try:
        assert Limits(50, 5) == safe_xml.LIMITS
        with pytest.raises(Problem) as refused:
            safe_xml.fromstring(b"<r>" + b"<a/>" * 51 + b"</r>")
        assert refused.value.code == "submission.too_complex"
    finally:
        safe_xml.configure(Limits())


def test_the_loader_refuses_them_too_and_keeps_the_row_flagged():
    from pipeline.schema import FormSchema
    schema = FormSchema.from_xform(builders.built("site_visit").xml)
    with pytest.raises(Problem) as refused:
        parse(schema, flood(200_000))
    assert refused.value.code == "submission.unparsable"
    assert "more than 100,000 elements" in refused.value.message


def test_the_loader_reads_stored_xml_as_the_doors_do_and_refuses_any_dtd():
    """No door stores a document with a DTD; one written into the raw store by other means
    (a restored backup, a hand edit) is flagged, not read with its DTD."""
    from pipeline.schema import FormSchema
    schema = FormSchema.from_xform(builders.built("site_visit").xml)
    assert parse(schema, builders.site_visit()).instance_id
    with pytest.raises(Problem) as refused:
        parse(schema, b"<!DOCTYPE site_visit>" + builders.site_visit())
    assert refused.value.code == "submission.unparsable"
    assert "declares a DTD or entities" in refused.value.message


trees = st.recursive(st.just(("a", [])), lambda kids: st.tuples(st.sampled_from("abc"),
                                                                 st.lists(kids, max_size=4)),
                     max_leaves=40)


def render(tree) -> bytes:
    tag, kids = tree
    return f"<{tag}>".encode() + b"".join(render(k) for k in kids) + f"</{tag}>".encode()


def measure(tree, depth: int = 1) -> tuple[int, int]:
    _tag, kids = tree
    counts = [measure(k, depth + 1) for k in kids]
    return 1 + sum(c for c, _ in counts), max([depth, *(d for _, d in counts)])


@settings(max_examples=200)
@given(tree=trees, max_elements=st.integers(1, 60), max_depth=st.integers(1, 12),
       dtd=st.booleans())
def test_a_document_is_refused_exactly_when_it_is_over_a_limit(tree, max_elements, max_depth,
                                                               dtd):
    xml = render(tree)
    if dtd:  # the defusedxml path counts the same way
        xml = b"<!DOCTYPE a>" + xml
    elements, depth = measure(tree)
    limits = Limits(max_elements, max_depth)
    if elements > max_elements or depth > max_depth:
        with pytest.raises(Problem) as refused:
            safe_xml.fromstring(xml, limits=limits)
        assert refused.value.code == "submission.too_complex"
    else:
        got = safe_xml.fromstring(xml, limits=limits)
        assert ElementTree.tostring(got) == ElementTree.tostring(ElementTree.fromstring(xml))
