"""Where and what: the submissions of a form with a geopoint on a map (Leaflet, clustered,
coloured by review state, each point opening its submission), and the photos of a form's
submissions as a gallery of thumbnails. Both read the warehouse with the reader's scope, like
the lists, and take the lists' filters (area, date range, review state) and a period."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Table, and_, exists, select

from exports.period import Period
from pipeline import problems
from pipeline.models import REVIEW_STATES, Attachment, Form
from pipeline.problems import Problem

from ..db import get_session
from . import current_scope, id_arg, listing, require
from .answers import place_name
from .auth import map_policy
from .dashboard import home_country
from .i18n import day, locale, state_name

bp = Blueprint("maps", __name__)
MAX_POINTS = 5000  # newest first; a note says when a map shows only these
GALLERY_SUBMISSIONS = 24  # submissions (with all their photos) per gallery page


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def geopoints(table: Table) -> list[str]:
    """The form's geopoint questions in its main table (each stored as ``<name>_latitude`` and
    ``<name>_longitude``)."""
    return [c.name[: -len("_latitude")] for c in table.c if c.name.endswith("_latitude")
            and f"{c.name[: -len('_latitude')]}_longitude" in table.c]


@dataclass
class Choice:
    form: Form | None
    forms: list[Form]
    table: Table | None
    filters: listing.Filters
    period: Period | None
    places: dict[str, list[str]]

    def args(self, **more: Any) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.filters.query_args())
        if self.period is not None:
            out.pop("from", None)
            out.pop("to", None)
            out["period"] = self.period.text
        if self.form is not None:
            out["form"] = self.form.xml_form_id
        return {**out, **more}


def choose(only_mapped: bool) -> Choice:
    """The form (``?form=``; the inspections by default), the lists' filters and the period the
    request asks for, among the forms the page can show."""
    db = get_session()
    conn = db.connection()
    forms, tables = [], {}
    for form in db.scalars(select(Form).order_by(Form.title)):
        table = listing.main_table(conn, form.xml_form_id)
        if table is not None and (geopoints(table) or not only_mapped):
            forms.append(form)
            tables[form.xml_form_id] = table
    asked = request.args.get("form", "").strip() or "innovation_inspection"
    form = next((f for f in forms if f.xml_form_id == asked), forms[0] if forms else None)
    filters = listing.Filters.from_args(request.args)
    period = None
    text = request.args.get("period", "").strip()
    if text:
        try:
            period = Period.parse(text, country=home_country())
        except Problem:
            raise problems.bad_date_filter(text[:40]) from None
        filters = replace(filters, date_from=period.start, date_to=period.end)
    table = tables.get(form.xml_form_id) if form is not None else None
    places = listing.place_options(table, current_scope(), filters.values) if table is not None else {}
    return Choice(form, forms, table, filters, period, places)


@bp.route("/map")
@require()
def page():
    choice = choose(only_mapped=True)
    tiles = current_app.config["MAP_TILE_URL"]
    html = render_template("map.html", choice=choice, states=REVIEW_STATES, lang=locale(),
                           tiles=tiles, attribution=current_app.config["MAP_ATTRIBUTION"],
                           points_url=url_for("maps.points", **choice.args()))
    return html, 200, {"Content-Security-Policy": map_policy(tiles)}


@bp.route("/map/points.json")
@require()
def points():
    """The map's points as JSON: id, latitude, longitude, review state, and the words of the
    popup in the reader's language (the page's script puts them in as text, never as HTML)."""
    choice = choose(only_mapped=True)
    if choice.table is None:
        return jsonify({"points": [], "capped": False})
    table = choice.table
    where = listing.conditions(table, current_scope(), choice.filters)
    point = geopoints(table)[0]
    lat, lon = table.c[f"{point}_latitude"], table.c[f"{point}_longitude"]
    state = table.c._review_state if "_review_state" in table.c else None
    when = listing.date_column(table)
    place = next((c for c in ("upazila", "local_level", "district") if c in table.c), None)
    columns = [table.c._submission_id, lat, lon, when] + \
        ([state] if state is not None else []) + ([table.c[place]] if place else [])
    query = (select(*columns).where(*where, lat.is_not(None), lon.is_not(None))
             .order_by(table.c._submission_id.desc()).limit(MAX_POINTS + 1))
    rows = get_session().connection().execute(query).all()
    lang = locale()
    out = []
    for row in rows[:MAX_POINTS]:
        values = row._mapping
        review = (values[state.name] if state is not None else None) or "received"
        out.append({
            "id": values["_submission_id"], "lat": values[lat.name], "lon": values[lon.name],
            "state": review, "state_name": state_name(review),
            "date": day(values[when.name]) if when.name != "_submission_id" else "",
            "place": place_name(place, values[place], lang) if place else "",
            "url": url_for("review.submission", submission_id=values["_submission_id"]),
        })
    return jsonify({"points": out, "capped": len(rows) > MAX_POINTS,
                    "open": _("Open the submission")})


@dataclass
class Photo:
    submission_id: int
    name: str
    when: Any
    place: str


@bp.route("/photos")
@require()
def gallery():
    choice = choose(only_mapped=False)
    photos: list[Photo] = []
    more = None
    if choice.table is not None:
        table = choice.table
        where = listing.conditions(table, current_scope(), choice.filters)
        before = id_arg(request.args.get("before"))
        if before is not None:
            where.append(table.c._submission_id < before)
        image = and_(Attachment.submission_id == table.c._submission_id,
                     Attachment.content_type.like("image/%"))
        when = listing.date_column(table)
        place = next((c for c in ("upazila", "local_level", "district") if c in table.c), None)
        columns = [table.c._submission_id, when] + ([table.c[place]] if place else [])
        conn = get_session().connection()
        rows = conn.execute(select(*columns).where(*where, exists().where(image))
                            .order_by(table.c._submission_id.desc())
                            .limit(GALLERY_SUBMISSIONS + 1)).all()
        if len(rows) > GALLERY_SUBMISSIONS:
            rows = rows[:GALLERY_SUBMISSIONS]
            more = rows[-1][0]
        lang = locale()
        shown = {r[0]: r for r in rows}
        names: dict[int, list[str]] = {}
        if shown:
            for sid, name in conn.execute(
                    select(Attachment.submission_id, Attachment.name)
                    .where(Attachment.submission_id.in_(shown),
                           Attachment.content_type.like("image/%"))
                    .order_by(Attachment.submission_id.desc(), Attachment.name)):
                names.setdefault(sid, []).append(name)
        for sid, row in shown.items():
            values = row._mapping
            for name in names.get(sid, []):
                photos.append(Photo(sid, name,
                                    values[when.name] if when.name != "_submission_id" else None,
                                    place_name(place, values[place], lang) if place else ""))
    return render_template("photos.html", choice=choice, photos=photos, more=more,
                           states=REVIEW_STATES, lang=locale())
