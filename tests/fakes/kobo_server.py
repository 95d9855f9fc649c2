"""A fake KoBoToolbox KPI v2 server: one asset's data list, single records, attachments.

Follows the documented API: ``Authorization: Token ...``; ``/api/v2/assets/{uid}/data/`` with
``query`` (a MongoDB filter), ``sort``, ``start``/``limit`` (capped at 1,000) and ``next``;
``format=xml`` on the list (each instance as stored, in ``_id`` order, wrapped in
``<root><count/><next/><previous/><results>``; ``sort`` and ``fields`` refused, 400) and on
``/data/{id}/`` for the original XML; ``_attachments[].download_url``.
Records are built from submission XML the way KoBo flattens it (group paths joined by ``/``,
repeats as lists, metadata with ``_``). Faults are queued by tests: ``page_faults`` for the
next list requests ("429", "500", "drop", "malformed"), ``down_after_xml`` for an outage,
``hold_xml`` (a ``serve.Hold``) to keep one XML download waiting while the test acts.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from flask import Flask, Response, jsonify, request

from tests.fakes.serve import Hold, drop_after

VALIDATION_LABELS = {
    "validation_status_approved": "Approved",
    "validation_status_not_approved": "Not Approved",
    "validation_status_on_hold": "On Hold",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def flatten(el: Any, prefix: str, repeats: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        tag = _local(child.tag)
        path = prefix + tag
        if tag in repeats:
            out.setdefault(path, []).append(flatten(child, path + "/", repeats))
        elif len(child):
            out.update(flatten(child, path + "/", repeats))
        elif (child.text or "").strip():  # KoBo leaves unanswered questions out
            out[path] = child.text.strip()
    return out


def matches(record: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, cond in query.items():
        if key == "$or":
            if not any(matches(record, c) for c in cond):
                return False
        elif key == "$and":
            if not all(matches(record, c) for c in cond):
                return False
        elif isinstance(cond, dict):
            value = record.get(key)
            for op, arg in cond.items():
                if value is None:
                    return False
                ok = {"$gt": lambda v, a: v > a, "$gte": lambda v, a: v >= a,
                      "$lt": lambda v, a: v < a, "$lte": lambda v, a: v <= a,
                      "$eq": lambda v, a: v == a, "$in": lambda v, a: v in a}[op](value, arg)
                if not ok:
                    return False
        elif record.get(key) != cond:
            return False
    return True


class FakeKobo:
    def __init__(self, *, token: str = "kobo-token-s3cr3t-0123456789", asset: str = "aSiteVisit1",
                 repeats: tuple[str, ...] = ("rows",)) -> None:
        self.token = token
        self.asset = asset
        self.repeats = set(repeats)
        self.records: dict[int, dict[str, Any]] = {}
        self.xml: dict[int, bytes] = {}
        self.files: dict[int, list[tuple[str, bytes]]] = {}
        self.next_id = 101
        self.clock = datetime.now(UTC) - timedelta(days=1)
        self.page_faults: list[str] = []
        self.down_after_xml: int | None = None
        self.hold_xml: Hold | None = None  # holds one XML download mid-pull
        self.serve_xml = True
        self.kobo_naming = True
        self.ignore_query = False  # a broken server: every page lists everything
        self.xml_served = 0
        self.truncated_files: set[str] = set()  # names served cut short (as held: KoBo gives no sum)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.app = self._build()

    # Test-side changes ------------------------------------------------------------------
    def _tick(self) -> str:
        # Times a day ago and onwards, a minute apart: inside a re-check window of a few days.
        self.clock += timedelta(minutes=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S")

    def add(self, xml: bytes, files: dict[str, bytes] | None = None, *,
            validation: str | None = None, submitted_by: str = "enumerator1",
            submitted_at: str | None = None) -> int:
        record_id = self.next_id
        self.next_id += 1
        self._store(record_id, xml, files or {}, submitted_at or self._tick(), submitted_by)
        if validation:
            self.validate(record_id, validation)
        return record_id

    def edit(self, record_id: int, xml: bytes, files: dict[str, bytes] | None = None) -> None:
        """An edit in Enketo: same ``_id``, new ``_uuid``, same ``meta/rootUuid``; files not
        resent are kept."""
        old = self.records[record_id]
        kept = dict(self.files[record_id])
        kept.update(files or {})
        self._store(record_id, xml, kept, old["_submission_time"], old["_submitted_by"])
        self.records[record_id]["meta/rootUuid"] = old["meta/rootUuid"]
        self.records[record_id]["_validation_status"] = old["_validation_status"]
        # KoBo keeps no time of the last edit (no ``_last_edited``; KPI #7259).

    def validate(self, record_id: int, uid: str) -> None:
        self.records[record_id]["_validation_status"] = {
            "uid": uid, "label": VALIDATION_LABELS[uid], "by_whom": "kobo_supervisor",
            "timestamp": int(datetime.now(UTC).timestamp()), "color": "#00ff00"}

    def _store(self, record_id: int, xml: bytes, files: dict[str, bytes], submitted_at: str,
               submitted_by: str) -> None:
        root = ElementTree.fromstring(xml)
        record: dict[str, Any] = {"_id": record_id, "formhub/uuid": "0123456789abcdef"}
        record.update(flatten(root, "", self.repeats))
        instance = record.get("meta/instanceID", f"uuid:{uuid.uuid4()}")
        record.setdefault("meta/rootUuid", instance)
        record.update({
            "__version__": "vKoboVersion1",
            "_uuid": instance.removeprefix("uuid:"),
            "_submission_time": submitted_at,
            "_submitted_by": submitted_by,
            "_status": "submitted_via_web",
            "_validation_status": {},
            "_xform_id_string": _local(root.get("id", "")),
            "_geolocation": [None, None],
            "_tags": [],
            "_notes": [],
        })
        self.records[record_id] = record
        self.xml[record_id] = xml
        self.files[record_id] = list(files.items())

    def served_xml(self, record_id: int) -> bytes:
        """The XML as KoBo serves it: root named after the asset uid with its own version id
        (unless ``kobo_naming`` is off: a form first deployed through KoBoCAT keeps its
        form_id), and whatever the root, KoBo's bookkeeping: ``formhub/uuid`` first,
        ``__version__`` (and, on such older forms, ``_version_``) before ``meta``, and
        ``meta/rootUuid``."""
        xml = self.xml[record_id]
        root_uuid = self.records[record_id]["meta/rootUuid"]
        if self.kobo_naming:
            xml = re.sub(rb"^(<\?xml[^>]*\?>)?\s*<([\w.-]+)([^>]*)>",
                         lambda m: (m.group(1) or b"") + b"<" + self.asset.encode()
                         + re.sub(rb'\s(id|version)="[^"]*"', b"", m.group(3))
                         + f' id="{self.asset}" version="vKoboVersion1">'.encode(), xml, count=1)
            xml = re.sub(rb"<(/?)([\w.-]+)>\s*$", b"<\\1" + self.asset.encode() + b">",
                         xml.rstrip())
        xml = re.sub(rb"^(<\?xml[^>]*\?>)?\s*<[\w.-]+[^>]*>",
                     lambda m: m.group(0) + b"<formhub><uuid>0123456789abcdef</uuid></formhub>",
                     xml, count=1)
        versions = b"<__version__>vKoboVersion1</__version__>" + (
            b"" if self.kobo_naming else b"<_version_>vOldKobocat</_version_>")
        xml = re.sub(rb"<(orx:)?meta>", lambda m: versions + m.group(0), xml, count=1)
        return re.sub(rb"</(orx:)?meta>", lambda m: f"<rootUuid>{root_uuid}</rootUuid>".encode()
                      + m.group(0), xml, count=1)

    # The API -----------------------------------------------------------------------------
    def _build(self) -> Flask:
        app = Flask("fake_kobo")

        @app.before_request
        def _auth() -> Response | None:
            self.requests.append((request.path, request.args.to_dict()))
            if request.headers.get("Authorization") != f"Token {self.token}":
                return Response(json.dumps({"detail": "Invalid token."}), 401,
                                mimetype="application/json")
            return None

        @app.get("/api/v2/assets/<asset>/data/")
        def data(asset: str) -> Any:
            if asset != self.asset:
                return jsonify(detail="Not found."), 404
            fault = self.page_faults.pop(0) if self.page_faults else None
            if fault == "429":
                return Response("{}", 429, {"Retry-After": "7"}, mimetype="application/json")
            if fault == "503":  # maintenance, saying when to come back
                return Response("<h1>Service Unavailable</h1>", 503, {"Retry-After": "11"},
                                mimetype="text/html")
            if fault == "500":
                return Response("<h1>Server Error (500)</h1>", 500, mimetype="text/html")
            as_xml = request.args.get("format") == "xml"
            if as_xml:
                # KPI's XML list: each instance as stored, always in ``_id`` order; it refuses
                # ``sort`` and ``fields`` (400).
                for refused in ("sort", "fields"):
                    if refused in request.args:
                        return jsonify({refused: ["This param is not supported in `XML` "
                                                  "format"]}), 400
                if not self.serve_xml:
                    return jsonify(detail="Not found."), 404
            query = {} if self.ignore_query else json.loads(request.args.get("query", "{}"))
            sort = {"_id": 1} if as_xml else json.loads(request.args.get("sort", "{}"))
            start = int(request.args.get("start", 0))
            limit = min(int(request.args.get("limit", 1000)), 1000)
            found = [r for r in self.records.values() if matches(r, query)]
            if sort.get("_id") == 1:
                found.sort(key=lambda r: r["_id"])
            elif sort.get("_id") == -1:
                found.sort(key=lambda r: -r["_id"])
            page = [self._with_urls(r) for r in found[start:start + limit]]
            if "fields" in request.args:  # only the keys asked for (KoBo's ``fields``)
                wanted = json.loads(request.args["fields"])
                page = [{k: r[k] for k in wanted if k in r} for r in page]
            more = start + limit < len(found)
            args = {**request.args.to_dict(), "start": start + limit}
            if as_xml:
                listed = found[start:start + limit]
                self._xml_faults([r["_id"] for r in listed])
                if self.down_after_xml is not None and any(
                        sorted(self.records).index(r["_id"]) >= self.down_after_xml
                        for r in listed):
                    return Response("<h1>Service Unavailable</h1>", 503, mimetype="text/html")
                self.xml_served += len(listed)
                nxt = escape(f"{request.base_url}?{urlencode(args)}") if more else ""
                return Response(
                    f'<?xml version="1.0" encoding="utf-8"?><root><count>{len(found)}</count>'
                    f"<next>{nxt}</next><previous></previous><results>".encode()
                    + b"".join(re.sub(rb"^<\?xml[^>]*>", b"", self.served_xml(r["_id"]))
                               for r in listed)
                    + b"</results></root>", 200, mimetype="application/xml")
            body = json.dumps({
                "count": len(found),
                "next": f"{request.base_url}?{urlencode(args)}" if more else None,
                "previous": None,
                "results": page,
            }).encode()
            if fault == "malformed":
                body = body[: len(body) // 2]
            if fault == "drop":
                return Response(drop_after(request.environ, body), 200,
                                {"Content-Length": str(len(body))}, mimetype="application/json")
            return Response(body, 200, mimetype="application/json")

        @app.get("/api/v2/assets/<asset>/data/<int:record_id>/")
        def record(asset: str, record_id: int) -> Any:
            if asset != self.asset or record_id not in self.records:
                return jsonify(detail="Not found."), 404
            if request.args.get("format") != "xml":
                return jsonify(self._with_urls(self.records[record_id]))
            if not self.serve_xml:
                return jsonify(detail="Not found."), 404
            self._xml_faults([record_id])
            # An outage for every submission after the first N (whatever order they are asked in:
            # a pull downloads several at once).
            if (self.down_after_xml is not None
                    and sorted(self.records).index(record_id) >= self.down_after_xml):
                return Response("<h1>Service Unavailable</h1>", 503, mimetype="text/html")
            self.xml_served += 1
            return Response(self.served_xml(record_id), 200, mimetype="application/xml")

        @app.get("/api/v2/assets/<asset>/data/<int:record_id>/attachments/<int:number>/")
        def attachment(asset: str, record_id: int, number: int) -> Any:
            files = self.files.get(record_id) or []
            if asset != self.asset or number >= len(files):
                return jsonify(detail="Not found."), 404
            name, data = files[number]
            if name in self.truncated_files:
                data = data[: len(data) // 2]
            return Response(data, 200, mimetype="image/jpeg")

        return app

    def _xml_faults(self, record_ids: list[int]) -> None:
        # Held: the first submission's XML (a pull downloads several at once; the first is the
        # one it stores first).
        if self.hold_xml is not None and min(self.records) in record_ids:
            self.hold_xml()

    def _with_urls(self, record: dict[str, Any]) -> dict[str, Any]:
        rid = record["_id"]
        base = request.host_url.rstrip("/")
        return {**record, "_attachments": [
            {"download_url": f"{base}/api/v2/assets/{self.asset}/data/{rid}/attachments/{n}/",
             "filename": f"enumerator1/attachments/0123456789abcdef/{record['_uuid']}/{name}",
             "media_file_basename": name, "mimetype": "image/jpeg", "id": rid * 100 + n}
            for n, (name, _data) in enumerate(self.files.get(rid, []))
        ]}
