"""Web login with a session cookie, logout and password change; CSRF on every form.

Wrong passwords are limited per user name and per address (``LOGIN_FAILURES_PER_USER``,
``LOGIN_FAILURES_PER_ADDRESS``), counted in the database with Collect's. A login lives on the
server (``pipeline.web_sessions``): the cookie holds only its random id, so logging out ends it
everywhere at once. Collect's OpenRosa endpoints and the token JSON API authenticate every
request themselves and are exempt from CSRF.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from wtforms.validators import ValidationError

from pipeline import accounts, web_sessions
from pipeline.models import utcnow
from pipeline.problems import Problem

from ..auth import check_password
from ..db import get_session
from . import SESSION_ID, current_user, require, use_database_ints
from .cookie import SealedCookieSessions
from .i18n import problem_text

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

# Blueprints whose clients authenticate each request (Collect, API tokens), never with a cookie.
# A public form link has no login to ride on (its token is its credential): nothing to forge.
CSRF_EXEMPT_BLUEPRINTS = ("openrosa", "api", "form_links")


def init_app(app: Flask) -> None:
    use_database_ints(app)  # first of the pages: their blueprints come after
    # Flask has defaults for these (so setdefault would keep them): set ours outright.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = web_sessions.LIFETIME
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form left open all day still posts
    # CSRF is checked by our own hook so the exemptions are explicit, by blueprint name.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.session_interface = SealedCookieSessions()
    app.register_blueprint(bp)

    @app.before_request
    def _check_csrf() -> None:
        if not app.config.get("WTF_CSRF_ENABLED", True) or request.endpoint is None:
            return
        blueprint = (request.blueprint or "").split(".")[0]
        if blueprint in CSRF_EXEMPT_BLUEPRINTS or request.path.startswith("/key/"):
            return
        header = request.headers.get("X-CSRFToken")
        if header is None:
            csrf.protect()
            return
        # Scripts (browser forms) send the token as a header: check it without reading the
        # body, which the upload view then streams.
        try:
            validate_csrf(header)
        except ValidationError as exc:
            raise CSRFError(exc.args[0]) from None

    app.context_processor(lambda: {"current_user": current_user()})
    # Behind HTTPS (SERVER_URL says so) the cookie never travels over plain HTTP.
    app.config["SESSION_COOKIE_SECURE"] = str(app.config.get("SERVER_URL") or "").startswith(
        "https://")
    app.after_request(_page_headers)


# As strict as the pages allow: scripts, styles, images and fonts only from this server (no
# inline script or style anywhere: handlers live in sangjog.js), forms post only here, nothing
# frames the pages, no plugins. A feature that shows pictures from elsewhere (map tiles, object
# storage) adds its host to ``img-src`` here, the one place.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; font-src 'self'; connect-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def map_policy(tile_url: str) -> str:
    """The policy of the map page: the same, and the map tiles' host (``MAP_TILE_URL``) in
    ``img-src``, so the reader's browser fetches tiles from there and nowhere else (Leaflet's
    ``{s}`` subdomains become ``*``), and ``data:`` images, which Leaflet puts in a tile it
    stops loading (an empty GIF)."""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self';",
                                           f"img-src 'self' data: {parts.scheme}://{parts.netloc};", 1)


# The browser form pages (``browser_forms``) run ODK Web Forms, which injects its own styles,
# compiles its XPath parser from WebAssembly, previews photos from blobs and shows map tiles
# for geopoints: those pages alone allow that much, and still run only this server's scripts.
BROWSER_FORM_POLICY = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "
                       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https://tile.openstreetmap.org; "
                       "font-src 'self' data:; connect-src 'self' data: blob:; worker-src 'self' blob:; "
                       "media-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

_PAGE_HEADERS = {"X-Frame-Options": "DENY",
                 "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "same-origin",
                 "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def _page_headers(response):
    """Pages are never framed by other sites (clickjacking) nor sniffed into another type, run
    only this server's scripts (a view may set a wider policy of its own), and, except the
    static files, are never kept in a browser's or proxy's cache: they show submission data,
    which must not stay on a shared computer (``send_file``'s own "no-cache" is replaced)."""
    for name, value in _PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        return render_template("login.html", next=target)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    db = get_session()
    user = check_password(username, password,
                          lambda: accounts.authenticate(db, username, password)) \
        if username and password else None
    if user is None:
        flash(_("That user name and password do not match an active account."), "error")
        return render_template("login.html", next=target, username=username), 401
    user.last_login_at = utcnow()
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session[SESSION_ID] = web_sessions.start(db, user)  # commits the login time too
    session["lang"] = lang or user.language
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    web_sessions.end(get_session(), session.get(SESSION_ID))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@require()
def password():
    user = current_user()
    assert user is not None
    if request.method == "GET":
        return render_template("password.html")
    current = request.form.get("current", "")
    new, again = request.form.get("new", ""), request.form.get("again", "")
    db = get_session()
    if not accounts.verify_password(user.password_hash, current):
        flash(_("Your current password is not right."), "error")
        return render_template("password.html"), 400
    if new != again:
        flash(_("The two new passwords differ."), "error")
        return render_template("password.html"), 400
    try:
        accounts.set_password(db, user, new, actor=user.username,
                              keep_session=session.get(SESSION_ID))
    except Problem as problem:
        flash(problem_text(problem), "error")
        return render_template("password.html"), problem.status
    flash(_("Your password is changed. Other sessions are logged out."), "info")
    return redirect(url_for("dashboard.home"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site, so a crafted link cannot send someone elsewhere after login."""
    if not target:
        return url_for("dashboard.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.home")
    return target
