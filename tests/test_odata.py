"""The OData feed: Central's service document, EDMX and JSON shapes, paging through nextLink to
the exact count, filters, $select/$expand/$orderby/$wkt, and bad options answered clearly."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import urlsplit

import pytest
from defusedxml import ElementTree

from pipeline import accounts
from tests import builders
from tests.builders import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_hashing")
SVC = "/odata/site_check.svc"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def auth(username: str = "admin") -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def answers(n: int) -> dict:
    a = dict(builders.SITE_CHECK_ANSWERS)
    a.update(progress=str(n), header={"officer": f"Officer {n}"},
             district="d1" if n % 2 else "d2", visit_date=f"2024-01-{1 + n % 28:02d}")
    return a


@pytest.fixture
def site(db, blobs):
    """site_check with ``n`` submissions (three by default) and an admin."""
    builders.publish(db, "site_check")
    accounts.create_user(db, "admin", PASSWORD, "admin", ["*"])
    db.commit()
    ids = []
    for n in range(3):
        iid = f"uuid:{uuid.UUID(int=n + 1)}"
        out = builders.submit(db, builders.submission("site_check", answers(n), instance_id=iid,
                                                      name=f"Visit {n}"),
                              blobs=blobs, submitter="phone-1")
        assert out.submission.parse_status == "ok", out.submission.parse_error
        ids.append(iid)
    return ids


def get(client, url: str, user: str = "admin", **kw):
    """A request whose streamed body is read to the end and closed (as a server does)."""
    kw.setdefault("buffered", True)
    return client.get(url, headers=auth(user), **kw)


def test_service_document_lists_submissions_and_each_repeat(client, site):
    resp = get(client, SVC)
    assert resp.status_code == 200
    assert resp.headers["OData-Version"] == "4.0"
    assert resp.get_json() == {
        "@odata.context": "http://localhost/odata/site_check.svc/$metadata",
        "value": [
            {"name": "Submissions", "kind": "EntitySet", "url": "Submissions"},
            {"name": "Submissions.photos", "kind": "EntitySet", "url": "Submissions.photos"},
            {"name": "Submissions.photos.marks", "kind": "EntitySet",
             "url": "Submissions.photos.marks"},
        ]}
    # Central's address shape answers the same, with its own context.
    central = get(client, "/v1/projects/1/forms/site_check.svc").get_json()
    assert central["@odata.context"] == \
        "http://localhost/v1/projects/1/forms/site_check.svc/$metadata"
    assert central["value"] == resp.get_json()["value"]


def test_metadata_has_an_entity_type_per_form_and_repeat_and_groups_as_complex_types(client, site):
    resp = get(client, f"{SVC}/$metadata")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    doc = ElementTree.fromstring(resp.data)
    schemas = {s.get("Namespace"): s for s in doc.iter(f"{EDM}Schema")}
    assert set(schemas) == {"org.opendatakit.submission", "org.opendatakit.user.site_check"}
    system = schemas["org.opendatakit.submission"].find(f"{EDM}ComplexType")
    assert [p.get("Name") for p in system] == [
        "submissionDate", "updatedAt", "deletedAt", "submitterId", "submitterName",
        "attachmentsPresent", "attachmentsExpected", "status", "reviewState", "deviceId", "edits",
        "formVersion"]
    user = schemas["org.opendatakit.user.site_check"]
    types = {e.get("Name"): {p.get("Name"): p.get("Type") for p in e if p.get("Name")}
             for e in user.findall(f"{EDM}EntityType")}
    ns = "org.opendatakit.user.site_check"
    assert types["Submissions"] == {
        "__id": "Edm.String", "__system": "org.opendatakit.submission.metadata",
        "district": "Edm.String", "visit_date": "Edm.Date", "visited_at": "Edm.DateTimeOffset",
        "start_time": "Edm.String", "progress": "Edm.Int64", "score": "Edm.Decimal",
        "on_plan": "Edm.String", "tags": "Edm.String", "project": "Edm.String",
        "location": "Edm.GeographyPoint", "header": f"{ns}.header", "photo": "Edm.String",
        "photos": f"Collection({ns}.Submissions.photos)", "meta": f"{ns}.meta"}
    assert types["Submissions.photos"] == {
        "__id": "Edm.String", "__Submissions-id": "Edm.String", "caption": "Edm.String",
        "shot": "Edm.String", "marks": f"Collection({ns}.Submissions.photos.marks)"}
    assert types["Submissions.photos.marks"] == {
        "__id": "Edm.String", "__Submissions-photos-id": "Edm.String", "n": "Edm.Int64"}
    nav = user.find(f"{EDM}EntityType[@Name='Submissions']/{EDM}NavigationProperty")
    assert nav.get("Name") == "photos"
    complex_types = {c.get("Name"): {p.get("Name"): p.get("Type") for p in c}
                     for c in user.findall(f"{EDM}ComplexType")}
    assert complex_types == {"header": {"officer": "Edm.String"},
                             "meta": {"instanceID": "Edm.String", "instanceName": "Edm.String"}}
    container = user.find(f"{EDM}EntityContainer")
    assert container.get("Name") == "site_check"
    assert [(s.get("Name"), s.get("EntityType")) for s in container] == [
        ("Submissions", f"{ns}.Submissions"), ("Submissions.photos", f"{ns}.Submissions.photos"),
        ("Submissions.photos.marks", f"{ns}.Submissions.photos.marks")]
    # The first lines are Central's, to the character.
    assert resp.get_data(as_text=True).startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
        "  <edmx:DataServices>\n"
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" '
        'Namespace="org.opendatakit.submission">\n'
        '      <ComplexType Name="metadata">\n'
        '        <Property Name="submissionDate" Type="Edm.DateTimeOffset"/>\n')


def test_submissions_json_has_ids_system_values_and_navigation_links(client, site):
    body = get(client, f"{SVC}/Submissions").get_json()
    assert body["@odata.context"] == "http://localhost/odata/site_check.svc/$metadata#Submissions"
    assert "@odata.nextLink" not in body
    rows = body["value"]
    assert [r["__id"] for r in rows] == list(reversed(site))  # newest first
    row = rows[-1]
    system = row.pop("__system")
    assert system["submissionDate"].endswith("Z") and system["updatedAt"] is None
    assert {k: v for k, v in system.items() if k not in ("submissionDate", "updatedAt")} == {
        "deletedAt": None, "submitterId": "phone-1", "submitterName": "phone-1",
        "attachmentsPresent": 0, "attachmentsExpected": 3, "status": None, "reviewState": None,
        "deviceId": None, "edits": 0, "formVersion": builders.CHECK_V1}
    assert row == {
        "__id": site[0], "district": "d2", "visit_date": "2024-01-01",
        "visited_at": "2024-01-15T04:30:00.000Z", "start_time": "10:30:00.000+06:00",
        "progress": 0, "score": 7.5, "on_plan": "yes", "tags": "water ict", "project": "p1",
        "location": {"type": "Point", "coordinates": [90.41, 23.81, 12.5],
                     "properties": {"accuracy": 4}},
        "header": {"officer": "Officer 0"}, "photo": "site.jpg",
        "photos@odata.navigationLink": f"Submissions('{site[0].replace(':', '%3A')}')/photos",
        "meta": {"instanceID": site[0], "instanceName": "Visit 0"},
    }


def test_repeat_sets_carry_parent_ids_and_their_links_work(client, site):
    photos = get(client, f"{SVC}/Submissions.photos").get_json()
    assert photos["@odata.context"].endswith("$metadata#Submissions.photos")
    assert len(photos["value"]) == 6
    first = next(r for r in photos["value"] if r["__Submissions-id"] == site[0]
                 and r["caption"] == "gate")
    assert set(first) == {"__id", "__Submissions-id", "caption", "shot",
                          "marks@odata.navigationLink"}
    assert len(first["__id"]) == 40
    marks = get(client, f"{SVC}/Submissions.photos.marks").get_json()["value"]
    assert sorted(m["n"] for m in marks if m["__Submissions-photos-id"] == first["__id"]) == [1, 2]
    # Navigation links lead to exactly the rows below their parent.
    below = get(client, f"{SVC}/{first['marks@odata.navigationLink']}").get_json()["value"]
    assert [m["n"] for m in below] == [1, 2]
    row = get(client, f"{SVC}/Submissions").get_json()["value"][-1]
    own = get(client, f"{SVC}/{row['photos@odata.navigationLink']}").get_json()["value"]
    assert [p["caption"] for p in own] == ["gate", "yard"]
    one = get(client, f"{SVC}/Submissions('{site[1]}')").get_json()["value"]
    assert [r["__id"] for r in one] == [site[1]]


def test_expand_puts_repeats_inline(client, site):
    rows = get(client, f"{SVC}/Submissions?$expand=*").get_json()["value"]
    photos = rows[0]["photos"]
    assert [p["caption"] for p in photos] == ["gate", "yard"]
    assert [m["n"] for m in photos[0]["marks"]] == [1, 2]
    assert photos[1]["marks"] == []
    assert "__Submissions-id" not in photos[0] and "photos@odata.navigationLink" in rows[0]


def test_wkt_writes_points_as_text(client, site):
    row = get(client, f"{SVC}/Submissions?$wkt=true&$top=1").get_json()["value"][0]
    assert row["location"] == "POINT (90.41 23.81 12.5)"


def test_select_keeps_only_what_is_named(client, site):
    rows = get(client, f"{SVC}/Submissions?$select=__id,progress,header/officer,"
                       "__system/reviewState").get_json()["value"]
    assert rows[0] == {"__id": site[2], "progress": 2, "header": {"officer": "Officer 2"},
                       "__system": {"reviewState": None}}
    rows = get(client, f"{SVC}/Submissions?$select=header").get_json()["value"]
    assert rows[0] == {"header": {"officer": "Officer 2"}}
    bad = get(client, f"{SVC}/Submissions?$select=nope")
    assert bad.status_code == 400 and bad.get_json()["code"] == "odata.unknown_property"


@pytest.mark.parametrize("top", [1, 2, 3, 5])
def test_paging_through_next_links_gives_every_row_once(client, site, top):
    url = f"{SVC}/Submissions?$top={top}&$count=true"
    seen, pages = [], 0
    while url:
        body = get(client, url).get_json()
        assert body["@odata.count"] == 3
        assert len(body["value"]) <= top
        seen += [r["__id"] for r in body["value"]]
        next_link = body.get("@odata.nextLink")
        url = None
        if next_link:
            parts = urlsplit(next_link)
            assert parts.netloc == "localhost"
            url = f"{parts.path}?{parts.query}"
        pages += 1
        assert pages <= 5
    assert seen == list(reversed(site))


def test_repeat_paging_and_skip(client, site):
    url, seen = f"{SVC}/Submissions.photos?$top=4", []
    while url:
        body = get(client, url).get_json()
        seen += [r["__id"] for r in body["value"]]
        nl = body.get("@odata.nextLink")
        url = f"{urlsplit(nl).path}?{urlsplit(nl).query}" if nl else None
    assert len(seen) == len(set(seen)) == 6
    every = [r["__id"] for r in get(client, f"{SVC}/Submissions.photos").get_json()["value"]]
    assert seen == every
    assert [r["__id"] for r in get(client, f"{SVC}/Submissions?$skip=1").get_json()["value"]] \
        == list(reversed(site))[1:]


def test_orderby_pages_with_working_links(client, site):
    url = f"{SVC}/Submissions?$orderby=progress asc&$top=2"
    body = get(client, url).get_json()
    assert [r["progress"] for r in body["value"]] == [0, 1]
    nl = urlsplit(body["@odata.nextLink"])
    rest = get(client, f"{nl.path}?{nl.query}").get_json()
    assert [r["progress"] for r in rest["value"]] == [2] and "@odata.nextLink" not in rest
    desc = get(client, f"{SVC}/Submissions?$orderby=header/officer desc").get_json()["value"]
    assert [r["header"]["officer"] for r in desc] == ["Officer 2", "Officer 1", "Officer 0"]


def test_top_zero_with_count_answers_the_count_only(client, site):
    assert get(client, f"{SVC}/Submissions?$top=0&$count=true").get_json() == {
        "@odata.context": "http://localhost/odata/site_check.svc/$metadata#Submissions",
        "@odata.count": 3, "value": []}


@pytest.mark.parametrize(("expr", "expected"), [
    ("progress ge 1", [2, 1]),
    ("progress eq 1 or progress eq 2", [2, 1]),
    ("not (progress eq 1)", [2, 0]),
    ("district eq 'd1'", [1]),
    ("district ne 'd1'", [2, 0]),
    ("header/officer eq 'Officer 2'", [2]),
    ("visit_date lt 2024-01-03", [1, 0]),
    ("visit_date ge '2024-01-02'", [2, 1]),
    ("__system/submissionDate gt 2000-01-01T00:00:00Z", [2, 1, 0]),
    ("__system/submissionDate lt 2000-01-01", []),
    ("year(__system/submissionDate) ge 2020", [2, 1, 0]),
    ("__system/reviewState eq null", [2, 1, 0]),
    ("__system/reviewState eq 'approved'", []),
    ("__system/updatedAt eq null", [2, 1, 0]),
    ("$root/Submissions/__system/submissionDate gt 2000-01-01", [2, 1, 0]),
    ("progress in (0, 2)", [2, 0]),
])
def test_filters(client, site, expr, expected):
    resp = get(client, f"{SVC}/Submissions", query_string={"$filter": expr, "$count": "true"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [r["progress"] for r in body["value"]] == expected
    assert body["@odata.count"] == len(expected)


def test_filter_on_repeats_by_their_fields_and_their_submission(client, site):
    resp = get(client, f"{SVC}/Submissions.photos", query_string={
        "$filter": f"caption eq 'gate' and $root/Submissions/__id eq '{site[1]}'"})
    rows = resp.get_json()["value"]
    assert [(r["caption"], r["__Submissions-id"]) for r in rows] == [("gate", site[1])]


@pytest.mark.parametrize(("query", "status", "code"), [
    ({"$filter": "progress eq"}, 400, "odata.bad_query"),
    ({"$filter": "nope eq 1"}, 400, "odata.unknown_property"),
    ({"$filter": "progress eq 'x'"}, 400, "odata.bad_query"),
    ({"$filter": "visit_date eq 'soon'"}, 400, "odata.bad_query"),
    ({"$filter": "__system/reviewState eq 'fine'"}, 400, "odata.bad_query"),
    ({"$filter": "contains(district, 'a')"}, 501, "odata.unsupported"),
    ({"$filter": "location eq 1"}, 400, "odata.unknown_property"),
    ({"$top": "-1"}, 400, "odata.bad_query"),
    ({"$top": "1e3"}, 400, "odata.bad_query"),
    ({"$skiptoken": "garbage"}, 400, "odata.bad_skiptoken"),
    ({"$skiptoken": "01" + base64.b64encode(b'{"s": "x"}').decode()}, 400, "odata.bad_skiptoken"),
    ({"$orderby": "progress sideways"}, 400, "odata.bad_query"),
    ({"$expand": "photos"}, 501, "odata.unsupported"),
    ({"$count": "maybe"}, 400, "odata.bad_query"),
])
def test_bad_options_get_a_clear_json_problem(client, site, query, status, code):
    resp = get(client, f"{SVC}/Submissions", query_string=query)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == code


def test_unknown_forms_sets_and_paths_are_404(client, site):
    for url in ("/odata/nope.svc", "/odata/nope.svc/Submissions", f"{SVC}/Nope",
                f"{SVC}/Submissions.nope", f"{SVC}/Submissions('x')/nope"):
        resp = get(client, url)
        assert resp.status_code == 404, url
        assert resp.is_json, url
    assert get(client, "/v1/projects/2/forms/site_check.svc").status_code == 404


def test_without_credentials_the_feed_asks_for_basic(client, site):
    resp = client.get(SVC)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert get(client, SVC, user="nobody").status_code == 401
    wrong = client.get(SVC, headers={"Authorization": "Basic " + base64.b64encode(
        b"admin:wrong").decode()})
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "auth.required"


def test_the_json_is_valid_when_streamed(client, site):
    resp = get(client, f"{SVC}/Submissions?$expand=*", buffered=False)
    pieces = list(resp.response)
    resp.close()
    assert len(pieces) >= 3  # header, rows, footer: written as they come
    text = b"".join(pieces).decode()
    assert json.loads(text)["value"][0]["photos"][0]["caption"] == "gate"




def test_reviews_and_edits_show_in_system_and_filter(client, db, blobs, site):
    from datetime import UTC, datetime, timedelta

    from pipeline import review
    from pipeline.models import Submission

    before = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    first = db.query(Submission).filter_by(instance_id=site[0]).one()
    review.set_review(db, [first.id], "has_issues", "Photo of the wrong gate", "sup")
    # An edit of the second: same __id, one edit, state 'edited', a later updatedAt.
    edit = builders.submission("site_check", {**answers(1), "progress": "99"},
                               instance_id=f"uuid:{uuid.uuid4()}",
                               deprecated_id=site[1])
    assert builders.submit(db, edit, blobs=blobs, submitter="phone-1").status == "edited"
    rows = {r["__id"]: r for r in get(client, f"{SVC}/Submissions").get_json()["value"]}
    assert set(rows) == set(site)
    assert rows[site[0]]["__system"]["reviewState"] == "hasIssues"
    assert rows[site[1]]["__system"]["reviewState"] == "edited"
    assert rows[site[1]]["__system"]["edits"] == 1 and rows[site[1]]["progress"] == 99
    assert rows[site[2]]["__system"]["updatedAt"] is None
    for iid in site[:2]:
        assert rows[iid]["__system"]["updatedAt"] >= before[:19]

    def ids(expr: str) -> set[str]:
        resp = get(client, f"{SVC}/Submissions", query_string={"$filter": expr})
        assert resp.status_code == 200, resp.get_json()
        return {r["__id"] for r in resp.get_json()["value"]}

    assert ids(f"__system/updatedAt gt {before}") == set(site[:2])
    assert ids("__system/updatedAt eq null") == {site[2]}
    assert ids("__system/reviewState eq 'hasIssues'") == {site[0]}
    assert ids("__system/reviewState ne 'hasIssues'") == set(site[1:])
    assert ids("__system/edits gt 0") == {site[1]}
    ordered = get(client, f"{SVC}/Submissions?$orderby=__system/updatedAt desc&$select=__id")
    assert [r["__id"] for r in ordered.get_json()["value"]][2] == site[2]  # nulls last
