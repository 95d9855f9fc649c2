"""A fake ODK Central: sessions, one form's OData feed, submission XML and attachments.

Follows central-backend: ``POST /v1/sessions`` → bearer token; the OData ``Submissions``
feed with ``$filter`` on ``__id`` (``eq``) and ``__system/submissionDate`` /
``__system/updatedAt`` (``gt``/``ge``/``lt``/``le``), joined by ``or``; ``$orderby`` (``ASC NULLS FIRST``/``DESC NULLS LAST``, then the
row id), ``$top``, ``$count`` and ``@odata.nextLink`` (the request's own URL with a
``$skiptoken``: ``01`` + base64 JSON of the page's last ``instanceId``, a cursor into the default
order, newest first). Like Central it answers 501 to ``$orderby`` together with ``$skiptoken``,
and to ordering on anything else than its system fields; times stored to the microsecond and
printed to the millisecond;
``updatedAt`` null until a submission is edited or reviewed; ``/submissions/{id}.xml``
(the current version) and ``/submissions/{id}/attachments[/{name}]`` (a file's MD5 as its ETag,
as Central sends it; ``damaged_files`` serves other bytes under it). Tests queue faults
(``page_faults``, ``down_after_xml``) and can keep one XML download waiting (``hold_xml``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from defusedxml import ElementTree
from flask import Flask, Response, jsonify, request

from tests.fakes.serve import Hold, drop_after

CLAUSE = re.compile(r"^__system/(submissionDate|updatedAt) (gt|ge|lt|le) (\S+)$")
ID_CLAUSE = re.compile(r"^__id eq '([^']+)'$")
ORDERABLE = {"__system/submissionDate": "submitted", "__system/updatedAt": "updated"}


def not_implemented(code: float, message: str) -> Response:
    return Response(json.dumps({"code": code, "message": message}), 501,
                    mimetype="application/json")


def printed(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass
class Version:
    instance_id: str
    xml: bytes
    files: dict[str, bytes]


@dataclass
class Record:
    root_id: str
    versions: list[Version]
    submitted: datetime
    submitter: str
    seq: int = 0  # Central's row id: the tie-break of every order
    updated: datetime | None = None
    review: str | None = None
    history: list[str] = field(default_factory=list)


class FakeCentral:
    def __init__(self, *, email: str = "admin@example.org",
                 password: str = "central-pa55word-xyz", project: str = "3",
                 form: str = "site_visit") -> None:
        self.email, self.password, self.project, self.form = email, password, project, form
        self.tokens: set[str] = set()
        self.records: dict[str, Record] = {}
        self.clock = datetime.now(UTC)
        self.page_faults: list[str] = []
        self.down_after_xml: int | None = None
        self.hold_xml: Hold | None = None  # holds one XML download mid-pull
        self.loop_next = False
        self.ignore_filter = False
        self.xml_override: dict[str, bytes] = {}  # instanceID -> what its .xml serves instead
        # File name -> the bytes its download sends instead (damaged on the way: the ETag
        # stays the MD5 of the file held, the Content-Length is the bytes sent's).
        self.damaged_files: dict[str, bytes] = {}
        self.xml_served = 0
        self.sessions_created = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.app = self._build()

    # Test-side changes ------------------------------------------------------------------
    def tick(self) -> datetime:
        # The real clock, to the microsecond (so printed times cut it), never going backwards.
        self.clock = max(datetime.now(UTC), self.clock + timedelta(microseconds=1500))
        return self.clock

    def add(self, xml: bytes, files: dict[str, bytes] | None = None, *,
            submitter: str = "Collect phone 7", same_time: bool = False) -> str:
        instance = self._instance_id(xml)
        when = self.clock if same_time else self.tick()
        self.records[instance] = Record(instance, [Version(instance, xml, dict(files or {}))],
                                        when, submitter, seq=len(self.records) + 1)
        return instance

    def edit(self, root_id: str, xml: bytes, files: dict[str, bytes] | None = None) -> None:
        record = self.records[root_id]
        kept = {**record.versions[-1].files, **(files or {})}
        record.versions.append(Version(self._instance_id(xml), xml, kept))
        record.review, record.updated = "edited", self.tick()

    def set_review(self, root_id: str, state: str) -> None:
        record = self.records[root_id]
        record.review, record.updated = state, self.tick()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    @staticmethod
    def _instance_id(xml: bytes) -> str:
        root = ElementTree.fromstring(xml)
        return next(el.text for el in root.iter() if _local(el.tag) == "instanceID")

    # The API -----------------------------------------------------------------------------
    def _row(self, record: Record) -> dict[str, Any]:
        current = record.versions[-1]
        root = ElementTree.fromstring(current.xml)
        row: dict[str, Any] = {"__id": record.root_id}
        for child in root:
            tag = _local(child.tag)
            if tag == "meta":
                row["meta"] = {_local(c.tag): c.text for c in child}
            elif len(child):
                row[f"{tag}@odata.navigationLink"] = f"Submissions('{record.root_id}')/{tag}"
            else:
                row[tag] = child.text
        row["__system"] = {
            "submissionDate": printed(record.submitted),
            "updatedAt": printed(record.updated),
            "submitterId": "7",
            "submitterName": record.submitter,
            "attachmentsPresent": len(current.files),
            "attachmentsExpected": len(current.files),
            "status": None,
            "reviewState": record.review,
            "deviceId": "collect:abc",
            "edits": len(record.versions) - 1,
            "formVersion": root.get("version"),
        }
        return row

    def _matches(self, record: Record, where: str) -> bool:
        if not where:
            return True
        for clause in where.split(" or "):
            by_id = ID_CLAUSE.match(clause.strip())
            if by_id:
                if by_id.group(1) == record.root_id:
                    return True
                continue
            m = CLAUSE.match(clause.strip())
            if not m:
                raise ValueError(clause)
            name, op, text = m.groups()
            value = record.submitted if name == "submissionDate" else record.updated
            bound = datetime.fromisoformat(text)
            if value is not None and {"gt": value > bound, "ge": value >= bound,
                                      "lt": value < bound, "le": value <= bound}[op]:
                return True
        return False

    def _build(self) -> Flask:
        app = Flask("fake_central")
        base = "/v1/projects/<project>/forms/<form>"

        @app.before_request
        def _auth() -> Any:
            self.requests.append((request.path, request.args.to_dict()))
            if request.path == "/v1/sessions":
                return None
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in self.tokens:
                return jsonify(code=401.2, message="Could not authenticate with the provided "
                               "credentials."), 401
            if request.view_args and (request.view_args.get("project") != self.project
                                      or request.view_args.get("form") != self.form):
                return jsonify(code=404.1, message="Could not find the resource you were "
                               "looking for."), 404
            return None

        @app.post("/v1/sessions")
        def sessions() -> Any:
            body = request.get_json(silent=True) or {}
            if body.get("email") != self.email or body.get("password") != self.password:
                return jsonify(code=401.2, message="Could not authenticate with the provided "
                               "credentials."), 401
            token = secrets.token_urlsafe(48)
            self.tokens.add(token)
            self.sessions_created += 1
            return jsonify(token=token, createdAt=printed(self.clock),
                           expiresAt=printed(self.clock + timedelta(hours=24)))

        @app.get(f"{base}.svc/Submissions")
        def feed(project: str, form: str) -> Any:
            fault = self.page_faults.pop(0) if self.page_faults else None
            if fault == "429":
                return Response("{}", 429, {"Retry-After": "3"}, mimetype="application/json")
            if fault == "500":
                return jsonify(code=500, message="Internal Server Error"), 500
            order = request.args.get("$orderby")
            token = request.args.get("$skiptoken")
            if order and token:
                return not_implemented(501.1, "The requested feature using $orderby and "
                                       "$skiptoken together is not supported by this server.")
            try:
                rows = [r for r in self.records.values()
                        if self._matches(r, request.args.get("$filter", ""))]
            except ValueError as exc:
                return not_implemented(501.4, "The given OData filter expression uses features "
                                       f"not supported by this server: {exc}")
            if order:
                field, _, direction = order.strip().partition(" ")
                if field not in ORDERABLE or direction.strip().lower() not in ("", "asc", "desc"):
                    return not_implemented(501.5, "The given OData filter expression references "
                                           f"fields not supported by this server: {order}")
                desc = direction.strip().lower() == "desc"
                name = ORDERABLE[field]
                # NULLS FIRST ascending, NULLS LAST descending: a null sorts as the smallest.
                rows.sort(key=lambda r: (getattr(r, name) is not None,
                                         getattr(r, name) or self.clock, r.seq), reverse=desc)
            else:  # Central's default: newest submission first
                rows.sort(key=lambda r: (r.submitted, r.seq), reverse=True)
            if token:
                if not token.startswith("01"):
                    return jsonify(code=400.29, message="The $skiptoken is invalid."), 400
                after = json.loads(base64.b64decode(token[2:]))["instanceId"]
                mark = self.records[after]
                rows = [r for r in rows if (r.submitted, r.seq) < (mark.submitted, mark.seq)]
            top = int(request.args["$top"]) if "$top" in request.args else None
            page = rows if top is None else rows[:top]
            body: dict[str, Any] = {
                "@odata.context": f"{request.host_url}v1/projects/{project}/forms/{form}.svc/"
                                  "$metadata#Submissions",
                "value": [self._row(r) for r in page],
            }
            if request.args.get("$count") == "true":
                body["@odata.count"] = len(rows) if not token else len(
                    [r for r in self.records.values()
                     if self._matches(r, request.args.get("$filter", ""))])
            if self.loop_next:  # a broken server: the next page is this page again
                body["@odata.nextLink"] = request.url
            elif page and len(page) < len(rows):
                args = {k: v for k, v in request.args.items() if k not in ("$skiptoken", "$skip")}
                args["$skiptoken"] = "01" + base64.b64encode(
                    json.dumps({"instanceId": page[-1].root_id}).encode()).decode()
                body["@odata.nextLink"] = f"{request.base_url}?{urlencode(args)}"
            if self.ignore_filter:  # a broken server: every page lists everything, oldest first
                body["value"] = [self._row(r) for r in sorted(self.records.values(),
                                                              key=lambda r: r.seq)]
            data = json.dumps(body).encode()
            if fault == "malformed":
                data = data[: len(data) // 2]
            if fault == "drop":
                return Response(drop_after(request.environ, data), 200,
                                {"Content-Length": str(len(data))}, mimetype="application/json")
            return Response(data, 200, mimetype="application/json")

        def _record(instance_id: str) -> Record | None:
            return self.records.get(instance_id)

        @app.get(f"{base}/submissions/<instance_id>.xml")
        def xml(project: str, form: str, instance_id: str) -> Any:
            record = _record(instance_id)
            if record is None:
                return jsonify(code=404.1, message="Not found"), 404
            # Held: the first submission's (a pull downloads several at once; the first is the
            # one it stores first).
            if self.hold_xml is not None and record.seq == min(
                    r.seq for r in self.records.values()):
                self.hold_xml()
            # An outage for every submission after the first N (whatever order they are asked in:
            # a pull downloads several at once).
            if self.down_after_xml is not None and record.seq > self.down_after_xml:
                return Response("<html>502 Bad Gateway</html>", 502, mimetype="text/html")
            self.xml_served += 1
            return Response(self.xml_override.get(instance_id, record.versions[-1].xml), 200,
                            mimetype="application/xml")

        @app.get(f"{base}/submissions/<instance_id>/attachments")
        def attachments(project: str, form: str, instance_id: str) -> Any:
            record = _record(instance_id)
            if record is None:
                return jsonify(code=404.1, message="Not found"), 404
            return jsonify([{"name": n, "exists": True}
                            for n in sorted(record.versions[-1].files)])

        @app.get(f"{base}/submissions/<instance_id>/attachments/<name>")
        def attachment(project: str, form: str, instance_id: str, name: str) -> Any:
            record = _record(instance_id)
            files = record.versions[-1].files if record else {}
            if name not in files:
                return jsonify(code=404.1, message="Not found"), 404
            # Like Central's blobResponse: the blob's MD5 as a strong ETag; 304 to a match.
            etag = f'"{hashlib.md5(files[name]).hexdigest()}"'  # noqa: S324 - Central's own
            if request.headers.get("If-None-Match") in (etag, f"W/{etag}"):
                return Response(status=304, headers={"ETag": etag})
            return Response(self.damaged_files.get(name, files[name]), 200,
                            {"ETag": etag, "Content-Disposition": f'inline; filename="{name}"'},
                            mimetype="image/jpeg")

        return app
