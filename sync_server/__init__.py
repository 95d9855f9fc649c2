"""The Flask app: OpenRosa for ODK Collect, the web UI and the JSON API.

Assembled in one place, ``create_app``; nothing builds an app at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None, *, http: bool = True) -> Flask:
    """The app. ``http=False`` is the command line's: settings, database, errors and words, but
    no endpoints (nor the modules behind them), so that a command starts quickly."""
    # Imported here: ``sync_server.cli`` lives in this package, and ``sangjog --help`` needs none.
    from flask import Flask

    from pipeline import passwords, safe_xml

    from . import config as config_module
    from . import db, errors

    app = Flask(__name__)
    app.config.update(config_module.load(config))
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_SUBMISSION_MB"] * 1024 * 1024
    # Every parse of submission XML in this process (uploads, the loader) stops at these.
    safe_xml.configure(safe_xml.Limits(int(app.config["MAX_SUBMISSION_ELEMENTS"]),
                                       int(app.config["MAX_SUBMISSION_DEPTH"])))
    # And every password hashed in this process (logins, new users) costs this.
    passwords.set_cost(config_module.hash_cost(app.config))
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:  # behind nginx: the phone's address and https, not the proxy's (docs/deploy.md)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    db.init_app(app)
    errors.init_app(app)
    for register in _components() if http else _headless_components():
        register(app)
    return app


def _headless_components() -> list[Any]:
    """What commands use besides the database: Babel, for messages in the user's words."""
    from .web import i18n

    return [i18n.init_app]


def _components() -> list[Any]:
    """Each component's ``init_app``; components register their blueprints themselves."""
    from . import background_loader, compression, health, odata, openrosa
    from .web import (
        admin,
        admin_users,
        attachments,
        auth,
        ballots,
        browser_forms,
        dashboard,
        downloads,
        i18n,
        maps,
        plans,
        review,
    )

    return [compression.init_app, background_loader.init_app, openrosa.init_app, auth.init_app, i18n.init_app, dashboard.init_app, review.init_app,
            plans.init_app,
            attachments.init_app, downloads.init_app, admin.init_app, admin_users.init_app,
            odata.init_app, browser_forms.init_app, health.init_app,
            ballots.init_app, maps.init_app]
