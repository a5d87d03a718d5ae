"""Migration 0012 (issue 12): what was stored before the one-clock rule is converted — the platform's
own naive UTC timestamps stay the same instants, the fee workflow's server-local stamps become UTC
— on a database built by the migrations up to 0011, with the migrating process in Beijing time."""
import os
import tempfile
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db

from .conftest import reset_database
from .test_migrations import _scratch_postgres, drop_scratch_postgres

UTC = timezone.utc


def targets():
    yield pytest.param("sqlite", id="sqlite")
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        yield pytest.param("postgresql", id="postgresql")


@pytest.fixture
def in_beijing():
    """The process's own zone set to Asia/Shanghai while the migration runs (the server's zone)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


ROWS = [
    "INSERT INTO unit (id, code, name, level, path) VALUES (900, 'MIG', '迁移学校', 'school', '/900/')",
    "INSERT INTO instrument (id, kind, asset_number, name, original_value, funding_source, unit_id, run_status,"
    " sharing_status, bookable, networked, duty_free, updated_at)"
    " VALUES (900, 'instrument', 'MIG-1', '迁移仪器', 1, 'fiscal_full', 900, 'normal', 'external', false, false, false,"
    " '2026-06-09 02:28:00')",
    "INSERT INTO fee_standard (id, instrument_id, version, state, created_at, approved_at)"
    " VALUES (900, 900, 1, 'published', '2026-06-01 01:00:00', '2026-06-09 10:28:00')",
    "INSERT INTO fee_standard_event (id, standard_id, action, to_state, at)"
    " VALUES (900, 900, 'school_approve', 'published', '2026-06-09 10:28:00')",
    "INSERT INTO change_log (id, table_name, record_id, field, changed_at)"
    " VALUES (900, 'fee_standard', 900, 'state', '2026-06-09 02:28:00')",
]


@pytest.mark.parametrize("backend", list(targets()))
def test_stored_times_become_the_same_instants(backend, in_beijing):
    scratch = None
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='migr-0012-')}/old.db"
    else:
        url, scratch = _scratch_postgres()
    try:
        reset_database(url)
        app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(revision="0011_task_queue")
            for statement in ROWS:
                db.session.execute(sa.text(statement))
            db.session.commit()
            upgrade()  # 0012, in a process whose local time is Beijing's: the fee workflow wrote 10:28 local
            from app.models import ChangeLog, FeeStandard, FeeStandardEvent, Instrument

            db.session.expire_all()
            one_approval = datetime(2026, 6, 9, 2, 28, tzinfo=UTC)  # 10:28 in Beijing
            assert db.session.get(FeeStandardEvent, 900).at == one_approval
            assert db.session.get(FeeStandard, 900).approved_at == one_approval
            assert db.session.get(ChangeLog, 900).changed_at == one_approval  # was UTC already: unchanged
            assert db.session.get(Instrument, 900).updated_at == one_approval
            assert db.session.get(FeeStandard, 900).created_at == datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
            db.session.remove()
            db.engine.dispose()
    finally:
        if scratch:
            drop_scratch_postgres(scratch)
