"""Extension objects shared by every app instance (bound per app in create_app)."""
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

db = SQLA()
migrate = Migrate()
csrf = CSRFProtect()


def tune_sqlite(engine):
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers run beside a
    writer; a writer waits for another instead of failing at once."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()
