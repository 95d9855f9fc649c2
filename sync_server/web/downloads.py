"""District offices' downloads: the workbook (or CSV zip) of an area and period they may see,
built on request with a telling file name, and the workbooks ``sangjog export schedule`` made
for their areas (kept in the attachment store, so every server lists and serves them)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, current_app, flash, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from exports import geo, query, scheduled
from exports.period import Period, current_quarter
from pipeline import problems
from pipeline import scope as scoping
from pipeline.db import end_read, write_transaction
from pipeline.models import REVIEW_STATES, Form
from pipeline.problems import Problem

from ..db import get_blobs, get_session
from . import current_scope, current_user, require
from .attachments import send_blob
from .dashboard import home_country
from .i18n import LANGUAGES, locale, problem_text

bp = Blueprint("downloads", __name__)
FORMATS = {"xlsx": _l("Excel workbook"), "csv": _l("CSV files of one form (zip)"),
           "csv_excel": _l("CSV files of one form for Excel (zip)")}
LANGS = tuple(LANGUAGES)  # the workbook speaks every language of the pages


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def may_see_area(scope: scoping.Scope, area: str | None) -> bool:
    if scope.everything:
        return True
    if area is None or area == "*":
        return False
    level, _sep, code = area.partition(":")
    if level.endswith("_district"):
        return scope.allows({"district": code})
    if level == "np_local_level":
        return scope.allows({"local_level": code})
    return code in (scope.divisions if level == "bd_division" else scope.provinces)


# Levels below an area a user holds, so a division's officer can also take one district.
CHILD_LEVEL = {"bd_division": "bd_district", "np_province": "np_district"}


def area_choices() -> list[tuple[str, str]]:
    """Areas this user may download: each area of their scope and every district inside it
    (every district for users who see everything)."""
    user = current_user()
    lang = locale()
    codes = list(user.scope) if user is not None else []
    if "*" in codes:
        districts = [f"{lvl}:{code}" for (lvl, code) in geo.places()
                     if lvl in ("bd_district", "np_district")]
        codes = ["*"] + sorted(districts, key=lambda c: area_name(c, "en"))
    else:
        for code in list(codes):
            level, _sep, value = code.partition(":")
            if level in CHILD_LEVEL:
                children = geo.children(CHILD_LEVEL[level], value)
                codes += [f"{CHILD_LEVEL[level]}:{p.code}" for p in sorted(children, key=lambda p: p.en)]
    return [(c, area_name(c, lang)) for c in dict.fromkeys(codes)]


def area_name(code: str, lang: str) -> str:
    if code == "*":
        return _("All areas")
    level, _sep, value = code.partition(":")
    place = geo.place(level, value)
    return place.name(lang) if place else code


def file_name(area: str, period: Period, last: str, fmt: str) -> str:
    """``sangjog-rangpur-5585-2026-Q3-bn.xlsx``; a CSV zip ends with its form id instead."""
    return geo.file_name(geo.area_stem(area), period.slug, last, "xlsx" if fmt == "xlsx" else "zip")


def _visible() -> Callable[[str], bool]:
    """Whether the user may see an area's scheduled workbook (``may_see_area``, as for building
    one here)."""
    scope = current_scope()
    return lambda area: may_see_area(scope, area)


@bp.route("/downloads")
@require()
def page(status: int = 200, chosen: Any = None):
    forms = list(get_session().scalars(select(Form).order_by(Form.title)))
    return render_template("downloads.html", areas=area_choices(), formats=FORMATS, forms=forms,
                           langs=LANGS, period=current_quarter(country=home_country()),
                           nepal="np" in current_scope().countries,
                           scheduled=scheduled.listed(get_session(), _visible()),
                           workshops=_workshops(), lang=locale(), chosen=chosen or MultiDict(),
                           review_states=REVIEW_STATES, date_bases=_date_bases(),
                           last_downloads=_last_downloads()), status


def _date_bases() -> list[tuple[str, str]]:
    return [("received", _("Date received")), ("visit", _("The form's own date (visit, workshop, follow-up)"))]


def _download_key(area: str, fmt: str, form_id: str) -> str:
    return f"{area}|{fmt}" + (f"|{form_id}" if fmt != "xlsx" else "")


def _last_downloads() -> list[tuple[str, str]]:
    """This user's remembered downloads: (area and format, when), newest first."""
    user = current_user()
    done = (user.preferences or {}).get("downloaded", {}) if user else {}
    out = []
    for key, at in sorted(done.items(), key=lambda kv: kv[1], reverse=True)[:5]:
        area, _sep, rest = key.partition("|")
        out.append((f"{area_name(area, locale())} {rest.replace('|', ' ')}", at))
    return out


