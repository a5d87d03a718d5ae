"""The benchmark database: where it lives, emptying and migrating it, and the generated data.

One school with colleges and labs, many instruments spread over the labs, and one account
per scope level (lab, college, school).
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from tests.dbreset import reset_database  # the same reset the test suite uses

PASSWORD = "bench-1234"
ASSET_PREFIX = "BENCH-"  # every generated asset number starts with it; the page check looks for it

# benchmark accounts: (username, role, which unit they are bound to)
ACCOUNTS = (
    ("bench_lab", "LabAdmin", "lab"),
    ("bench_college", "CollegeAdmin", "college"),
    ("bench_school", "SchoolAdmin", "school"),
)

# (name, model, manufacturer) the generated instruments are drawn from
INSTRUMENT_TYPES = (
    ("场发射扫描电子显微镜", "SU8010", "日立 Hitachi"), ("透射电子显微镜", "Talos F200X", "赛默飞"),
    ("X射线衍射仪", "D8 Advance", "布鲁克 Bruker"), ("核磁共振波谱仪", "AVANCE NEO 600", "布鲁克 Bruker"),
    ("激光共聚焦显微镜", "LSM 980", "蔡司 Zeiss"), ("液相色谱-质谱联用仪", "Q Exactive", "赛默飞"),
    ("流式细胞仪", "CytoFLEX", "贝克曼 Beckman"), ("电感耦合等离子体发射光谱仪", "Avio 500", "珀金埃尔默"),
    ("原子力显微镜", "Dimension Icon", "布鲁克 Bruker"), ("万能材料试验机", "5985", "英斯特朗 Instron"),
    ("傅里叶变换红外光谱仪", "Nicolet iS50", "赛默飞"), ("紫外可见分光光度计", "UV-2600", "岛津 Shimadzu"),
)
INSERT_BATCH = 2000


# ------------------------------------------------------------------------------------------
# which database, and getting it to an empty, migrated state
# ------------------------------------------------------------------------------------------
def resolve_url(args):
    """(url, temporary directory to delete afterwards or None)."""
    url = args.database_url or os.environ.get("DATABASE_URL")
    if url:
        return with_installed_driver(url), None
    tmp = tempfile.mkdtemp(prefix="platform-bench-")
    return f"sqlite:///{tmp}/bench.db", tmp


def with_installed_driver(url):
    """SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; requirements.txt installs psycopg2."""
    u = sa.engine.make_url(url)
    if u.drivername == "postgresql":
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            u = u.set(drivername="postgresql+psycopg2")
    return u.render_as_string(hide_password=False)


def ensure_database(url):
    """Create a PostgreSQL database if it does not exist yet (SQLite files create themselves)."""
    u = sa.engine.make_url(url)
    if u.get_backend_name() != "postgresql" or not u.database:
        return
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{u.database}"'))
                print(f"created database {u.database}")
    finally:
        admin.dispose()


def create_empty_database(url):
    ensure_database(url)
    reset_database(url)


def migrate(app):
    """Schema by the migrations and roles by sync_roles, as a real deployment gets them.

    Views registered before this (the baseline) get their permissions written here too.
    """
    from flask_migrate import upgrade

    from app.security.roles import sync_roles

    upgrade()
    sync_roles()
    app.appbuilder.add_permissions(update_perms=True)


def redact(url):
    return sa.engine.make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------------------------------
# generated data
# ------------------------------------------------------------------------------------------
def build_university(app, args):
    """Units, instruments and the benchmark accounts; returns a summary for the results."""
    from app.extensions import db

    rng = random.Random(args.seed)
    school, colleges, labs = build_unit_tree(db.session, args.colleges, args.labs_per_college)
    insert_seconds = insert_instruments(db, [lab.id for lab in labs], args.instruments, rng)
    refresh_planner_statistics(db.engine, db.session)
    bound = {"school": school, "college": colleges[0], "lab": labs[0]}
    create_accounts(app.appbuilder.sm, db.session, bound)
    return {
        "units": 1 + len(colleges) + len(labs),
        "colleges": len(colleges),
        "labs": len(labs),
        "instruments": args.instruments,
        "insert_seconds": round(insert_seconds, 2),
        "bound_units": {level: u.id for level, u in bound.items()},
    }


def build_unit_tree(session, college_count, labs_per_college):
    """School, colleges and labs through the ORM, because Unit.path is filled in on insert."""
    from app.models import Unit

    def unit(code, name, level, parent=None):
        u = Unit(code=code, name=name, level=level, parent=parent)
        session.add(u)
        session.flush()
        return u

    school = unit("BENCH-S", "基准测试大学", "school")
    colleges, labs = [], []
    for c in range(1, college_count + 1):
        college = unit(f"BENCH-C{c:02d}", f"第{c}学院", "college", school)
        colleges.append(college)
        for n in range(1, labs_per_college + 1):
            labs.append(unit(f"BENCH-C{c:02d}-L{n:02d}", f"第{c}学院第{n}实验室", "lab", college))
    session.commit()
    missing = session.execute(sa.select(sa.func.count()).select_from(Unit).where(Unit.path.is_(None))).scalar()
    if missing:
        raise RuntimeError(f"{missing} units have no materialised path")
    return school, colleges, labs


def insert_instruments(db, lab_ids, count, rng):
    """`count` instruments spread at random over the labs, by Core bulk inserts (the ORM is too
    slow for tens of thousands). Returns the seconds the inserts took."""
    from app.models import Instrument, InstrumentClass

    class_codes = db.session.execute(
        sa.select(InstrumentClass.code).where(sa.func.length(InstrumentClass.code) == 6).order_by(InstrumentClass.code).limit(200)
    ).scalars().all() or [None]
    table = Instrument.__table__
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    run_status = ["normal"] * 17 + ["occasional_fault", "under_repair", "to_scrap"]
    sharing_status = ["external"] * 6 + ["internal"] * 3 + ["unsuitable"]
    batch = []
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for i in range(1, count + 1):
            name, model, maker = INSTRUMENT_TYPES[rng.randrange(len(INSTRUMENT_TYPES))]
            purchase = date(2010, 1, 1) + timedelta(days=rng.randrange(5000))
            batch.append(dict(
                kind="instrument" if rng.random() < 0.95 else "facility",
                asset_number=f"{ASSET_PREFIX}{i:06d}",
                name=name, model=model, manufacturer=maker, country="中国",
                class_code=rng.choice(class_codes),
                original_value=Decimal(rng.randrange(50_000_00, 20_000_000_00)) / 100,
                funding_source=rng.choice(("fiscal_full", "fiscal_partial", "non_fiscal")),
                purchase_date=purchase, acceptance_date=purchase + timedelta(days=rng.randrange(10, 90)),
                location=f"实验楼{rng.randrange(1, 9)}{rng.randrange(1, 6)}0{rng.randrange(1, 10)}室",
                unit_id=rng.choice(lab_ids),
                contact_phone="0731-88880000", contact_email="lab@example.edu.cn",
                run_status=rng.choice(run_status), sharing_status=rng.choice(sharing_status),
                bookable=rng.random() < 0.6, networked=rng.random() < 0.7, duty_free=False,
                updated_at=now,
            ))
            if len(batch) >= INSERT_BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    return time.perf_counter() - started


def refresh_planner_statistics(engine, session=None):
    """Bring the database to the state autovacuum reaches after bulk inserts.

    `session`: the ORM session the generation used; its transaction is ended first, because an
    open snapshot older than the bulk inserts keeps VACUUM from marking their pages all-visible
    (and the planner then prices every index-only scan as heap fetches)."""
    if session is not None:
        session.commit()
    if engine.dialect.name == "postgresql":
        # fresh statistics and a set visibility map (so a scoped count can be an index-only
        # scan instead of heap fetches)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
            pages, visible = conn.execute(sa.text(
                "SELECT coalesce(sum(relpages), 0), coalesce(sum(relallvisible), 0) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).one()
            if pages and visible < 0.9 * pages:
                print(f"warning: after VACUUM only {visible} of {pages} pages are all-visible "
                      "(a transaction is still open somewhere): index-only scans will not be measured")
    elif engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def create_accounts(sm, session, bound):
    """One user per ACCOUNTS entry, bound to the unit of its level in `bound`."""
    for username, role_name, level in ACCOUNTS:
        user = sm.add_user(username, "基准", "用户", f"{username}@example.edu.cn", sm.find_role(role_name), password=PASSWORD)
        if not user:
            raise RuntimeError(f"could not create user {username}")
        user.unit_id = bound[level].id
        session.commit()
