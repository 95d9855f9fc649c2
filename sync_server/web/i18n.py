"""The UI language (English, Bengali or Nepali, switchable on every page) and dates in local form.

The catalogues live in ``sync_server/translations/bn`` and ``sync_server/translations/ne``
(English is the source language of the messages). The compiled ``.mo`` is kept in the
repository beside its ``.po`` and compiled by ``make translations`` after an edit; the app never
compiles at run time (running it writes nothing into the checkout), and
``tests/test_i18n_catalogues.py`` fails when a committed ``.mo`` is not the compile of its
``.po``.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale, dates
from flask import (
    Blueprint,
    Flask,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, format_date, format_number, get_locale
from flask_babel import gettext as _

from pipeline import nepal_calendar
from pipeline.db import end_read, write_transaction
from pipeline.domain import places
from pipeline.problems import Problem

from ..db import get_session
from . import current_user

LANGUAGES = {"en": "English", "bn": "বাংলা", "ne": "नेपाली"}
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    # Times are stored in UTC; a row's show in its country's zone, the rest in TIME_ZONE.
    zone = app.config.get("TIME_ZONE") or "Asia/Dhaka"
    ZoneInfo(zone)  # a mistyped zone stops the start, not a page
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", zone)
    default = app.config.get("DEFAULT_LANGUAGE") or ""
    if default and default not in LANGUAGES:
        raise ValueError(f"DEFAULT_LANGUAGE is '{default}': use one of {', '.join(LANGUAGES)}")
    Babel(app, locale_selector=locale)
    app.register_blueprint(bp)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["thousands"] = format_number
    app.jinja_env.filters["in_text"] = count
    app.jinja_env.filters["bs_typed"] = bs_typed
    app.jinja_env.globals.update(role_name=role_name, state_name=state_name,
                                  stage_name=stage_name, form_title=form_title,
                                  status_name=status_name, period_type_name=period_type_name,
                                  period_name=period_name,
                                  problem_text=problem_text)
    app.context_processor(lambda: {"languages": LANGUAGES, "lang": locale()})


def locale() -> str:
    """The chosen language: this session's switch, the user's own choice, the deployment's
    ``DEFAULT_LANGUAGE``, then the browser's."""
    if not has_request_context():  # the command line speaks English
        return "en"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    user = current_user()
    if user is not None and user.language in LANGUAGES:
        return user.language
    default = current_app.config.get("DEFAULT_LANGUAGE")
    if default in LANGUAGES:
        return default
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


@bp.route("/language", methods=["POST"])
def switch():
    chosen = request.form.get("lang", "en")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        user = current_user()
        if user is not None and user.language != chosen:
            end_read(get_session())
            with write_transaction(get_session()):
                user.language = chosen
    back = request.form.get("next") or request.referrer or ""
    parts = urlsplit(back)
    if parts.netloc and parts.netloc != request.host:
        back = ""
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(path if path.startswith("/") and not path.startswith("//")
                    else url_for("dashboard.home"))


_SCRIPTS = {"beng": "BENGALI", "deva": "DEVANAGARI"}  # Babel's numbering systems, by script
_NAMES = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")


@functools.cache
def _digit_table(lang: str) -> dict[int, str]:
    """0-9 → the digits of ``lang``'s own numbering system as Babel (CLDR) names it (``beng``
    for Bengali, ``deva`` for Nepali), the characters taken from Unicode by name."""
    script = _SCRIPTS.get(Locale.parse(lang).default_numbering_system)
    if script is None:
        return {}
    return str.maketrans("0123456789",
                         "".join(unicodedata.lookup(f"{script} DIGIT {n}") for n in _NAMES))


def native_digits(text: str, lang: str | None = None) -> str:
    """``text`` with its digits in the language's own (০১২… in Bengali, ०१२… in Nepali)."""
    return text.translate(_digit_table(lang or locale()))


def running_digits(text: str) -> str:
    """Digits as a reader of the page's language expects them in running text: Devanagari in
    Nepali (dates and counts in sentences); Latin otherwise. Tables keep Latin digits; dates
    (``when``, ``day``) use each language's own digits."""
    return native_digits(text, "ne") if locale() == "ne" else text


def count(value: float) -> str:
    """A count in a sentence ("१,२३४ फारामहरू मेल खान्छन्"): grouped, in the reader's digits."""
    return running_digits(format_number(value))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _clock(value: datetime, zone: Any = None) -> str:
    """The time of day as Babel writes it in the reader's language. Where the language's clock
    has 12 hours and is not English (Bengali), with CLDR's own word for the part of the day
    (``৩:০৪ দুপুর``) instead of a Latin "PM"."""
    loc = get_locale()
    if loc.language != "en" and "h" in loc.time_formats["short"].pattern:
        return dates.format_skeleton("Bhm", value, tzinfo=zone, locale=loc)
    return dates.format_time(value, "short", tzinfo=zone, locale=loc)


