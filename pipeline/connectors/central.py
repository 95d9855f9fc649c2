"""Pull submissions of one ODK Central form: OData feed to find them, XML and attachments to
store them exactly.

* Session auth: ``POST /v1/sessions`` with email and password gives a bearer token; a 401 later
  (token expired) logs in again, once.
* New submissions come from the OData feed filtered on ``__system/submissionDate`` and ordered
  by it; changed ones (edited or reviewed since the last pull began) from a second pass on
  ``__system/updatedAt`` (empty until a submission is edited or reviewed). Both page by the
  time itself (``$filter ... ge {last seen}`` with ``$top``), never by ``@odata.nextLink``:
  Central answers 501 to ``$orderby`` together with the ``$skiptoken`` its next links carry.
* Central prints times to the millisecond while it stores them finer, and several submissions
  can share a millisecond, so the filter uses ``ge`` on the last time seen: the rows at that
  boundary come back and are recognised by their ``__id`` and state (kept in the cursor).
* The cursor moves after each stored submission. Rows are read in submission-date order, so
  whatever a cut-off pull did not reach is still at or after the saved submission date.
"""

from __future__ import annotations

import email.utils
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from pipeline import problems
from pipeline.models import FROM_CENTRAL_REVIEW_STATES, PullRun, Source
from pipeline.storage import BlobStore

from . import http, intake, kobo, runs, xmlmap

ETAG_MD5 = re.compile(r'^(?:W/)?"([0-9a-f]{32})"$')
Progress = Callable[[int, int | None], None]


