"""Migrations build the whole schema from an empty database, on SQLite and on PostgreSQL."""
import os
import tempfile

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model

from app import create_app
from app.extensions import db

from .conftest import reset_database

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available():
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def targets():
    yield pytest.param(f"sqlite:///{tempfile.mkdtemp(prefix='migr-')}/empty.db", id="sqlite")
    current = os.environ.get("DATABASE_URL", "")
    if current.startswith("postgresql"):
        yield pytest.param(None, id="postgresql")  # the suite's own database: checked by the schema test below
    elif os.environ.get("REQUIRE_POSTGRES") or _postgres_available():
        yield pytest.param("postgresql-scratch", id="postgresql")


def _scratch_postgres():
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"migr_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}", name


def drop_scratch_postgres(name):
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@pytest.mark.parametrize("url", list(targets()))
def test_upgrade_from_empty_then_downgrade_and_again(url):
    scratch = None
    if url is None:
        pytest.skip("covered by test_suite_database_matches_models on the suite's PostgreSQL database")
    if url == "postgresql-scratch":
        url, scratch = _scratch_postgres()
    try:
        reset_database(url)
        app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            from flask_migrate import downgrade, upgrade

            upgrade()
            assert _schema_diff() == []
            classes = db.session.execute(sa.text("SELECT count(*) FROM instrument_class")).scalar()
            assert classes >= 15
            db.session.remove()  # end the read transaction: DROP TABLE would wait for it forever
            downgrade(revision="base")
            remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set()
            upgrade()
            assert _schema_diff() == []
            assert _slot_guards() == ({"booking_slot_free_insert", "booking_slot_free_update"}
                                      if url.startswith("sqlite") else {"booking_slots_do_not_overlap"})
            db.session.remove()
            db.engine.dispose()
    finally:
        if scratch:
            drop_scratch_postgres(scratch)


def _slot_guards():
    """What keeps two holding slots apart, and the slot index, after every migration ran: later
    migrations must not lose them (a batch copy of `booking` on SQLite drops triggers and expression
    indexes)."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                             "AND tbl_name = 'booking'")).scalars())
            index = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'ix_booking_instrument_slot'")).scalar()
        else:
            found = set(conn.execute(sa.text("SELECT conname FROM pg_constraint WHERE contype = 'x' "
                                             "AND conrelid = 'booking'::regclass")).scalars())
            index = conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_booking_instrument_slot'")).scalar()
    assert index is not None and "coalesce" in index.lower(), index
    return found


def _schema_diff():
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Model.metadata)


def test_suite_database_matches_models(app):
    """The database this suite runs on (SQLite or PostgreSQL) was built by the migrations alone."""
    with app.app_context():
        assert _schema_diff() == []
        db.session.remove()


@pytest.mark.parametrize("assignment", [
    "original_value = -1",
    "run_status = 'exploded'",
    "acceptance_date = '2000-01-01', purchase_date = '2001-01-01'",
    "unit_id = 999999",
    "class_code = '999999'",
    "asset_number = (SELECT asset_number FROM instrument WHERE id = :other)",
])
def test_database_constraints_hold(app, uni, assignment):
    """Integrity lives in the database: bypass every form and the database still refuses."""
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.text(f"UPDATE instrument SET {assignment} WHERE id = :id"),
                {"id": uni.inst_l11, "other": uni.inst_l12},
            )
        db.session.rollback()
        db.session.remove()