def _moment(value: datetime, zone: Any = None) -> str:
    """Date and time in the reader's language (English: Babel's medium, with seconds)."""
    loc = get_locale()
    if loc.language == "en":
        return dates.format_datetime(value, "medium", tzinfo=zone, locale=loc)
    return loc.datetime_formats["medium"].format(
        _clock(value, zone), dates.format_date(value, "medium", locale=loc))


def when(value: datetime | str | None, country: str = "") -> str:
    """A moment in the reader's language and digits; a Nepal row's in Nepal time with its date
    in Bikram Sambat, a Bangladesh row's in Bangladesh time, anything else in the configured
    zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    value = _aware(value)
    zone = ZoneInfo(places.ZONES.get(country) or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    local = value.astimezone(zone)
    if country == "np":
        try:
            return native_digits(f"{nepal_calendar.text(local.date(), locale())} "
                                 f"{_clock(local, zone)}")
        except ValueError:  # outside the BS table: the Gregorian date
            pass
    return native_digits(_moment(local, zone))


def day(value: date | str | None, country: str = "") -> str:
    """A day in the reader's language and digits; a Nepal row's in Bikram Sambat (२०८३/०८/१६ in
    Nepali, 2083/08/16 BS otherwise)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if country == "np":
        try:
            return native_digits(nepal_calendar.text(value, locale()))
        except ValueError:  # outside the BS table: the Gregorian date
            pass
    return native_digits(format_date(value, "medium"))


def bs_typed(value: date | None) -> str:
    """A date as a Nepal page's date field shows it (``2083/08/16``), or ISO outside BS."""
    if value is None:
        return ""
    try:
        return nepal_calendar.written(value)
    except ValueError:
        return value.isoformat()


def form_title(form: Any) -> str:
    """A form's title in the reader's language. An XLSForm has one title (``form_title``), so
    the Bengali of each form's current title is kept in the catalogue, after the page texts;
    a title not found there shows as the form gives it."""
    title = form.title or form.xml_form_id
    return _(title) if "%" not in title else title


def problem_text(problem: Problem) -> str:
    """A refusal a person reads, in their language: the catalogue has the problems the pages
    raise with a fixed sentence; any other shows its (English) message."""
    from pipeline.accounts import MIN_PASSWORD_LENGTH
    from pipeline.review import MAX_BATCH

    texts = {
        "review.nothing_selected": lambda: _("Select at least one submission to review."),
        "review.comment_required": lambda: _(
            "Say what is wrong in the comment, so the inspector knows what to fix."),
        "review.empty_comment": lambda: _("Write a comment before saving it."),
        "review.too_many": lambda: _("Review at most %(n)s submissions at once.", n=MAX_BATCH),
        "user.weak_password": lambda: _("The password must have at least %(n)s characters.",
                                        n=MIN_PASSWORD_LENGTH),
        "user.invalid": lambda: _(
            "A user name has 1 to 80 characters: letters (a-z, A-Z), digits, '.', '_', '-' or "
            "'@', and starts with a letter or digit."),
        "user.no_scope": lambda: _(
            "Give the user at least one district, division or province (or * for all)."),
        "user.self_disable": lambda: _("You cannot disable your own account."),
        "app_user.invalid": lambda: _("An app user's name has 1 to 200 characters."),
    }
    text = texts.get(problem.code)
    return text() if text is not None else problem.message


def role_name(role: str) -> str:
    return {"admin": _("Admin"), "supervisor": _("Supervisor"),
            "district_officer": _("District officer")}.get(role, role)


def state_name(state: str | None) -> str:
    return {"received": _("Received"), "approved": _("Approved"), "has_issues": _("Has issues"),
            "rejected": _("Rejected"), "edited": _("Edited")}.get(state or "", state or "")


def stage_name(stage: str | None) -> str:
    return {"idea": _("Idea"), "pilot_running": _("Pilot running"),
            "pilot_complete": _("Pilot complete"), "recommended": _("Recommended for replication"),
            "replicated": _("Replicated")}.get(stage or "", stage or "")


def status_name(status: str | None) -> str:
    """A follow-up period's (or plan's) status on the tracker."""
    return {"reported": _("Reported"), "due": _("Due"),
            "overdue": _("Overdue")}.get(status or "", status or "")


def period_type_name(period_type: str | None) -> str:
    """Form 2's reporting choice."""
    return {"quarterly": _("Quarterly"), "half_yearly": _("Half-yearly"),
            "annual": _("Annual")}.get(period_type or "", period_type or "")


def period_name(label: str | None) -> str:
    """The period a report covers, "2026 Q4", "2026 H2" or "2026", in the reader's words."""
    year, _sep, part = (label or "").partition(" ")
    if not part:
        return running_digits(year)
    text = (_("%(year)s Q%(n)s", year=year, n=part[1:]) if part[0] == "Q"
            else _("%(year)s H%(n)s", year=year, n=part[1:]))
    return running_digits(text)
