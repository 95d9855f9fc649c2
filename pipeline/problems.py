"""The one catalogue of errors a user can meet.

Every refusal the system makes is a ``Problem``: a stable code, an HTTP status and a message in
words an enumerator or admin understands. Each client (Collect, the JSON API, web pages, the
command line) renders it once, in its own shape.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """A refusal with a code (``area.reason``), an HTTP status and a readable message."""

    def __init__(self, code: str, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"Problem({self.code!r}, {self.status}, {self.message!r})"


# Catalogue: one factory per problem so codes and statuses are never retyped by hand.

def malformed_xml(reason: str) -> Problem:
    return Problem("submission.malformed_xml", 400, f"The submission is not well-formed XML: {reason}")


def missing_xml_part() -> Problem:
    return Problem(
        "submission.missing_xml",
        400,
        "The upload has no 'xml_submission_file' part; ODK Collect always sends one.",
    )


def missing_instance_id() -> Problem:
    return Problem(
        "submission.missing_instance_id",
        400,
        "The submission has no meta/instanceID, so it cannot be stored safely.",
    )


def unknown_form(form_id: str, version: str | None = None) -> Problem:
    if version is None:
        return Problem("form.not_found", 404, f"No form with id '{form_id}' is published here.")
    return Problem(
        "form.version_not_found",
        404,
        f"Form '{form_id}' has no published version '{version}'. Get the current form and resend.",
    )


def form_closed(form_id: str) -> Problem:
    return Problem("form.closed", 409, f"Form '{form_id}' is closed and accepts no submissions.")


def instance_conflict(instance_id: str) -> Problem:
    return Problem(
        "submission.conflict",
        409,
        f"A different submission with instanceID '{instance_id}' was already received.",
    )


def too_large(limit: int) -> Problem:
    """A request body over ``MAX_CONTENT_LENGTH`` (``limit`` in bytes)."""
    return Problem(
        "request.too_large", 413, f"The upload is larger than the {limit // (1024 * 1024)} MB limit."
    )


def bad_attachment_name(name: str) -> Problem:
    return Problem("submission.bad_attachment_name", 400, f"Attachment name '{name}' is not a plain file name.")


def bad_setting(name: str, value: object, expected: str) -> Problem:
    return Problem("config.bad_setting", 500, f"The setting {name} = {value} cannot be used: {expected}.")


def unauthorized() -> Problem:
    return Problem("auth.required", 401, "Log in, or use the server address with your app-user key.")


def forbidden(what: str = "this") -> Problem:
    return Problem("auth.forbidden", 403, f"You are not allowed to access {what}.")


def rate_limited(seconds: int) -> Problem:
    """Too many failed passwords (``pipeline.throttle``); ``retry_after`` becomes the
    ``Retry-After`` header."""
    minutes = max(1, -(-seconds // 60))
    return Problem("auth.rate_limited", 429,
                   "Too many wrong passwords for this user name or from this address. Try again "
                   f"in {minutes} minute{'s' if minutes != 1 else ''}.", retry_after=seconds)


def not_found(what: str) -> Problem:
    return Problem("resource.not_found", 404, f"{what} was not found.")


def invalid_form(summary: str, errors: list[dict[str, Any]] | None = None) -> Problem:
    return Problem("form.invalid", 400, summary, errors=errors or [])


def parse_failure(reason: str) -> Problem:
    return Problem("submission.unparsable", 422, reason)


def form_version_exists(form_id: str, version: str) -> Problem:
    return Problem(
        "form.version_exists",
        409,
        f"Form '{form_id}' version '{version}' is already published with different content: "
        "raise the version in the settings sheet.",
    )


def project_already_registered(code: str) -> Problem:
    return Problem("projects.already_registered", 409,
                   f"This inspection's project is already in the registry as {code}.")


def bad_form_state(state: str) -> Problem:
    return Problem("form.bad_state", 400, f"'{state}' is not a form state: use open, closing or closed.")


def validator_unavailable(reason: str) -> Problem:
    return Problem("form.validator_unavailable", 503,
                   f"Forms cannot be checked now: ODK Validate needs Java ({reason}).")


def submission_too_complex(what: str, limit: int) -> Problem:
    return Problem("submission.too_complex", 400,
                   f"The submission has more than {limit:,} {what}; nothing was saved. "
                   "Real forms stay far below that: check the phone's form.")


def missing_form_id() -> Problem:
    return Problem("submission.missing_form_id", 400,
                   "The submission's root element has no 'id' attribute naming its form.")


def id_too_long(what: str, limit: int) -> Problem:
    return Problem("submission.id_too_long", 400,
                   f"The submission's {what} is longer than {limit} characters.")


def upload_truncated(reason: str) -> Problem:
    return Problem("submission.truncated", 400,
                   f"The upload was cut off before its end ({reason}); send it again.")


def not_multipart(reason: str) -> Problem:
    return Problem("submission.bad_multipart", 400,
                   f"The upload is not a readable multipart/form-data body ({reason}).")


def forms_not_found(form_ids: list[str]) -> Problem:
    """``form.not_found`` naming each of several form ids."""
    names = ", ".join(f"'{f}'" for f in form_ids)
    return Problem("form.not_found", 404,
                   f"No form with id {names} is published here." if len(form_ids) == 1 else
                   f"No forms with ids {names} are published here.")


def form_file_too_large(message: str = "The form file is larger than 20 MB.") -> Problem:
    """``message``: the same words in the reader's language, on the web pages."""
    return Problem("form.too_large", 413, message)


