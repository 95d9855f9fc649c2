"""Supervisors' pages: submissions of any form (filters, search, pages), one submission with
its answers, photos, location, project history and its own history, and the review itself."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from exports.labels import FileChoices, project_names
from pipeline import parse, problems, review
from pipeline.db import end_read, write_transaction
from pipeline.domain import followups, places, tables
from pipeline.domain.projects import list_projects
from pipeline.models import REVIEW_STATES, Form, Submission
from pipeline.problems import Problem
from pipeline.schema import FormSchema, schema_for
from pipeline.xform import pick

from ..db import get_session
from . import answers as answering
from . import current_scope, current_user, id_arg, listing, plans, require
from .i18n import locale, problem_text, state_name

bp = Blueprint("review", __name__)

READERS = ("admin", "supervisor", "district_officer")
REVIEWERS = ("admin", "supervisor")
INSPECTIONS = "innovation_inspection"
# Columns a list shows when the form has them, after the date and before the review state.
LIST_COLUMNS = ("district", "upazila", "project", "inspector_name", "stage", "progress",
                "participant_name", "voter_name", "practice_title", "period_type")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["osm_url"] = answering.osm_url
    app.jinja_env.globals["place_name"] = answering.place_name
    app.jinja_env.globals["country_of"] = places.country_of


def _form(form_id: str) -> Form:
    form = get_session().scalar(select(Form).where(Form.xml_form_id == form_id))
    if form is None or not form.versions:
        raise problems.unknown_form(form_id)
    return form


def _schema(form: Form, version: str | None = None) -> FormSchema:
    db = get_session()
    try:
        return schema_for(db, form.xml_form_id, version or form.versions[-1].version)
    except Problem:  # a row written by a version since replaced: read it with the newest
        return schema_for(db, form.xml_form_id, form.versions[-1].version)


@bp.route("/inspections")
@require(*READERS)
def inspections():
    return redirect(url_for("review.submissions", form_id=INSPECTIONS, **request.args))


@bp.route("/forms/<form_id>/submissions")
@require(*READERS)
def submissions(form_id: str):
    form = _form(form_id)
    schema = _schema(form)
    scope = current_scope()
    filters = listing.Filters.from_args(request.args)
    conn = get_session().connection()
    table = listing.main_table(conn, form_id)
    lang = locale()
    columns = shown_columns(schema, table, current_user())
    size = _page_size()
    date_column = listing.date_column(table).name if table is not None else ""
    sortable = [date_column, "_instance_name", *columns, "_review_state"]
    sort = listing.Sort()
    if table is None:
        page, total, capped, options = listing.Page([], None, None), 0, False, {}
    else:
        sort = listing.Sort.parse(request.args.get("sort"), sortable, listing.default_sort(table))
        where = listing.conditions(table, scope, filters)
        page = listing.page(conn, table, where, _int_arg("before"), _int_arg("after"),
                            size=size, sort=listing.reading_order(table, sort, scope, filters),
                            number=_int_arg("page") or 1)
        total, capped = listing.cheap_count(conn, table, where)
        options = listing.place_options(table, scope, filters.values)
        if "project" in table.c:
            options["project"] = _project_codes(scope, filters.values.get("district"))
    labels = {c.name: pick(c.labels, lang, c.name) for c in schema.main.columns}
    labels.update({"_submitted_at": _("Received"), "_instance_name": _("Submission"),
                   "_review_state": _("Review")})
    specs = {c.name: c for c in schema.main.columns}
    stages = specs["stage"].choices if "stage" in specs and specs["stage"].choices else {}
    keep = filters.query_args()
    if table is not None and sort != listing.default_sort(table):
        keep["sort"] = sort.arg
    if size != listing.PAGE_SIZE:
        keep["size"] = str(size)
    pages = -(-total // size) if total and not capped else None
    return render_template(
        "submissions.html", form=form, schema=schema, page=page, total=total, capped=capped,
        filters=filters, options=options, columns=columns, labels=labels, specs=specs,
        stages=stages, states=REVIEW_STATES, review_choices=review.REVIEW_CHOICES,
        may_review=current_user().role in REVIEWERS, display=answering.display, lang=lang,
        has_table=table is not None, nepal_page=lang == "ne" or scope.countries == {"np"},
        date_column=date_column, sort=sort, sortable=sortable,
        keep=keep, size=size, sizes=listing.PAGE_SIZES, pages=pages,
        page_links=_page_links(page.number, pages),
        period_of=lambda r: followups.period_label(_followup_of(r)),
        list_query=urlencode({**keep, "sort": sort.arg}),
        choosable=choosable_columns(schema, table),
        all_forms=list(get_session().scalars(select(Form).order_by(Form.title))),
        project_names=project_names(get_session(), lang), review_draft=_take_draft(),
    )


UNLISTABLE = ("binary", "geopoint", "geotrace", "geoshape", "note")


def choosable_columns(schema: FormSchema, table) -> list[str]:
    """The main table's answers a list may show (one SQL column each), in form order."""
    if table is None:
        return []
    date_column = listing.date_column(table).name
    return [c.name for c in schema.main.columns
            if c.type not in UNLISTABLE and c.name in table.c and c.name != date_column]


