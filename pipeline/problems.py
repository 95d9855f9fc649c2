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
    return Problem(
        "submission.too_large", 413, f"The upload is larger than the {limit // (1024 * 1024)} MB limit."
    )


def bad_attachment_name(name: str) -> Problem:
    return Problem("submission.bad_attachment_name", 400, f"Attachment name '{name}' is not a plain file name.")


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


def bad_form_state(state: str) -> Problem:
    return Problem("form.bad_state", 400, f"'{state}' is not a form state: use open, closing or closed.")


def validator_unavailable(reason: str) -> Problem:
    return Problem("form.validator_unavailable", 503,
                   f"Forms cannot be checked now: ODK Validate needs Java ({reason}).")


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

