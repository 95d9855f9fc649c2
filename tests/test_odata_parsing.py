"""The feed's parsers, without a database: ``$skiptoken`` round trips, and any ``$filter``,
``$orderby``, ``$select`` or paging text is either SQL or a clear Problem, never a crash."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, Float, Integer, Text, column
from sqlalchemy.dialects import postgresql, sqlite

from exports import odata_model, odata_query
from exports.odata_query import Options, Properties, Target
from pipeline.models import CENTRAL_REVIEW_STATES, FROM_CENTRAL_REVIEW_STATES, REVIEW_STATES
from pipeline.problems import Problem
from pipeline.schema import DATE, DATETIME, FLOAT, INTEGER, TEXT, FormSchema
from tests import builders

PROPS = Properties(own={
    "progress": Target(column("progress", Integer), INTEGER),
    "score": Target(column("score", Float), FLOAT),
    "name": Target(column("name", Text), TEXT),
    "header/officer": Target(column("header__officer", Text), TEXT),
    "visit_date": Target(column("visit_date", Date), DATE),
    "__system/submissionDate": Target(column("_submitted_at", DateTime), DATETIME),
})
WORDS = ["progress", "score", "name", "header/officer", "visit_date", "__system/submissionDate",
         "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "in", "(", ")", ",", "null",
         "'x'", "'it''s'", "12", "-3", "1.5", "2024-01-31", "2024-02-30", "2024-01-01T10:00:00Z",
         "true", "year(", "now()", "$root/Submissions/", "contains(", "add", "/", "'"]


def _compiles(expr) -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": False}))


@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
@settings(max_examples=400, deadline=None)
def test_any_filter_is_sql_or_a_problem(text):
    try:
        _compiles(odata_query.where(text, PROPS))
    except Problem as problem:
        assert problem.status in (400, 501) and problem.code.startswith("odata.")


@given(st.text(alphabet=string.printable + "অআ", max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_as_filter_is_sql_or_a_problem(text):
    try:
        _compiles(odata_query.where(text, PROPS))
    except Problem as problem:
        assert problem.status in (400, 501)


@given(st.dictionaries(st.sampled_from(["$top", "$skip", "$count", "$wkt", "$expand", "$select",
                                        "$skiptoken", "$orderby", "$filter"]),
                       st.text(max_size=20)))
@settings(max_examples=300, deadline=None)
def test_any_query_string_parses_or_is_refused(args):
    try:
        opts = Options.parse(args)
    except Problem as problem:
        assert problem.status in (400, 501)
        return
    assert opts.top is None or opts.top >= 0
    if opts.orderby:
        try:
            odata_query.order_by(opts.orderby, PROPS)
        except Problem as problem:
            assert problem.status == 400


@given(st.dictionaries(st.text(min_size=1, max_size=5),
                       st.one_of(st.integers(), st.text(max_size=30), st.none()), max_size=4))
def test_skiptokens_round_trip(data):
    token = odata_query.encode_token(data)
    assert token.startswith("01")
    assert odata_query.decode_token(token) == data


@given(st.text(max_size=40))
def test_foreign_skiptokens_are_refused(token):
    try:
        odata_query.decode_token(token)
    except Problem as problem:
        assert problem.code == "odata.bad_skiptoken"


def test_identifiers_are_sanitized_as_central_does():
    assert odata_model.identifier("q1.8") == "q1_8"
    assert odata_model.identifier("42") == "_42"
    assert odata_model.identifier("2.4") == "_2_4"
    assert odata_model.identifier("plain_name") == "plain_name"


def test_select_names_known_paths_only():
    schema = FormSchema.from_xform(builders.built("site_check").xml)
    kinds = {t.name: {name: kind for c in t.columns for name, kind in c.sql_columns()}
             | {"_key": TEXT, "_parent_key": TEXT, "_instance_name": TEXT} for t in schema.tables}
    service = odata_model.build(schema, kinds)
    sel = odata_query.selection(["header/officer", "__system/edits"], service.main)
    assert sel.paths == {("header", "officer")} and sel.system == {"edits"}
    for bad, code in (("header/nope", "odata.unknown_property"),
                      ("photos/caption", "odata.unsupported")):
        try:
            odata_query.selection([bad], service.main)
        except Problem as problem:
            assert problem.code == code
        else:
            raise AssertionError(bad)


def test_review_states_translate_to_centrals_names_and_back():
    """The one table the feed, the CSV zip and Central pulls use: Central's null is our
    ``received``, its ``hasIssues`` our ``has_issues``; the other three are spelled alike."""
    assert CENTRAL_REVIEW_STATES == {"received": None, "approved": "approved",
                                     "has_issues": "hasIssues", "rejected": "rejected",
                                     "edited": "edited"}
    assert REVIEW_STATES == ("received", "approved", "has_issues", "rejected", "edited")
    assert [FROM_CENTRAL_REVIEW_STATES[CENTRAL_REVIEW_STATES[s]] for s in REVIEW_STATES] == \
        list(REVIEW_STATES)
