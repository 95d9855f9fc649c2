"""Pull submissions of one KoBoToolbox asset through the KPI v2 API.

* Incremental and resumable: the cursor is the highest ``_id`` stored. Each page asks for
  ``query={"_id": {"$gt": cursor}}`` sorted by ``_id`` (KoBo has no default order), and the
  cursor moves after every stored submission, so a pull cut off anywhere resumes with no gap
  and no duplicate.
* The original XML of a page's new submissions comes in one request (the data list with
  ``format=xml``), one submission's alone (``/data/{id}/?format=xml``) if the list lacks it;
  where the server will not serve XML, the JSON record is mapped back to XML (``xmlmap``). Attachments come from
  ``_attachments[].download_url`` with the token.
* Edits keep ``_id`` but get a new ``_uuid``; validation statuses change in place, and KoBo
  keeps no time of either. A re-check of what was submitted in the last ``recheck_days``
  catches both there; a full re-check (``full_recheck_days``: every ``_id`` with a short
  fingerprint, only changed ones read whole) catches them on older submissions.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterator
from concurrent.futures import Future
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

    def page(self, asset: str, query: dict[str, Any], limit: int,
             fields: list[str] | None = None) -> dict[str, Any]:
        what = f"asset {asset} data page"
        params: dict[str, Any] = {
            "format": "json", "query": json.dumps(query), "sort": json.dumps({"_id": 1}),
            "start": 0, "limit": min(limit, PAGE_LIMIT),
        }
        if fields:
            params["fields"] = json.dumps(fields)
        body = self.get_json(f"api/v2/assets/{asset}/data/", what=what, params=params)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not all(
                isinstance(r, dict) and isinstance(r.get("_id"), int) for r in results):
            raise problems.bad_page(self.service, what, "no list of results with numeric _id")
        return body

    def page_xml(self, asset: str, ids: list[int]) -> dict[str, bytes] | None:
        """The original XML of the submissions ``ids`` in one request (the data list with
        ``format=xml``: KPI takes ``query``, ``start`` and ``limit`` there, refuses ``sort`` and
        ``fields``, and lists in ``_id`` order), by instanceID; None where the server will not
        serve XML."""
        what = f"asset {asset} XML page"
        try:
            body = self.get_bytes(f"api/v2/assets/{asset}/data/", what=what, params={
                "format": "xml", "query": json.dumps({"_id": {"$in": ids}}), "limit": len(ids)})
        except Problem as problem:
            if problem.code in ("connector.not_found", "connector.refused"):
                return None
            raise
        try:
            return xmlmap.kobo_listing(body)
        except ValueError as exc:
            raise problems.bad_page(self.service, what, str(exc)) from exc

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
         progress: Progress | None = None, force: bool = False,
         full_recheck_days: float = 7) -> PullRun:
    """Pull what is new, then re-check recent submissions, or every one (``full_recheck``)
    when the last full re-check is older than ``full_recheck_days``; returns the recorded run."""
    own_client = client is None
    client = client or client_for(source)

    def work(run: runs.Run) -> None:
        intake.retry_unloaded(session, run, source)
        cursor = {} if from_start else dict(source.cursor or {})
        known_before = int(cursor.get("last_id", 0))
        since = recheck_since(cursor.get("rechecked_at"), recheck_days)
        versions = parsed_versions(source)
        prefetch = intake.Prefetch()
        try:
            with intake.saved_on_failure(session, run, source, cursor):
                _retry_damaged(session, blobs, source, client, run, cursor, versions, prefetch)
                _pull_new(session, blobs, source, client, run, cursor, page_size, progress,
                          versions, prefetch)
                if known_before and full_recheck_due(cursor, full_recheck_days):
                    _full_recheck(session, blobs, source, client, run, cursor, known_before,
                                  versions, prefetch)
                    cursor["rechecked_at"] = _now_text()
                elif recheck_days:
                    _recheck(session, blobs, source, client, run, known_before, page_size,
                             since, versions, prefetch)
                    cursor["rechecked_at"] = _now_text()
                if not known_before:  # a first pull read everything: as good as a full one
                    cursor["full_rechecked_at"] = _now_text()
        finally:
            prefetch.close()
        cursor["pulled_at"] = _now_text()
        intake.save(session, run, source, cursor)

    return runs.carry_out(session, "kobo", source, client, work, close_client=own_client,
                          force=force)


def _pull_new(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
              run: runs.Run, cursor: dict[str, Any], page_size: int,
              progress: Progress | None, versions: xmlmap.Versions,
              prefetch: intake.Prefetch) -> None:
    done = 0
    for records, total in _pages(client, source.remote_form, {}, int(cursor.get("last_id", 0)),
                                 page_size):
        _start(session, client, source.remote_form, records, prefetch)
        for record in records:
            _take(session, blobs, source, client, run, record, versions, prefetch)
            cursor["last_id"] = record["_id"]
            done += 1
            if progress:
                progress(done, total)
        intake.save(session, run, source, cursor)


def _retry_damaged(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
                   run: runs.Run, cursor: dict[str, Any], versions: xmlmap.Versions,
                   prefetch: intake.Prefetch) -> None:
    """Fetch again the submissions a file of which arrived damaged at an earlier pull (kept in
    the cursor until they are stored, or gone from the server)."""
    refs = [str(ref) for ref in cursor.get("damaged") or []]
    run.damaged.extend(ref for ref in refs if ref not in run.damaged)
    ids = [int(ref) for ref in refs if ref.isdigit()]
    for start in range(0, len(ids), PAGE_LIMIT):
        chunk = ids[start:start + PAGE_LIMIT]
        found = client.page(source.remote_form, {"_id": {"$in": chunk}}, len(chunk))["results"]
        _start(session, client, source.remote_form, found, prefetch)
        for record in found:
            ref = str(record["_id"])
            run.damaged.remove(ref)
            _take(session, blobs, source, client, run, record, versions, prefetch)  # may re-add
        for gone in {str(i) for i in chunk} - {str(r["_id"]) for r in found}:
            run.damaged.remove(gone)
        intake.save(session, run, source, cursor)


def parsed_versions(source: Source) -> xmlmap.Versions:
    """Our form's published versions, newest first, parsed once for the whole pull."""
    return xmlmap.Versions([v.xml for v in reversed(source.form.versions)])


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
             run: runs.Run, known_before: int, page_size: int, since: str,
             versions: xmlmap.Versions, prefetch: intake.Prefetch) -> None:
    """Look again at recent submissions this run did not bring: edited or newly reviewed?"""
    if not known_before:
        return
    window = {"_id": {"$lte": known_before},
              "_submission_time": {"$gte": since}}
    for records, _total in _pages(client, source.remote_form, window, 0, page_size):
        _start(session, client, source.remote_form, records, prefetch)
        for record in records:
            _take(session, blobs, source, client, run, record, versions, prefetch,
                  count_known=False)
        intake.save(session, run)  # the counts so far, and the pull's claim kept alive