def _remember_download(key: str, at: datetime) -> None:
    user = current_user()
    prefs = dict(user.preferences or {})
    done = dict(prefs.get("downloaded") or {})
    done[key] = at.isoformat()
    prefs["downloaded"] = done
    end_read(get_session())
    with write_transaction(get_session()):
        user.preferences = prefs


def _workshops() -> list[tuple[str, str, str]]:
    """The latest workshops of the user's area: (upazila code, date, "Kaliganj, Gazipur")."""
    from exports import workshop_report

    user = current_user()
    found = workshop_report.workshops(get_session(), list(user.scope) if user else [])[:30]
    return [(upazila, day.isoformat(), area_name(f"bd_upazila:{upazila}", locale()))
            for upazila, day in found]


@bp.route("/downloads/workshop-report")
@require()
def workshop_report():
    """One workshop's report as an A4 PDF; a workshop outside the user's area is not found."""
    from exports import workshop_report as reports

    user = current_user()
    lang = request.args.get("lang") or locale()
    upazila, day = request.args.get("upazila", ""), request.args.get("date", "")
    report = reports.gather(get_session(), list(user.scope or ()), upazila, day, lang)
    name = geo.report_file_name(upazila, report.day, lang)
    return send_file(io.BytesIO(reports.pdf(report)), mimetype="application/pdf",
                     as_attachment=True, download_name=name)


@bp.route("/downloads/export")
@require()
def export():
    try:
        return _export()
    except Problem as problem:
        if problem.status != 400 and problem.code != "form.not_found":
            raise
        # The form again, with the message and what was chosen, so one field can be fixed.
        flash(problem_text(problem), "error")
        return page(400, request.args)


def _export():
    area = request.args.get("area", "")
    if area not in dict(area_choices()):
        raise problems.forbidden("that area")
    fmt = request.args.get("format", "xlsx")
    lang = request.args.get("lang", "en")
    if fmt not in FORMATS or lang not in LANGS:
        raise problems.bad_export_choice(_("Choose a format and a language from the list."))
    country = "np" if area.startswith("np_") else ""  # Nepal areas count Nepal's fiscal periods
    period = Period.parse(request.args.get("period", "") or current_quarter(country=country),
                          country=country)
    scope = [area]  # one of the user's own areas, checked above
    key = _download_key(area, fmt, request.args.get("form", ""))
    since = None
    if request.args.get("since_last"):
        since = (current_user().preferences or {}).get("downloaded", {}).get(key)
    filters = query.Filters.parse(request.args.getlist("review"), since,
                                  request.args.get("date_basis"))
    started = datetime.now(UTC)
    server_url = (current_app.config.get("SERVER_URL") or request.host_url).rstrip("/")
    # Built into a temporary file (deleted when the response closes), then streamed.
    out = tempfile.TemporaryFile(dir=current_app.config["SANGJOG_DATA_DIR"])  # noqa: SIM115 (send_file closes it)
    try:
        if fmt == "xlsx":
            from exports.xlsx import build_workbook

            build_workbook(get_session(), scope, period, lang, out, server_url, filters=filters)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            from exports import csvzip

            form_id = request.args.get("form", "")
            if get_session().scalar(select(Form.id).where(Form.xml_form_id == form_id)) is None:
                raise problems.unknown_form(form_id or "?")
            csvzip.write_zip(get_session(), form_id, out, scope, period,
                             excel=fmt == "csv_excel", filters=filters)
            mimetype = "application/zip"
    except BaseException:
        out.close()
        raise
    out.seek(0)
    _remember_download(key, started)  # "since my last download" starts from this one
    name = file_name(area, period, lang if fmt == "xlsx" else request.args["form"], fmt)
    return send_file(out, mimetype=mimetype, as_attachment=True, download_name=name)


@bp.route("/downloads/files/<name>")
@require()
def scheduled_file(name: str):
    """A scheduled workbook of the user's areas; any other reads as a file that does not exist."""
    made = scheduled.find(get_session(), name, _visible())
    if made is None or not get_blobs().exists(made.sha256):
        raise problems.not_found("That file")
    return send_blob(made.sha256, made.name, scheduled.XLSX, made.size, inline=False)