def shown_columns(schema: FormSchema, table, user) -> list[str]:
    """The columns this user chose for this form's list (People's choice is remembered per
    user), else the usual ones the form has."""
    choosable = choosable_columns(schema, table)
    chosen = (user.preferences or {}).get("columns", {}).get(schema.form_id)
    if chosen is not None:
        return [c for c in chosen if c in choosable]
    return [c for c in LIST_COLUMNS if c in choosable]


@bp.route("/forms/<form_id>/columns", methods=["POST"])
@require(*READERS)
def choose_columns(form_id: str):
    """Remember which columns this user's list of this form shows (none ticked: the usual)."""
    form = _form(form_id)
    db = get_session()
    table = listing.main_table(db.connection(), form_id)
    choosable = choosable_columns(_schema(form), table)
    wanted = request.form.getlist("columns")
    user = current_user()
    prefs = dict(user.preferences or {})
    columns = dict(prefs.get("columns") or {})
    if request.form.get("reset") or not wanted:
        columns.pop(form_id, None)
    else:
        columns[form_id] = [c for c in choosable if c in wanted]
    prefs["columns"] = columns
    end_read(db)
    with write_transaction(db):
        user.preferences = prefs
    back = request.form.get("next") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("review.submissions", form_id=form_id)
    return redirect(back)


def _page_size() -> int:
    size = _int_arg("size")
    return size if size in listing.PAGE_SIZES else listing.PAGE_SIZE


def _page_links(number: int, pages: int | None) -> list[int | None]:
    """Page numbers to link: the first, two either side of this one, the last (None: a gap)."""
    last = pages or number + 1
    wanted = sorted({1, *range(max(1, number - 2), min(last, number + 2) + 1)}
                    | ({last} if pages else set()))
    out: list[int | None] = []
    for n in wanted:
        if out and out[-1] is not None and n > out[-1] + 1:
            out.append(None)
        out.append(n)
    return out


def _project_codes(scope, district: str | None) -> list[str]:
    """Registry projects inside the user's scope (and the chosen district)."""
    return [p.code for p in list_projects(get_session(), district=district)
            if scope.allows({"division": p.division, "district": p.district})]


def _int_arg(name: str) -> int | None:
    return id_arg(request.args.get(name))


@bp.route("/forms/<form_id>/submissions/review", methods=["POST"])
@require(*REVIEWERS)
def review_many(form_id: str):
    ids = [i for i in map(id_arg, request.form.getlist("ids")) if i is not None]
    back = request.form.get("next") or url_for("review.submissions", form_id=form_id)
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("review.submissions", form_id=form_id)
    try:
        _check_comment(request.form.get("comment"))
        done = review.set_review(get_session(), ids, request.form.get("state", ""),
                                 request.form.get("comment"), current_user().username,
                                 scope=current_scope())
    except Problem as problem:
        if problem.status == 404:
            raise
        flash(problem_text(problem), "error")
        _keep_draft()
        return redirect(back)
    flash(_("%(n)d submissions marked as %(state)s.", n=len(done),
            state=_state_label(request.form["state"])), "info")
    return redirect(back)