def _start(session: Session, client: KoboClient, asset: str, records: list[dict[str, Any]],
           prefetch: intake.Prefetch) -> None:
    """Download ahead what a page lists and we do not hold: their XML in one request, then
    each one's files."""
    todo = prefetch.not_held(session, [(instance_id(r), str(r["_id"]), r) for r in records])
    if not todo:
        return
    # First in the pool's queue: the downloads below wait for it, never the other way round.
    listing = prefetch.pool.submit(client.page_xml, asset, [r["_id"] for _iid, _ref, r in todo])
    for _iid, ref, record in todo:
        prefetch.submit(ref, _download(client, asset, record, listing))


FINGERPRINT_FIELDS = ["_id", "_uuid", "_submission_time", "__version__", "_validation_status",
                      "meta/deprecatedID"]


def full_recheck_due(cursor: dict[str, Any], days: float) -> bool:
    """True when the last full re-check is older than ``days`` (or there was none)."""
    if not days:
        return False
    try:
        last = datetime.fromisoformat(cursor.get("full_rechecked_at") or "")
    except ValueError:
        return True
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return datetime.now(UTC) - last >= timedelta(days=days)


def fingerprint(record: dict[str, Any]) -> str:
    """What changes when KoBo edits a submission or its validation (KoBo keeps no time of the
    last edit): the instance's ``_uuid``, its ``deprecatedID``, the form version, the
    validation status and when it was set. Short: the cursor keeps one per submission."""
    status = record.get("_validation_status") or {}
    status = status if isinstance(status, dict) else {}
    text = "|".join(str(v) for v in (
        record.get("_uuid"), record.get("meta/deprecatedID"), record.get("_submission_time"),
        record.get("__version__"), status.get("uid"), status.get("timestamp")))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _full_recheck(session: Session, blobs: BlobStore, source: Source, client: KoboClient,
                  run: runs.Run, cursor: dict[str, Any], known_before: int,
                  versions: xmlmap.Versions, prefetch: intake.Prefetch) -> None:
    """List every submission held (``_id`` up to ``known_before``) with only the fingerprint
    fields, pages of 1,000; the records whose fingerprint changed since the last full re-check
    (all of them the first time) are read whole and taken again: an edit is fetched and stored,
    a validation change carried over, the rest found known without a download."""
    asset = source.remote_form
    prints: dict[str, str] = dict(cursor.get("prints") or {})
    for records, _total in _pages(client, asset, {"_id": {"$lte": known_before}}, 0,
                                  PAGE_LIMIT, fields=FINGERPRINT_FIELDS):
        changed = [r["_id"] for r in records if prints.get(str(r["_id"])) != fingerprint(r)]
        for start in range(0, len(changed), 100):
            ids = changed[start:start + 100]
            whole = client.page(asset, {"_id": {"$in": ids}}, len(ids))["results"]
            _start(session, client, asset, whole, prefetch)
            for record in whole:
                _take(session, blobs, source, client, run, record, versions, prefetch,
                      count_known=False)
                prints[str(record["_id"])] = fingerprint(record)
            intake.save(session, run)
        for record in records:
            prints.setdefault(str(record["_id"]), fingerprint(record))
    cursor["prints"] = prints
    cursor["full_rechecked_at"] = _now_text()


