"""District offices' downloads: the workbook (or CSV zip) of an area and period they may see,
built on request with a telling file name, and the scheduled workbooks already in
``{data}/exports/`` for their areas."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from exports import geo
from exports.period import Period
from pipeline import problems
from pipeline.models import Form
from pipeline.problems import Problem

from ..db import get_session
from . import current_scope, current_user, require
from .dashboard import current_quarter
from .i18n import locale

bp = Blueprint("downloads", __name__)
FORMATS = {"xlsx": _l("Excel workbook"), "csv": _l("CSV files of one form (zip)")}
LANGS = ("en", "bn")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "area"


def area_slug(code: str) -> str:
    """``bd_district:5585`` → ``rangpur``; ``bd_division:55`` → ``rangpur-division``; ``*`` → ``all``."""
    if code == "*":
        return "all"
    level, _sep, value = code.partition(":")
    place = geo.place(level, value)
    if place is None:
        return slug(code)
    return slug(place.en) + ("" if level.endswith("_district") else f"-{level.split('_')[1]}")


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
    """``sangjog-rangpur-2026-Q3-bn.xlsx``; a CSV zip ends with its form id instead."""
    suffix = "xlsx" if fmt == "xlsx" else "zip"
    return f"sangjog-{area_slug(area)}-{period.slug}-{last}.{suffix}"


def _scheduled() -> list[Path]:
    """Workbooks in ``{data}/exports`` named for one of the user's areas (all for ``*``)."""
    folder = Path(current_app.config["SANGJOG_DATA_DIR"]) / "exports"
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in (".xlsx", ".zip")]
    if not current_scope().everything:
        prefixes = tuple(f"sangjog-{area_slug(code)}-" for code, _name in area_choices())
        # Longest slug first would matter only if one area's name began another's; the dash
        # after each slug keeps "rangpur-" from matching "rangpur-division-" files.
        files = [p for p in files if p.name.startswith(prefixes)
                 and not _names_a_larger_area(p.name, prefixes)]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:100]


def _names_a_larger_area(name: str, prefixes: tuple[str, ...]) -> bool:
    """``sangjog-rangpur-division-…`` starts with the district's ``sangjog-rangpur-`` too."""
    for suffix in ("division-", "province-"):
        for prefix in prefixes:
            if name.startswith(prefix + suffix) and prefix + suffix not in prefixes:
                return True
    return False


@bp.route("/downloads")
@require()
def page():
    forms = list(get_session().scalars(select(Form).order_by(Form.title)))
    return render_template("downloads.html", areas=area_choices(), formats=FORMATS, forms=forms,
                           langs=LANGS, period=current_quarter(), scheduled=_scheduled(),
                           lang=locale())


@bp.route("/downloads/export")
@require()
def export():
    area = request.args.get("area", "")
    if area not in dict(area_choices()):
        raise problems.forbidden("that area")
    fmt = request.args.get("format", "xlsx")
    lang = request.args.get("lang", "en")
    if fmt not in FORMATS or lang not in LANGS:
        raise Problem("export.bad_choice", 400, _("Choose a format and a language from the list."))
    period = Period.parse(request.args.get("period", "") or current_quarter())
    scope = [area]  # one of the user's own areas, checked above
    server_url = (current_app.config.get("SERVER_URL") or request.host_url).rstrip("/")
    # Built into a temporary file (deleted when the response closes), then streamed.
    out = tempfile.TemporaryFile(dir=current_app.config["SANGJOG_DATA_DIR"])  # noqa: SIM115 (send_file closes it)
    try:
        if fmt == "xlsx":
            from exports.xlsx import build_workbook

            build_workbook(get_session(), scope, period, lang, out, server_url)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            from exports import csvzip

            form_id = request.args.get("form", "")
            if get_session().scalar(select(Form.id).where(Form.xml_form_id == form_id)) is None:
                raise problems.unknown_form(form_id or "?")
            csvzip.write_zip(get_session(), form_id, out, scope, period)
            mimetype = "application/zip"
    except BaseException:
        out.close()
        raise
    out.seek(0)
    name = file_name(area, period, lang if fmt == "xlsx" else request.args["form"], fmt)
    return send_file(out, mimetype=mimetype, as_attachment=True, download_name=name)


@bp.route("/downloads/files/<name>")
@require()
def scheduled_file(name: str):
    for path in _scheduled():
        if path.name == name:
            return send_file(path, as_attachment=True, download_name=path.name)
    raise problems.not_found("That file")