class CentralClient(http.Client):
    service = "ODK Central"

    def __init__(self, url: str, email: str, password: http.Secret, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.email = email
        self._password = password
        self._token: http.Secret | None = None
        self._logging_in = False
        self._auth_lock = threading.RLock()
        self.logins = 0

    def auth_headers(self, url: str) -> dict[str, str]:
        if not self.same_host(url):
            return {}
        with self._auth_lock:  # downloads run in several threads: one logs in, the others wait
            if self._logging_in:
                return {}  # the login request itself (only its thread gets here meanwhile)
            if self._token is None:
                self._login()
            assert self._token is not None
            return {"Authorization": f"Bearer {self._token.reveal()}"}

    def reauthenticate(self) -> bool:
        with self._auth_lock:
            if self._logging_in:
                return False
            self._token = None  # the next attempt logs in again
            return True

    def secrets(self) -> list[str]:
        return [self._password.reveal()] + ([self._token.reveal()] if self._token else [])

    def _login(self) -> None:
        self._logging_in = True
        try:
            resp = self.request("POST", "v1/sessions", what="login",
                                json={"email": self.email, "password": self._password.reveal()})
        finally:
            self._logging_in = False
        try:
            token = resp.json()["token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise problems.bad_page(self.service, "login", "no session token in the answer") from exc
        self._token = http.Secret(str(token))
        self.logins += 1

    def file_md5(self, resp: Any) -> str | None:
        """Central sends a file's MD5 sum as its ETag (``"…"``, ``W/"…"`` through a proxy
        that compresses). A file kept in S3 comes by a redirect, whose ETag is S3's own, not
        always an MD5: not used."""
        if resp.history or not self.same_host(resp.url):
            return None
        match = ETAG_MD5.match(resp.headers.get("ETag") or "")
        return match.group(1) if match else None

    # Form paths ---------------------------------------------------------------------------
    def form_path(self, project: str, form: str) -> str:
        return f"v1/projects/{quote(project, safe='')}/forms/{quote(form, safe='')}"

    def feed(self, project: str, form: str,
             params: dict[str, str] | None) -> tuple[dict[str, Any], datetime | None]:
        """One page of the OData feed, and the server's clock when it answered."""
        what = f"submission list of form {form} in project {project}"
        path = f"{self.form_path(project, form)}.svc/Submissions"
        resp = self.request("GET", path, what=what, params=params)
        body = self.json_of(resp, what)
        rows = body.get("value") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(
                isinstance(r, dict) and isinstance(r.get("__id"), str)
                and isinstance(r.get("__system"), dict) for r in rows):
            raise problems.bad_page(self.service, what, "no list of submissions with __id")
        return body, _server_time(resp.headers.get("Date"))

    def submission_xml(self, project: str, form: str, instance_id: str) -> bytes:
        path = f"{self.form_path(project, form)}/submissions/{quote(instance_id, safe=':')}.xml"
        return self.get_bytes(path, what=f"XML of submission {instance_id}")

    def attachments(self, project: str, form: str, instance_id: str) -> dict[str, bytes]:
        base = f"{self.form_path(project, form)}/submissions/{quote(instance_id, safe=':')}"
        listing = self.get_json(f"{base}/attachments", what=f"attachments of {instance_id}")
        if not isinstance(listing, list):
            raise problems.bad_page(self.service, f"attachments of {instance_id}", "not a list")
        return {
            item["name"]: self.get_file(f"{base}/attachments/{quote(item['name'], safe='')}",
                                        name=item["name"])
            for item in listing
            if isinstance(item, dict) and item.get("exists") and isinstance(item.get("name"), str)
        }


def split_remote_form(value: str) -> tuple[str, str]:
    project, sep, form = (value or "").partition(":")
    if not sep or not project.strip() or not form.strip():
        raise problems.bad_remote_form(value)
    return project.strip(), form.strip()


def client_for(source: Source, **kwargs: Any) -> CentralClient:
    return CentralClient(source.url, source.username or "", http.Secret(source.secret), **kwargs)


def pull(session: Session, blobs: BlobStore, source: Source, *,
         client: CentralClient | None = None, page_size: int = 250, from_start: bool = False,
         progress: Progress | None = None, force: bool = False) -> PullRun:
    """Pull new and changed submissions; returns the recorded run."""
    own_client = client is None
    client = client or client_for(source)

    def work(run: runs.Run) -> None:
        project, form = split_remote_form(source.remote_form)
        intake.retry_unloaded(session, run, source)
        cursor = {} if from_start else dict(source.cursor or {})
        prefetch = intake.Prefetch()
        try:
            with intake.saved_on_failure(session, run, source, cursor):
                _retry_damaged(session, blobs, source, client, run, cursor, project, form,
                               prefetch)
                _pull(session, blobs, source, client, run, cursor, project, form, page_size,
                      progress, prefetch)
        finally:
            prefetch.close()

    return runs.carry_out(session, "central", source, client, work, close_client=own_client,
                          force=force)


def _retry_damaged(session: Session, blobs: BlobStore, source: Source, client: CentralClient,
                   run: runs.Run, cursor: dict[str, Any], project: str, form: str,
                   prefetch: intake.Prefetch) -> None:
    """Fetch again the submissions a file of which arrived damaged at an earlier pull (kept in
    the cursor until they are stored, or gone from the server): their rows by ``__id``."""
    refs = [str(ref) for ref in cursor.get("damaged") or []]
    run.damaged.extend(ref for ref in refs if ref not in run.damaged)
    versions = kobo.parsed_versions(source) if refs else None
    for start in range(0, len(refs), 50):
        chunk = refs[start:start + 50]
        where = " or ".join("__id eq '{}'".format(ref.replace("'", "''")) for ref in chunk)
        body, _time = client.feed(project, form, {"$filter": where})
        rows = [row for row in body["value"] if row["__id"] in chunk]
        prefetch.start(session, [(_current_instance(row), row["__id"],
                                  _download(client, project, form, row)) for row in rows])
        for row in rows:
            run.damaged.remove(row["__id"])
            _take(session, blobs, source, client, run, project, form, row, True, versions,
                  prefetch)  # may add it again
        for gone in set(chunk) - {row["__id"] for row in rows}:
            run.damaged.remove(gone)
        intake.save(session, run, source, cursor)


def _pages(client: CentralClient, project: str, form: str, field: str, since: str | None,
           page_size: int, seen: Callable[[], dict[str, str]]) -> Iterator[tuple[list[dict[str, Any]], int | None,
                                                                 datetime | None]]:
    """The feed's rows with ``field`` at or after ``since``, oldest first, paged by the time
    itself: each page asks ``$filter={field} ge {last time seen}`` with ``$orderby`` and
    ``$top`` (Central refuses ``$orderby`` with the ``$skiptoken`` of its next links, 501).

    Rows at the boundary come back on the next page; those in ``seen()`` (``__id`` → signature)
    unchanged are left out. A page of nothing but such rows is asked again, larger.
    Yields (new rows, total matching so far, the server's clock)."""
    top, stuck, done = page_size, 0, 0
    while True:
        params = {"$orderby": f"{field} asc", "$top": str(top), "$count": "true"}
        if since:
            params["$filter"] = f"{field} ge {since}"
        body, server_time = client.feed(project, form, params)
        rows = body["value"]
        times = [_system_time(row, field) for row in rows]
        if since and any(t is None or t < since for t in times):
            raise problems.bad_page(client.service, "submission list",
                                f"it lists submissions from before {since}, which were not asked for")
        if times != sorted(times, key=lambda t: t or ""):
            raise problems.bad_page(client.service, "submission list", "its rows are not in order")
        boundary = seen()
        fresh = [row for row in rows if boundary.get(row["__id"]) != _signature(row)]
        count = body.get("@odata.count")
        total = done + count if isinstance(count, int) else None
        if fresh:
            yield fresh, total, server_time
            done += len(fresh)
        if len(rows) < top:
            return
        last = times[-1]
        if last == since:  # a whole page inside one printed millisecond: ask for more
            stuck += 1
            if stuck > 4:
                raise problems.bad_page(client.service, "submission list",
                                    "it sends the same rows again, whatever is asked")
            top *= 2
        else:
            stuck, top = 0, page_size
        since = last


def _system_time(row: dict[str, Any], field: str) -> str | None:
    return row["__system"].get(field.rsplit("/", 1)[-1]) or None


def _pull(session: Session, blobs: BlobStore, source: Source, client: CentralClient,
          run: runs.Run, cursor: dict[str, Any], project: str, form: str, page_size: int,
          progress: Progress | None, prefetch: intake.Prefetch) -> None:
    """New submissions by submission date (the cursor moves after each), then submissions
    edited or reviewed since the last pull began, by ``updatedAt``."""
    changed_since = cursor.get("updated_since") or cursor.get("pending_since")
    started: datetime | None = None
    newest_known = cursor.get("submitted")
    versions = kobo.parsed_versions(source)
    done = 0
    at_start = dict(cursor.get("at_submitted") or {})
    for rows, total, server_time in _pages(client, project, form, "__system/submissionDate",
                                           cursor.get("submitted"), page_size,
                                           lambda: cursor.get("at_submitted") or {}):
        if started is None and server_time is not None:
            started = server_time
            if not cursor.get("updated_since"):
                # The first pull of this source: if it is cut off, the next one must still see
                # edits made to what it did store.
                cursor.setdefault("pending_since", _printed(started - timedelta(seconds=1)))
        prefetch.start(session, [(_current_instance(row), row["__id"],
                                  _download(client, project, form, row)) for row in rows])
        for row in rows:
            submitted = row["__system"].get("submissionDate") or ""
            # A row at the boundary that came back changed (reviewed, edited) is not new.
            fresh = not newest_known or submitted > newest_known or row["__id"] not in at_start
            _take(session, blobs, source, client, run, project, form, row, fresh, versions,
                  prefetch)
            _advance(cursor, row)
            done += 1
            if progress:
                progress(done, total)
        intake.save(session, run, source, cursor)
    if changed_since:
        at_updated: dict[str, str] = {}
        for rows, _total, server_time in _pages(client, project, form, "__system/updatedAt",
                                                changed_since, page_size, lambda: at_updated):
            started = started or server_time
            for row in rows:
                _take(session, blobs, source, client, run, project, form, row, False, versions,
                      prefetch)
                at_updated[row["__id"]] = _signature(row)
            intake.save(session, run)  # the counts so far, and the pull's claim kept alive
    # Edits and reviews made since this pull began have a later updatedAt. The server's clock,
    # to the second, less a second: nothing slips between two pulls.
    since = started or _time(cursor.get("submitted"))
    if since is not None:
        cursor["updated_since"] = _printed(since - timedelta(seconds=1))
        cursor.pop("pending_since", None)
        intake.save(session, run, source, cursor)


def _server_time(header: str | None) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(header) if header else None
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when else None


def _printed(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _signature(row: dict[str, Any]) -> str:
    system = row["__system"]
    return f"{_current_instance(row)}|{system.get('reviewState')}|{system.get('updatedAt')}"


def _advance(cursor: dict[str, Any], row: dict[str, Any]) -> None:
    """Move the cursor past ``row``, remembering the rows that share the newest time."""
    value = row["__system"].get("submissionDate")
    if not value:
        return
    if not cursor.get("submitted") or value > cursor["submitted"]:
        cursor["submitted"], cursor["at_submitted"] = value, {}
    if value == cursor["submitted"]:
        cursor["at_submitted"] = {**cursor.get("at_submitted", {}), row["__id"]: _signature(row)}


def _current_instance(row: dict[str, Any]) -> str | None:
    meta = row.get("meta")
    if isinstance(meta, dict) and meta.get("instanceID"):
        return str(meta["instanceID"])
    # Without the meta group, ``__id`` names the current version only before any edit.
    return row["__id"] if not row["__system"].get("edits") else None


def _take(session: Session, blobs: BlobStore, source: Source, client: CentralClient,
          run: runs.Run, project: str, form: str, row: dict[str, Any], fresh: bool,
          versions: Any, prefetch: intake.Prefetch) -> str:
    system = row["__system"]
    remote = intake.Remote(
        ref=row["__id"],
        instance_id=_current_instance(row),
        review_state=FROM_CENTRAL_REVIEW_STATES.get(system.get("reviewState")),
        received_at=_time(system.get("updatedAt") if system.get("edits") else None)
        or _time(system.get("submissionDate")),
        submitter=system.get("submitterName") or None,
    )

    fetch = prefetch.get(row["__id"], _download(client, project, form, row))
    return intake.take(session, blobs, run, source, remote, fetch, count_known=fresh,
                       adapt=lambda xml: xmlmap.onto_form(xml, versions))


def _download(client: CentralClient, project: str, form: str,
              row: dict[str, Any]) -> intake.Fetch:
    def fetch() -> tuple[bytes, dict[str, bytes]]:
        xml = client.submission_xml(project, form, row["__id"])
        # The feed says how many files Central holds: no listing to ask for when none.
        if not row["__system"].get("attachmentsPresent", 1):
            return xml, {}
        return xml, client.attachments(project, form, row["__id"])
    return fetch


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
