"""Application factory: one Flask app and one AppBuilder per call (SPEC §6)."""
import logging
import os
from pathlib import Path

from flask import Flask, abort, request
from flask_appbuilder import AppBuilder

from .extensions import csrf, db, migrate

ROOT = Path(__file__).resolve().parent.parent
# Changing endpoints FAB also exposes to GET; a GET must never change data.
_GET_FORBIDDEN_SUFFIXES = (".delete", ".action")
_CSRF_EXEMPT_PATHS = ("/api/v1/security/login", "/api/v1/security/refresh")


def create_app(config_object="config.Config", **overrides) -> Flask:
    instance = os.environ.get("INSTANCE_PATH", str(ROOT / "instance"))
    app = Flask(__name__, instance_path=instance, template_folder="templates")
    app.config.from_object(config_object)
    app.config.update(overrides)
    # CSRF is checked in our own before_request (registered before AppBuilder's) so that
    # JWT-authenticated API calls are exempt while browser-session API calls are not.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_guard_state_changes)

    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)

    from . import models  # noqa: F401  (register tables)
    from .services import catalogue_entry, changelog, fees, records

    changelog.install()
    records.install()
    fees.install()
    catalogue_entry.install()

    with app.app_context():
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        from .views import register

        register(appbuilder)

    _register_template_helpers(app)
    from .views.errors import register_error_pages

    register_error_pages(app)
    from .cli import register_cli

    register_cli(app)
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    return app


def _tune_sqlite(engine):
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers run beside a writer."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()


def _guard_state_changes():
    endpoint = request.endpoint or ""
    if request.method in ("GET", "HEAD") and endpoint.endswith(_GET_FORBIDDEN_SUFFIXES):
        abort(405)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.path in _CSRF_EXEMPT_PATHS:
            return
        auth = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and auth.startswith("Bearer "):
            return  # JWT: no ambient browser credential to forge
        csrf.protect()


def _register_template_helpers(app):
    from .services.changelog import history_for

    @app.context_processor
    def helpers():
        return {"change_history": lambda table, pk: history_for(db.session, table, int(pk))}
