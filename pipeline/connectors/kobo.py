"""Pull submissions of one KoBoToolbox asset through the KPI v2 API.

* Incremental and resumable: the cursor is the highest ``_id`` stored. Each page asks for
  ``query={"_id": {"$gt": cursor}}`` sorted by ``_id`` (KoBo has no default order), and the
  cursor moves after every stored submission, so a pull cut off anywhere resumes with no gap
  and no duplicate.
* The original XML is fetched per submission (``/data/{id}/?format=xml``); where the server
  will not serve it, the JSON record is mapped back to XML (``xmlmap``). Attachments come from
  ``_attachments[].download_url`` with the token.
* Edits keep ``_id`` but get a new ``_uuid``; validation statuses change in place. A re-check of
  the last ``recheck_days`` (by ``_submission_time`` or ``_last_edited``) catches both.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import problems
from pipeline.models import PullRun, Source, Submission
from pipeline.problems import Problem
from pipeline.storage import BlobStore

from . import http, intake, runs, xmlmap

PAGE_LIMIT = 1000  # KoBo's cap on one page
VALIDATION_STATES = {
    "validation_status_approved": "approved",
    "validation_status_not_approved": "rejected",
    "validation_status_on_hold": "has_issues",
}
Progress = Callable[[int, int | None], None]  # (submissions done, total known so far)


class KoboClient(http.Client):
    service = "KoBoToolbox"

    def __init__(self, url: str, token: http.Secret, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._token = token
        host = urlsplit(self.base_url).netloc
        # Attachments may be served by the KoBoCAT host (kc.) of the same deployment (kf.).
        self._token_hosts = {host, "kc." + host[3:] if host.startswith("kf.") else host}

    def auth_headers(self, url: str) -> dict[str, str]:
        if urlsplit(url).netloc in self._token_hosts:
            return {"Authorization": f"Token {self._token.reveal()}"}
        return {}

    def secrets(self) -> list[str]:
        return [self._token.reveal()]

    def page(self, asset: str, query: dict[str, Any], limit: int) -> dict[str, Any]:
        what = f"asset {asset} data page"
        body = self.get_json(f"api/v2/assets/{asset}/data/", what=what, params={
            "format": "json", "query": json.dumps(query), "sort": json.dumps({"_id": 1}),
            "start": 0, "limit": min(limit, PAGE_LIMIT),
        })
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not all(
                isinstance(r, dict) and isinstance(r.get("_id"), int) for r in results):
            raise problems.bad_page(self.service, what, "no list of results with numeric _id")
        return body

    def xml(self, asset: str, record_id: int) -> bytes | None:
        """The submission's original XML, or None where the server does not serve it."""
        try:
            return self.get_bytes(f"api/v2/assets/{asset}/data/{record_id}/",
                                  what=f"XML of submission {record_id}", params={"format": "xml"})
        except Problem as problem:
            if problem.code in ("connector.not_found", "connector.refused"):
                return None
            raise


def client_for(source: Source, **kwargs: Any) -> KoboClient:
    return KoboClient(source.url, http.Secret(source.secret), **kwargs)


def pull(session: Session, blobs: BlobStore, source: Source, *, client: KoboClient | None = None,
         page_size: int = 100, recheck_days: float = 7, from_start: bool = False,
         progress: Progress | None = None) -> PullRun:
    """Pull what is new (then re-check recent submissions); returns the recorded run."""
    own_client = client is None
    client = client or client_for(source)

    def work(run: runs.Run) -> None:
        cursor = {} if from_start else dict(source.cursor or {})
        known_before = int(cursor.get("last_id", 0))
        since = recheck_since(cursor.get("rechecked_at"), recheck_days)
        _pull_new(session, blobs, source, client, run, cursor, page_size, progress)
        if recheck_days:
            _recheck(session, blobs, source, client, run, known_before, page_size, since)
            cursor["rechecked_at"] = _now_text()
        cursor["pulled_at"] = _now_text()
        run.checkpoint(source, cursor)

    return runs.carry_out(session, "kobo", source, client, work, close_client=own_client)


def _pull_new(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
              run: runs.Run, cursor: dict[str, Any], page_size: int,
              progress: Progress | None) -> None:
    done = 0
    for records, total in _pages(client, source.remote_form, {}, int(cursor.get("last_id", 0)),
                                 page_size):
        for record in records:
            _take(session, blobs, source, client, run, record)
            cursor["last_id"] = record["_id"]
            run.checkpoint(source, cursor)
            done += 1
            if progress:
                progress(done, total)


RECHECK_OVERLAP = timedelta(days=1)  # KoBo's clock and ours, and edits indexed late


