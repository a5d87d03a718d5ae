"""Migrations build the whole schema from an empty database, on SQLite and on PostgreSQL."""
import contextlib
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


@contextlib.contextmanager
def _upgraded_over(url, revision, rows):
    """A fresh database migrated to `revision`, `rows` inserted there, then migrated to the head; the body
    runs in its app context (on the scratch PostgreSQL database when the suite runs on SQLite)."""
    scratch = None
    if url is None:
        pytest.skip("the scratch PostgreSQL database is used when the suite runs on SQLite")
    if url == "postgresql-scratch":
        url, scratch = _scratch_postgres()
    try:
        reset_database(url)
        app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            from flask_migrate import upgrade

            try:
                upgrade(revision=revision)
                with db.engine.begin() as conn:
                    for statement in rows:
                        conn.execute(sa.text(statement))
                upgrade()
                yield
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if scratch:
            drop_scratch_postgres(scratch)


ROWS_BEFORE_0017 = [
    "INSERT INTO unit (id, code, name, level) VALUES (900, 'M17', 'M17 lab', 'lab')",
    "INSERT INTO instrument (id, kind, asset_number, name, original_value, funding_source, unit_id, run_status, "
    "sharing_status, bookable, networked, duty_free) VALUES (900, 'instrument', 'M17-1', 'M17', 500000, "
    "'fiscal_full', 900, 'normal', 'external', true, false, false)",
    "INSERT INTO fee_standard (id, instrument_id, version, state, created_at) VALUES (900, 900, 1, 'published', "
    "'2026-01-01 00:00:00')",
    "INSERT INTO fee_standard_event (id, standard_id, action, to_state, at) VALUES (900, 900, 'create', 'draft', "
    "'2026-01-01 00:00:00')",
    "INSERT INTO fee_item (id, standard_id, name, billing_unit, cost_basis) VALUES (900, 900, 'machine', '小时', 10)",
    "INSERT INTO fee_item (id, standard_id, name, billing_unit, cost_basis) VALUES (901, 900, 'report', '份报告', 10)",
    "INSERT INTO fee_price (id, item_id, customer_category, tier_min, unit_price) VALUES (900, 900, 'campus', 0, 100)",
    "INSERT INTO fee_item_component (id, item_id, component, amount) VALUES (900, 900, 'usage', 10)",
    "INSERT INTO customer_org (id, name, category, affiliated) VALUES (900, 'M17 Co', 'enterprise', false)",
    "INSERT INTO service_user (id, name, org_id) VALUES (900, 'M17 user', 900)",
    "INSERT INTO usage_record (id, instrument_id, user_id, started_at, ended_at, hours, source, service_type, direction) "
    "VALUES (900, 900, 900, '2026-01-02 01:00:00', '2026-01-02 03:00:00', 2, 'manual', 'external', 'research')",
    "INSERT INTO charge (id, usage_id, fee_standard_id, total, state, created_at) VALUES (900, 900, 900, 200, "
    "'invoiced', '2026-01-02 04:00:00')",
    "INSERT INTO charge_line (id, charge_id, fee_item_id, description, quantity, unit_price, amount) VALUES "
    "(900, 900, 900, 'machine', 2, 100, 200)",
]


@pytest.mark.parametrize("url", list(targets()))
def test_0017_keeps_the_rows_it_extends(url):
    """0017 extends fee standards, items, uses and charges: on SQLite a batch copy of a table drops the
    old one with foreign keys on, and its children would cascade with it. Every row is still there,
    the items' quantity basis follows their billing unit, and the new rules hold."""
    with _upgraded_over(url, "0016_contracts", ROWS_BEFORE_0017):
        with db.engine.connect() as conn:
            for table in ("fee_standard", "fee_standard_event", "fee_item", "fee_price", "fee_item_component",
                          "usage_record", "charge", "charge_line"):
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE id >= 900")).scalar() >= 1, table
            assert dict(conn.execute(sa.text("SELECT id, quantity_basis FROM fee_item WHERE id >= 900")).all()) == {
                900: "hours", 901: "entered"}
            assert conn.execute(sa.text("SELECT tier_mode, unit_rounding FROM fee_standard WHERE id = 900")).one() == (
                "volume", "started_unit")
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE charge SET state = 'confirmed' WHERE id = 900"))
        for statement in (
            "UPDATE charge SET state = 'waived' WHERE id = 900",  # a waiver needs its reason
            "UPDATE charge SET state = 'lost' WHERE id = 900",
            "UPDATE fee_standard SET tier_mode = 'random' WHERE id = 900",
            "UPDATE usage_record SET samples_received = -1 WHERE id = 900",
        ):
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(sa.text(statement))
        with db.engine.begin() as conn:  # one open session per instrument
            conn.execute(sa.text("INSERT INTO usage_record (instrument_id, started_at, source, service_type, "
                                 "direction) VALUES (900, '2026-01-03 01:00:00', 'manual', 'internal', 'research')"))
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO usage_record (instrument_id, started_at, source, service_type, "
                                 "direction) VALUES (900, '2026-01-03 02:00:00', 'manual', 'internal', 'research')"))
        assert _slot_guards()


