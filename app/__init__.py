"""Application factory: one Flask app and one AppBuilder per call (SPEC §6)."""
import logging
import os
from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder

from . import http, models  # noqa: F401  (models: register tables)
from .extensions import db, migrate, tune_sqlite
from .models import user as user_roles
from app.services import flush_guards

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_object="config.Config", **overrides) -> Flask:
    instance = os.environ.get("INSTANCE_PATH", str(ROOT / "instance"))
    app = Flask(__name__, instance_path=instance, template_folder="templates")
    app.config.from_object(config_object)
    # the role names are the code's (app/models/user.py), not a setting
    app.config.update(AUTH_ROLE_ADMIN=user_roles.SCHOOL_ADMIN, AUTH_ROLE_PUBLIC=user_roles.PUBLIC)
    app.config.update(overrides)
    # CSRF is checked in our own before_request (registered before AppBuilder's) so that
    # JWT-authenticated API calls are exempt while browser-session API calls are not; every
    # response gets the security headers (app/http.py)
    http.install(app)

    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)

    flush_guards.install()

    # The web layer is imported here, not at the top: `import app.models` (the IoT bridge's storer,
    # the task consumer, scripts) then stays free of FAB's views, forms and templates.
    from .cli import register_cli
    from .views import register
    from .views import history, messages
    from .views.errors import register_error_pages

    with app.app_context():
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        register(appbuilder)

    history.install(app)
    messages.install(app)
    register_error_pages(app)
    register_cli(app)
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    return app