def recheck_since(previous: str | None, days: float) -> str:
    """Where re-checking starts: ``days`` ago, or further back, a day before the previous
    re-check, when pulls paused for longer (so a pause never hides an edit or a review)."""
    since = datetime.now(UTC) - timedelta(days=days)
    if previous:
        try:
            last = datetime.fromisoformat(previous)
        except ValueError:
            last = None  # a cursor written by hand: the usual window
        if last is not None:
            since = min(since, (last if last.tzinfo else last.replace(tzinfo=UTC)) - RECHECK_OVERLAP)
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _recheck(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
             run: runs.Run, known_before: int, page_size: int, since: str) -> None:
    """Look again at recent submissions this run did not bring: edited or newly reviewed?"""
    if not known_before:
        return
    window = {"_id": {"$lte": known_before},
              "$or": [{"_submission_time": {"$gte": since}}, {"_last_edited": {"$gte": since}}]}
    for records, _total in _pages(client, source.remote_form, window, 0, page_size):
        for record in records:
            _take(session, blobs, source, client, run, record, count_known=False)
            run.checkpoint()  # the counts so far, and the pull's claim kept alive


def _pages(client: KoboClient, asset: str, query: dict[str, Any], after: int,
           limit: int) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
    """Pages of records with ``_id > after``: each page asks again from the last ``_id`` seen."""
    total: int | None = None
    while True:
        body = client.page(asset, {**query, "_id": {**query.get("_id", {}), "$gt": after}}, limit)
        records = sorted((r for r in body["results"] if r["_id"] > after), key=lambda r: r["_id"])
        if len(records) < len(body["results"]):  # a server ignoring the query would loop forever
            raise problems.bad_page(client.service, f"asset {asset} data page",
                                f"it lists submissions at or before _id {after}, which were not asked for")
        if total is None and isinstance(body.get("count"), int):
            total = body["count"]
        if not records:
            return
        yield records, total
        after = records[-1]["_id"]
        if not body.get("next"):
            return


def _take(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
          run: runs.Run, record: dict[str, Any], *, count_known: bool = True) -> str:
    remote = intake.Remote(
        ref=str(record["_id"]),
        instance_id=instance_id(record),
        review_state=review_state(record),
        received_at=submission_time(record),
        submitter=record.get("_submitted_by") or None,
    )
    versions = _versions(source)
    replaced = _replaced_version(session, record, remote.instance_id)
    if replaced:
        record = {**record, "meta/deprecatedID": replaced}
    served_xml = True

    def fetch() -> tuple[bytes, dict[str, bytes]]:
        nonlocal served_xml
        xml = client.xml(source.remote_form, record["_id"])
        served_xml = xml is not None
        names = xml if xml is not None else json.dumps(record, ensure_ascii=False).encode()
        return xml or b"", _attachments(client, record, names)

    def adapt(xml: bytes) -> bytes:
        if served_xml:
            return xmlmap.onto_form(xml, versions, replaced)
        return xmlmap.kobo_json_to_xml(record, versions)

    return intake.take(session, blobs, run, source, remote, fetch, count_known=count_known,
                       adapt=adapt)


def _versions(source: Source) -> xmlmap.Versions:
    """Our form's published versions, parsed once per pull (kept on the source object)."""
    xforms = [v.xml for v in reversed(source.form.versions)]  # newest first
    cached = getattr(source, "_parsed_versions", None)
    if cached is None or cached.xforms != xforms:
        cached = xmlmap.Versions(xforms)
        source._parsed_versions = cached  # type: ignore[attr-defined]
    return cached


def _replaced_version(session: Session, record: dict[str, Any], current: str | None) -> str | None:
    """For an edit that does not say which version it replaces (no ``meta/deprecatedID``), the
    version we hold of the same root (``meta/rootUuid``), so it is stored as an edit."""
    root = str(record.get("meta/rootUuid") or "")
    if not root or record.get("meta/deprecatedID") or not current:
        return None
    root = root if root.startswith("uuid:") else f"uuid:{root}"
    held = session.scalar(select(Submission.instance_id).where(
        Submission.root_id == root, Submission.current.is_(True)))
    return held if held and held != current else None


def _attachments(client: KoboClient, record: dict[str, Any], names: bytes) -> dict[str, bytes]:
    """The files of ``_attachments`` whose names the submission (``names``) mentions."""
    files: dict[str, bytes] = {}
    for attachment in record.get("_attachments") or []:
        if not isinstance(attachment, dict) or attachment.get("is_deleted"):
            continue
        name = posixpath.basename(attachment.get("media_file_basename")
                                  or attachment.get("filename") or "")
        url = attachment.get("download_url")
        if name and url and name.encode() in names:
            files[name] = client.get_bytes(url, what=f"attachment {name}")
    return files


def instance_id(record: dict[str, Any]) -> str | None:
    value = record.get("meta/instanceID")
    if value:
        return str(value)
    return f"uuid:{record['_uuid']}" if record.get("_uuid") else None


def review_state(record: dict[str, Any]) -> str | None:
    status = record.get("_validation_status") or {}
    return VALIDATION_STATES.get(status.get("uid", "")) if isinstance(status, dict) else None


def submission_time(record: dict[str, Any]) -> datetime | None:
    """KoBo writes ``_submission_time`` in UTC without a timezone."""
    try:
        when = datetime.fromisoformat(str(record.get("_submission_time") or ""))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