# ---- the server itself ----

def server_error() -> Problem:
    return Problem("server.error", 500, "The server met an unexpected error; nothing was saved.")


def database_unavailable() -> Problem:
    return Problem("server.database_unavailable", 503,
                   "The server's database is busy or out of reach for a moment; nothing was "
                   "saved. Send it again in a minute.")


def from_http(code: str, status: int, message: str) -> Problem:
    """Werkzeug's own refusals (404, 405, ...) in the one shape; ``code`` names the status."""
    return Problem(code, status, message)


# ---- who may write where (pipeline/access.py) ----

def key_not_for_form(xml_form_id: str) -> Problem:
    # The wording Collect users already know for an app user's key.
    return Problem("auth.forbidden", 403,
                   f"You are not allowed to access form '{xml_form_id}' with this key.")


def read_only(name: str, role: str) -> Problem:
    return Problem(
        "access.read_only", 403,
        f"{name} is a {role.replace('_', ' ')}, who may read submissions but not send them; "
        "nothing was saved. Send with an app user's QR code instead.")


def edit_outside_area(who: str, area: str) -> Problem:
    return Problem("access.edit_outside_area", 403,
                   f"The submission this edit replaces is outside the area {who} may send for "
                   f"({area}); nothing was saved.")


def no_location(who: str, doing: str, area: str) -> Problem:
    return Problem("access.no_location", 403,
                   f"This submission names no division, district or province, and {who} may "
                   f"{doing} only for {area}; nothing was saved. Choose the place in the form and "
                   "send it again.")


def location_mismatch(clash: str) -> Problem:
    return Problem("access.location_mismatch", 403, f"{clash}; nothing was saved.")


def outside_area(places: str, who: str, doing: str, area: str) -> Problem:
    return Problem("access.outside_area", 403,
                   f"This submission is for {places}, and {who} may {doing} only for {area}; "
                   "nothing was saved.")


def outside_upazila(upazila: str, who: str, allowed: str) -> Problem:
    return Problem("access.outside_area", 403,
                   f"This submission is for upazila {upazila}, and {who} is for upazila {allowed} "
                   "only; nothing was saved.")


# ---- people and areas ----

def weak_password(minimum: int) -> Problem:
    return Problem("user.weak_password", 400,
                   f"The password must have at least {minimum} characters.")


def bad_username(rule: str) -> Problem:
    return Problem("user.invalid", 400, rule)


def bad_role(role: str, roles: tuple[str, ...] | list[str]) -> Problem:
    return Problem("user.invalid_role", 400, f"Role '{role}' is not one of: {', '.join(roles)}.")


def user_exists(username: str) -> Problem:
    return Problem("user.exists", 409, f"A user named '{username}' already exists.")


def user_without_scope() -> Problem:
    return Problem("user.no_scope", 400,
                   "Give the user at least one district, division or province (or * for all).")


def self_disable() -> Problem:
    return Problem("user.self_disable", 400, "You cannot disable your own account.")


def bad_app_user_name() -> Problem:
    return Problem("app_user.invalid", 400, "An app user's name has 1 to 200 characters.")


def app_user_exists(name: str) -> Problem:
    return Problem("app_user.exists", 409,
                   f"An app user named '{name}' already exists; revoke it first or pick another "
                   "name.")


def bad_scope(code: str) -> Problem:
    return Problem("scope.invalid", 400,
                   f"'{code}' is not a scope: use * or bd_division:NN, bd_district:NNNN, "
                   "np_province:N, np_district:NNN, np_local_level:NNNNN (codes from the "
                   "location lists).")


def unknown_scope_place(code: str) -> Problem:
    return Problem("scope.unknown_place", 400, f"'{code}' is not in the location lists.")


def unknown_upazila(code: str) -> Problem:
    return Problem("link.unknown_upazila", 400, f"There is no upazila with the code {code}.")


# ---- review (pipeline/review.py) ----

def bad_review_state(state: str) -> Problem:
    return Problem("review.bad_state", 400,
                   f"'{state}' is not a review state: use approved, has_issues or rejected.")