@bp.route("/submissions/<int:submission_id>")
@require(*READERS)
def submission(submission_id: int):
    db = get_session()
    sub = db.get(Submission, submission_id)
    if sub is None:
        raise problems.not_found(f"Submission {submission_id}")
    form = sub.form
    conn = db.connection()
    table = listing.main_table(conn, form.xml_form_id)
    if table is None:
        raise problems.not_found(f"Submission {submission_id}")
    scope = current_scope()
    if not sub.current:  # replaced by an edit: show the version that stands now
        current = db.scalar(select(Submission.id).where(Submission.root_id == sub.root_id,
                                                        Submission.current.is_(True)))
        if current is not None and current != sub.id:
            try:  # only to a reader who may see it: to anyone else, as if it never existed
                listing.one_row(conn, table, scope, current)
            except problems.Problem:
                raise problems.not_found(f"Submission {submission_id}") from None
            return redirect(url_for("review.submission", submission_id=current))
    row = listing.one_row(conn, table, scope, submission_id)  # 404 outside the user's scope
    lang = locale()
    schema = _schema(form, row._form_version)
    files = {a.name for a in sub.attachments}
    lists = FileChoices(db, lang)  # ballot candidates, action plans, projects: their labels
    country = places.country_of(row._mapping)  # how its dates and times read
    main_answers = answering.answers(schema, schema.main, row, lang, files, lists, country)
    repeats = []
    children = listing.child_rows(conn, listing.repeat_tables(conn, form.xml_form_id),
                                  submission_id, row._key)
    headings = _group_labels(form, row._form_version)
    for spec in schema.repeats:
        rows = children.get(spec.name, [])
        if rows:
            label = pick(headings.get(spec.path, {}), lang,
                         spec.name.split("__")[-1].replace("_", " ").capitalize())
            repeats.append((label, spec, [answering.answers(schema, spec, r, lang, files, lists,
                                                            country) for r in rows]))
    return render_template(
        "submission.html", sub=sub, form=form, row=row, schema=schema, answers=main_answers,
        repeats=repeats, project_rows=_project_rows(conn, table, scope, row),
        history=review.history(db, sub), review_choices=review.REVIEW_CHOICES,
        may_review=current_user().role in REVIEWERS, state_label=_state_label,
        specs={c.name: c for c in schema.main.columns}, display=answering.display, lang=lang,
        project_names=project_names(db, lang), review_draft=_take_draft(submission_id),
        country=country,
        **_plan_links(form.xml_form_id, submission_id, row),
        **_changes(db, sub, lang, lists),
        list_args=_list_args(request.args.get("list")),
    )


@dataclass
class Change:
    label: str
    before: str
    after: str


def _changes(db, sub: Submission, lang: str, lists) -> dict:
    """For an edited submission, every answer the edit changed, against the version it
    replaced: main answers by question, repeat rows by their number."""
    previous = db.scalar(select(Submission).where(Submission.root_id == sub.root_id,
                                                  Submission.id < sub.id,
                                                  Submission.parse_status == "ok")
                         .order_by(Submission.id.desc()).limit(1))
    if previous is None:
        return {"changes": None}
    try:
        old = parse.parse(_schema(sub.form, previous.form_version), previous.xml)
        new = parse.parse(_schema(sub.form, sub.form_version), sub.xml)
    except Problem:
        return {"changes": None}
    headings = _group_labels(sub.form, sub.form_version)
    out: list[Change] = []
    for spec in new.schema.tables:
        columns = [c for c in spec.columns if c.type not in ("binary",)]
        old_rows, new_rows = old.rows.get(spec.name, []), new.rows.get(spec.name, [])
        group = "" if spec.parent is None else pick(
            headings.get(spec.path, {}), lang, spec.name.split("__")[-1])
        for n in range(max(len(old_rows), len(new_rows))):
            before = old_rows[n] if n < len(old_rows) else {}
            after = new_rows[n] if n < len(new_rows) else {}
            for col in columns:
                a, b = _value(col, before, lang, lists), _value(col, after, lang, lists)
                if a != b:
                    label = pick(col.labels, lang, col.name)
                    out.append(Change(f"{group} {n + 1}: {label}" if group else label, a, b))
    return {"changes": out, "previous_id": previous.id, "previous_at": previous.received_at}


def _value(col, row: dict, lang: str, lists) -> str:
    if col.type == "geopoint":
        point = [row.get(f"{col.name}_{p}") for p in ("latitude", "longitude")]
        return ", ".join(str(p) for p in point) if any(p is not None for p in point) else ""
    value = row.get(col.name)
    return "" if value is None or value == "" else answering.display(col, value, lang, lists)


def _list_args(text: str | None) -> str:
    """The query of the list a submission was opened from (kept for "save and next"), as
    long as it is a plain query string."""
    text = (text or "")[:1000]
    return text if text and "/" not in text and "\n" not in text else ""


def next_in_list(form_id: str, submission_id: int, query: str) -> int | None:
    """The submission after this one in the list it was opened from (its filters and sort,
    within the reader's scope). Once reviewed, it may no longer match the list's filter (a list
    of those still to review): then the list's first row is the next one."""
    args = MultiDict(parse_qsl(query))
    conn = get_session().connection()
    table = listing.main_table(conn, form_id)
    if table is None:
        return None
    filters = listing.Filters.from_args(args)
    sort = listing.Sort.parse(args.get("sort"), [c.name for c in table.c],
                              listing.default_sort(table))
    scope = current_scope()
    where = listing.conditions(table, scope, filters)
    page = listing.page(conn, table, where, before=submission_id, size=1,
                        sort=listing.reading_order(table, sort, scope, filters))
    nxt = page.rows[0]._submission_id if page.rows else None
    return nxt if nxt != submission_id else None