ROWS_BEFORE_0020 = [
    "INSERT INTO unit (id, code, name, level) VALUES (920, 'M20', 'M20 lab', 'lab')",
    "INSERT INTO instrument (id, kind, asset_number, name, original_value, funding_source, unit_id, run_status, "
    "sharing_status, bookable, networked, duty_free) VALUES (920, 'instrument', 'M20-1', 'M20', 500000, "
    "'fiscal_full', 920, 'normal', 'external', true, false, false)",
    "INSERT INTO person (id, name, unit_id, email, duty) VALUES (920, 'M20 PI', 920, 'pi@example.edu.cn', 'technician')",
    "INSERT INTO customer_org (id, name, category, affiliated) VALUES (920, 'M20 campus', 'campus', true)",
    "INSERT INTO service_user (id, name, org_id, pi_id, project_account) VALUES (920, 'M20 user', 920, 920, 'P-920')",
] + [
    f"INSERT INTO usage_record (id, instrument_id, user_id, started_at, ended_at, hours, source, service_type, direction) "
    f"VALUES ({920 + n}, 920, 920, '2026-01-0{2 + n} 01:00:00', '2026-01-0{2 + n} 03:00:00', 2, 'manual', 'internal', "
    f"'research')" for n in range(3)
] + [
    # confirmed, not invoiced: it waits for the PI now; invoiced and pending ones are left as they are
    f"INSERT INTO charge (id, usage_id, user_id, customer_category, project_account, total, state, created_at) VALUES "
    f"({920 + n}, {920 + n}, 920, 'campus', 'P-920', 200, '{state}', '2026-01-05 04:00:00')"
    for n, state in enumerate(("confirmed", "invoiced", "pending"))
]


@pytest.mark.parametrize("url", list(targets()))
def test_0020_asks_the_pi_for_the_campus_charges_already_confirmed(url):
    with _upgraded_over(url, "0019_interlock", ROWS_BEFORE_0020):
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT charge_id, pi_id, email_to, project_account, state, length(nonce) "
                                        "FROM charge_approval")).all()
        assert [tuple(r) for r in rows] == [(920, 920, "pi@example.edu.cn", "P-920", "awaiting", 32)]


def _account(id_, username, email, active=True):
    return (f"INSERT INTO ab_user (id, first_name, last_name, username, email, active) VALUES ({id_}, 'M', '21', "
            f"'{username}', '{email}', {'true' if active else 'false'})")


@pytest.mark.parametrize("url", list(targets()))
def test_0021_names_the_accounts_that_differ_only_in_case(url):
    """The lower() indexes cannot be built over accounts that already clash: the upgrade stops and names
    them (the impostor is inactive) for an administrator to rename or remove; nothing is renamed."""
    rows = [_account(930, "lab_admin", "lab@example.edu.cn"), _account(931, "LAB_ADMIN", "other@example.edu.cn", False),
            _account(932, "someone", "Same@Example.edu.cn"), _account(933, "someone_else", "same@example.edu.cn")]
    with pytest.raises(SystemExit) as stopped:  # `flask db upgrade` logs the migration's message and exits 1
        with _upgraded_over(url, "0020_pi_approval", rows):
            pass
    message = str(stopped.value.__context__)
    assert "#930 lab_admin, #931 LAB_ADMIN (inactive)" in message
    assert "#932 Same@Example.edu.cn, #933 same@example.edu.cn" in message


ROWS_BEFORE_0022 = ROWS_BEFORE_0020 + [
    "INSERT INTO charge_approval (id, charge_id, instrument_id, pi_id, state, requested_at, nonce, decided_at, "
    "decided_via, recorded_by_id, note) VALUES (920, 920, 920, 920, 'approved', '2026-01-06 01:00:00', "
    "'0123456789abcdef0123456789abcdef', '2026-01-06 02:00:00', 'lab', NULL, '纸质审批')",
]


@pytest.mark.parametrize("url", list(targets()))
def test_0022_keeps_the_labs_old_records_and_wants_a_scan_for_paper(url):
    with _upgraded_over(url, "0021_account_names_caseless", ROWS_BEFORE_0022):
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT decided_via, note FROM charge_approval WHERE id = 920")).one() == (
                "lab", "纸质审批")
        for statement in ("UPDATE charge_approval SET decided_via = 'paper' WHERE id = 920",  # no scan
                          "UPDATE charge_approval SET decided_via = 'phone' WHERE id = 920"):
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(sa.text(statement))
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE charge_approval SET decided_via = 'paper', scan_path = 'x.pdf' WHERE id = 920"))