def nothing_selected() -> Problem:
    return Problem("review.nothing_selected", 400, "Select at least one submission to review.")


def too_many_to_review(limit: int) -> Problem:
    return Problem("review.too_many", 400, f"Review at most {limit} submissions at once.")


def comment_required() -> Problem:
    return Problem("review.comment_required", 400,
                   "Say what is wrong in the comment, so the inspector knows what to fix.")


def empty_comment() -> Problem:
    return Problem("review.empty_comment", 400, "Write a comment before saving it.")


def comment_too_long(message: str) -> Problem:
    """``message``: in the reader's language (the web page says how long, with its digits)."""
    return Problem("review.comment_too_long", 400, message)


# ---- exports and the pages' filters ----

def bad_date_filter(text: str) -> Problem:
    return Problem("filter.bad_date", 400,
                   f"'{text}' is not a date: use YYYY-MM-DD, or a Bikram Sambat date such as "
                   "2083/08/16.")


def bad_period(text: str, reason: str = "") -> Problem:
    return Problem(
        "export.bad_period", 400,
        f"'{text}' is not a period{': ' + reason if reason else ''}. Use 2026, 2026-H2, 2026-Q3, "
        "2026-07, 2026-07-01..2026-09-30, last-month or last-quarter; for Nepal 2083/84, "
        "2083/84-H1 or 2083/84-Q2 (fiscal years from 1 Shrawan).",
    )


def bad_export_date(text: str) -> Problem:
    return Problem("export.bad_date", 400, f"'{text}' is not a date: write it as YYYY-MM-DD.")


def unknown_place(what: str, text: str) -> Problem:
    return Problem("export.unknown_place", 400, f"No {what} is called or coded '{text}'.")


def ambiguous_place(text: str, what: str, options: str) -> Problem:
    return Problem("export.ambiguous_place", 400,
                   f"'{text}' names more than one {what}: {options}. Use the code.")


def bad_language(lang: str) -> Problem:
    return Problem("export.bad_language", 400, f"'{lang}' is not a workbook language: use en, bn or ne.")


def bad_export_choice(message: str = "Choose a format and a language from the list.") -> Problem:
    """``message``: the same words in the reader's language, on the Downloads page."""
    return Problem("export.bad_choice", 400, message)


def no_export_data(form_id: str) -> Problem:
    return Problem("export.no_data", 404,
                   f"Form '{form_id}' has no published version with warehouse tables.")


# ---- the innovation project registry (pipeline/domain/projects.py) ----

def unreadable_registry(path: object, reason: str) -> Problem:
    return Problem("projects.unreadable_file", 400, f"Cannot read the registry file {path}: {reason}.")


def invalid_registry(message: str, errors: list[dict[str, Any]] | None = None) -> Problem:
    return Problem("projects.invalid_csv", 400, message, errors=errors or [])


# ---- pulls and imports (pipeline/connectors/) ----

def source_exists(name: str) -> Problem:
    return Problem("source.exists", 409, f"A source named '{name}' already exists.")


def source_not_found(name: str) -> Problem:
    return Problem("source.not_found", 404, f"No source named '{name}'. See 'sangjog source list'.")


def bad_source(message: str) -> Problem:
    return Problem("source.invalid", 400, message)


def bad_remote_form(value: str) -> Problem:
    return Problem("source.bad_remote_form", 400,
                   f"'{value}' is not a Central form: write it as PROJECT_ID:FORM_ID, e.g. 3:inspection.")


def pull_running(name: str, since: str = "", holder: str = "") -> Problem:
    """``since``: when it started, as `` since 10:42 UTC (14 min)`` (or nothing); ``holder``:
    who holds it, as `` by alice on host1 (process 1234), last heard of 3 s ago``."""
    return Problem("source.pull_running", 409,
                   f"A pull of {name} has been running{since}{holder}; wait for it to finish, "
                   "or if it is gone, take the source over with 'sangjog pull --force'.")


def not_dismissable(instance_id: str) -> Problem:
    return Problem("source.not_dismissable", 409,
                   f"'{instance_id}' is not a submission that failed to load.")


def pull_taken_over(name: str, minutes: int) -> Problem:
    return Problem("source.pull_taken_over", 409,
                   f"This pull of {name} went quiet for longer than {minutes} minutes and another "
                   "pull took the source over; it stopped here.")


def export_taken_over(period: str, minutes: int) -> Problem:
    return Problem("export.taken_over", 409,
                   f"This scheduled export of {period} went quiet for longer than {minutes} "
                   "minutes (or was forced) and another run took it over; it stopped here.")


def remote_form_mismatch(found: str, expected: str) -> Problem:
    return Problem("connector.form_mismatch", 409,
                   f"The remote submission is for form '{found}', but this source feeds form "
                   f"'{expected}'. Point the source at the matching form.")