def _plan_links(form_id: str, submission_id: int, row) -> dict:
    """A Form 1 plan's follow-up schedule, or the plan a Form 2 follow-up follows up (and the
    period it covers), both within the reader's scope."""
    if form_id not in ("hl_action_plan", "hl_followup"):
        return {}
    tracked = plans.tracked()
    if form_id == "hl_action_plan":
        return {"plan_tracked": next((t for t in tracked
                                      if t.entry.plan.submission_id == submission_id), None)}
    for t in tracked:
        for f in t.entry.followups:
            if f.submission_id == submission_id:
                return {"followed_plan": t.entry.plan,
                        "followup_period": followups.period_label(f)}
    return {"followup_period": followups.period_label(_followup_of(row))}


def _followup_of(row) -> followups.Followup:
    m = row._mapping
    return followups.Followup(
        "", "", "", "", str(m.get("period_type") or ""),
        period_start=tables.as_date(m.get("period_start")),
        period_end=tables.as_date(m.get("period_end")),
        followup_date=tables.as_date(m.get("followup_date")), country=places.country_of(m))


def _group_labels(form: Form, version: str | None) -> dict[str, dict[str, str]]:
    """Group and repeat labels of the version a submission was written with (else the newest)."""
    chosen = next((v for v in form.versions if v.version == version), None) or form.versions[-1]
    return answering.group_labels(chosen.md5, chosen.xml)


def _project_rows(conn, table, scope, row) -> list:
    """Every inspection of the same project the user may see, oldest visit first."""
    if "project" not in table.c or not row._mapping.get("project"):
        return []
    order = listing.date_column(table)
    stmt = (select(table).where(table.c.project == row.project, listing.scoping.where(table, scope))
            .order_by(order, table.c._submission_id).limit(200))
    return list(conn.execute(stmt))


@bp.route("/submissions/<int:submission_id>/review", methods=["POST"])
@require(*REVIEWERS)
def review_one(submission_id: int):
    db = get_session()
    state = request.form.get("state", "")
    comment = request.form.get("comment", "")
    try:
        _check_comment(comment)
        if state == "comment":
            review.add_comment(db, submission_id, comment, current_user().username,
                               scope=current_scope())
            flash(_("Comment saved."), "info")
        else:
            review.set_review(db, [submission_id], state, comment, current_user().username,
                              scope=current_scope())
            flash(_("Marked as %(state)s.", state=_state_label(state)), "info")
    except Problem as problem:
        if problem.status == 404:
            raise
        flash(problem_text(problem), "error")
        _keep_draft(submission_id)
        return redirect(_submission_url(submission_id))
    query = _list_args(request.form.get("list"))
    if request.form.get("then") == "next" and query:
        form_id = db.get(Submission, submission_id).form.xml_form_id
        nxt = next_in_list(form_id, submission_id, query)
        if nxt is None:
            flash(_("That was the last submission of the list."), "info")
            return redirect(url_for("review.submissions", form_id=form_id) + "?" + query)
        return redirect(_submission_url(nxt, query))
    return redirect(_submission_url(submission_id))


def _submission_url(submission_id: int, query: str | None = None) -> str:
    query = query if query is not None else _list_args(request.form.get("list"))
    return url_for("review.submission", submission_id=submission_id,
                   **({"list": query} if query else {}))


@bp.route("/forms/<form_id>/submissions/count")
@require(*READERS)
def count(form_id: str):
    """How many submissions the user can see (JSON), for dashboards that poll."""
    _form(form_id)
    conn = get_session().connection()
    table = listing.main_table(conn, form_id)
    if table is None:
        return {"form_id": form_id, "count": 0}
    n = conn.scalar(select(func.count()).select_from(table)
                    .where(listing.scoping.where(table, current_scope())))
    return {"form_id": form_id, "count": int(n or 0)}


DRAFT_KEPT = 400  # characters of a refused bulk comment kept in the session cookie (4 kB)


def _keep_draft(submission_id: int | None = None) -> None:
    """A refused review comes back with the chosen state and, if short enough for the session
    cookie, the comment; once, on the page it returns to (the list, or the submission)."""
    comment = request.form.get("comment") or ""
    session["review_draft"] = {"state": request.form.get("state", ""),
                               "comment": comment if len(comment) <= DRAFT_KEPT else "",
                               "submission": submission_id}


def _take_draft(submission_id: int | None = None) -> dict | None:
    draft = session.pop("review_draft", None)
    return draft if draft and draft.get("submission") == submission_id else None


COMMENT_LIMIT = 5000  # characters; the page's text boxes stop there too


def _check_comment(comment: str | None) -> None:
    if comment and len(comment) > COMMENT_LIMIT:
        raise problems.comment_too_long(
            _("A comment has at most %(n)s characters; this one has %(length)s.",
              n=f"{COMMENT_LIMIT:,}", length=f"{len(comment):,}"))


def _state_label(state: str) -> str:
    return _("Comment") if state == "comment" else state_name(state)