def _pages(client: KoboClient, asset: str, query: dict[str, Any], after: int,
           limit: int, fields: list[str] | None = None,
           ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
    """Pages of records with ``_id > after``: each page asks again from the last ``_id`` seen."""
    total: int | None = None
    while True:
        body = client.page(asset, {**query, "_id": {**query.get("_id", {}), "$gt": after}}, limit,
                           fields)
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
          run: runs.Run, record: dict[str, Any], versions: xmlmap.Versions,
          prefetch: intake.Prefetch, *, count_known: bool = True) -> str:
    remote = intake.Remote(
        ref=str(record["_id"]),
        instance_id=instance_id(record),
        review_state=review_state(record),
        received_at=submission_time(record),
        submitter=record.get("_submitted_by") or None,
    )
    replaced = _replaced_version(session, record, remote.instance_id)
    if replaced:
        record = {**record, "meta/deprecatedID": replaced}
    served_xml = True

    download = prefetch.get(remote.ref, _download(client, source.remote_form, record))

    def fetch() -> tuple[bytes, dict[str, bytes]]:
        nonlocal served_xml
        xml, files = download()
        served_xml = xml is not None
        return xml or b"", files

    def adapt(xml: bytes) -> bytes:
        if served_xml:
            return xmlmap.onto_form(xml, versions, replaced)
        return xmlmap.kobo_json_to_xml(record, versions)

    return intake.take(session, blobs, run, source, remote, fetch, count_known=count_known,
                       adapt=adapt)


def _download(client: KoboClient, asset: str, record: dict[str, Any],
              listing: Future[dict[str, bytes] | None] | None = None,
              ) -> Callable[[], tuple[bytes | None, dict[str, bytes]]]:
    """The submission's XML (None where the server will not serve it) and its files. The XML
    comes from its page's ``listing`` (``page_xml``) when given and found there."""
    def fetch() -> tuple[bytes | None, dict[str, bytes]]:
        listed = listing.result() if listing is not None else {}
        if listed is None:  # the server serves no XML
            xml = None
        else:
            xml = listed.get(instance_id(record) or "") or client.xml(asset, record["_id"])
        names = xml if xml is not None else json.dumps(record, ensure_ascii=False).encode()
        return xml, _attachments(client, record, names)
    return fetch


def _replaced_version(session: Session, record: dict[str, Any], current: str | None) -> str | None:
    """For an edit that does not say which version it replaces (no ``meta/deprecatedID``), the
    version we hold of the same root (``meta/rootUuid``), so it is stored as an edit."""
    root = str(record.get("meta/rootUuid") or "")
    if not root or record.get("meta/deprecatedID") or not current:
        return None
    root = root if root.startswith("uuid:") else f"uuid:{root}"
    if root == current:  # never edited: no version before it to look for
        return None
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
            # KoBo gives no size or sum of a file: a picture is checked by decoding it.
            files[name] = client.get_file(url, name=name, mimetype=attachment.get("mimetype"))
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