def fields_not_in_form(fields: list[str]) -> Problem:
    shown = ", ".join(fields[:8]) + (" ..." if len(fields) > 8 else "")
    return Problem("connector.fields_not_in_form", 422,
                   f"The remote submission answers fields no published version of the form has "
                   f"({shown}); publish the version it was filled with, then pull again.")


def source_form_unpublished() -> Problem:
    return Problem("connector.form_unpublished", 409,
                   "The form this source feeds has no published version here.")


def import_not_found(path: object) -> Problem:
    return Problem("import.not_found", 404, f"There is no file or folder at {path}.")


def token_refused(service: str, status: int) -> Problem:
    return Problem("connector.token_refused", 502,
                   f"{service} refused the API token or password (HTTP {status}). "
                   "Check the credentials saved for this source.")


def remote_not_found(service: str, what: str) -> Problem:
    return Problem("connector.not_found", 502,
                   f"{service} says the asset/form was not found: {what}. "
                   "Check the asset uid or project and form id of this source.")


def remote_refused(service: str, status: int, what: str) -> Problem:
    return Problem("connector.refused", 502, f"{service} refused {what} (HTTP {status}).")


def unreachable(service: str, reason: str) -> Problem:
    return Problem("connector.unreachable", 502,
                   f"{service} could not be reached after several attempts: {reason}.")


def attachment_damaged(service: str, name: str, reason: str) -> Problem:
    return Problem("connector.attachment_damaged", 502,
                   f"the file {name} from {service} arrived damaged: {reason}. The submission "
                   "was not stored; the next pull fetches it again.", name=name)


def bad_page(service: str, what: str, reason: str) -> Problem:
    return Problem("connector.bad_page", 502,
                   f"{service} sent a page that cannot be read ({what}): {reason}. "
                   "Nothing from that page was imported.")


# ---- the OData feed (docs/odata.md) ----

def odata_bad_query(message: str) -> Problem:
    return Problem("odata.bad_query", 400, message)


def odata_unknown_property(name: str) -> Problem:
    return Problem("odata.unknown_property", 400,
                   f"This form has no property '{name}' here (see the service's $metadata).")


def odata_unsupported(message: str) -> Problem:
    return Problem("odata.unsupported", 501, f"{message} is not supported by this server.")


def odata_bad_skiptoken() -> Problem:
    return Problem("odata.bad_skiptoken", 400,
                   "The $skiptoken is not one this server gave out: follow @odata.nextLink as sent.")


# ---- backups (pipeline/backup.py, docs/deploy.md) ----

def backup_failed(reason: str) -> Problem:
    return Problem("backup.failed", 500, f"The backup was not made: {reason}")


def backup_damaged(path: str, reason: str) -> Problem:
    return Problem("backup.damaged", 422,
                   f"{path} is damaged or not a Sangjog backup ({reason}). Nothing was restored; "
                   "use another copy of the backup.")


def restore_failed(reason: str) -> Problem:
    return Problem("restore.failed", 500, f"The restore failed: {reason}")


def restore_not_empty(what: str) -> Problem:
    return Problem("restore.not_empty", 409,
                   f"Restore needs an empty database and data folder, but {what}. Nothing was "
                   "restored. Point DATABASE_URL and SANGJOG_DATA_DIR at empty ones, or add "
                   "--force to replace what is there.")


def restore_server_running(pid: int) -> Problem:
    return Problem("restore.server_running", 409,
                   f"The server is running on this data folder (process {pid}). Stop it first "
                   "(systemctl stop sangjog), then restore. Nothing was restored.")


def restore_mismatch(reason: str) -> Problem:
    return Problem("restore.mismatch", 409, f"This backup cannot be restored here: {reason}. "
                   "Nothing was restored.")


# ---- public form links (docs/web.md, "Forms in a browser") ----

def link_gone(reason: str) -> Problem:
    return Problem("link.gone", 410, f"This form link {reason}: ask the workshop's organiser "
                   "for a new one.")


def link_busy(seconds: int) -> Problem:
    minutes = max(1, -(-seconds // 60))
    return Problem("link.rate_limited", 429,
                   "This link has received as many submissions as it may in an hour. Try again "
                   f"in {minutes} minute{'s' if minutes != 1 else ''}.", retry_after=seconds)



def bad_export_review_state(state: str, states: tuple[str, ...] | list[str]) -> Problem:
    return Problem("export.bad_review_state", 400,
                   f"'{state}' is not a review state: use {', '.join(states)} (comma-separated).")


def bad_date_basis(text: str) -> Problem:
    return Problem("export.bad_date_basis", 400,
                   f"'{text}' is not a date basis: use visit or received.")


def bad_since(text: str) -> Problem:
    return Problem("export.bad_since", 400, f"'{text}' is not a date: use YYYY-MM-DD.")
