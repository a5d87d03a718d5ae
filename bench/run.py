"""List-page benchmark: the scoped instrument list against a bare FAB list of the same table.

Goals (issue text): with 20,000 generated instruments

1. the scoped instrument list (page size 25) has p50 <= 1.3 x a bare FAB list of the same
   table, measured in the same run;
2. the number of SQL statements per list page is the same for page sizes 25 and 100, and at
   most 10.

Speed is only ever reported as a ratio against the baseline of the same run. The exit code is
0 unless the benchmark itself crashes; each goal is printed as GOAL MET / GOAL MISSED.

    python -m bench.run [--instruments 20000] [--rounds 50] [--warmup 5] [--show-sql]

DATABASE_URL (or --database-url) selects the database, e.g.
postgresql://postgres@127.0.0.1:5432/bench (created if missing, then emptied). Default: a
temporary SQLite file. Results: bench/results/list_pages.json (+ list_pages.<dialect>.json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

# A fixed key so importing config.py never writes instance/secret_key as a side effect.
os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from tests.dbreset import reset_database  # noqa: E402  (the same reset the test suite uses)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-1234"
PAGE_SIZES = (25, 100)
RATIO_GOAL = 1.3
RATIO_PAGE_SIZE = 25
MAX_STATEMENTS = 10
ASSET_PREFIX = "BENCH-"

# benchmark accounts: (username, role, which unit they are bound to)
ACCOUNTS = (
    ("bench_lab", "LabAdmin", "lab"),
    ("bench_college", "CollegeAdmin", "college"),
    ("bench_school", "SchoolAdmin", "school"),
)
SCOPED = "scoped"
BARE = "bare"
ENDPOINTS = {SCOPED: "InstrumentView", BARE: "BareInstrumentView"}


# ------------------------------------------------------------------------------------------
# command line and database
# ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--instruments", type=int, default=20000, help="instruments to generate (default 20000)")
    p.add_argument("--rounds", type=int, default=50, help="measured rounds per case (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured warm-up requests per case (default 5)")
    p.add_argument("--colleges", type=int, default=7, help="colleges under the school (default 7)")
    p.add_argument("--labs-per-college", type=int, default=5, help="labs per college (default 5)")
    p.add_argument("--database-url", default=None, help="overrides DATABASE_URL; default: a temporary SQLite file")
    p.add_argument("--show-sql", action="store_true", help="print the SQL statements of one request per case")
    p.add_argument("--out", default=str(RESULTS_DIR / "list_pages.json"), help="JSON results file")
    p.add_argument("--keep-db", action="store_true", help="keep the temporary SQLite file")
    p.add_argument("--bare-fab-defaults", action="store_true",
                   help="baseline with FAB's default search and order columns (only list_columns and base_order copied)")
    p.add_argument("--seed", type=int, default=2026)
    return p.parse_args(argv)


def resolve_url(args):
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


def redact(url):
    return sa.engine.make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------------------------------
# the baseline: a bare FAB list of the same table
# ------------------------------------------------------------------------------------------
def make_bare_view(fab_defaults=False):
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import Instrument
    from app.views.instruments import InstrumentView

    class BareInstrumentView(ModelView):
        """Plain FAB over the same table: no base_filters (scope), no formatters, no choices.

        It shows the same list columns in the same order and offers the same search and sort
        columns, so the page does the same work minus scoping. (With FAB's default
        search_columns the page would also load every related table -- classification,
        platforms, people, filings, fee standards -- for the search form's dropdowns: a slower,
        weaker baseline. `--bare-fab-defaults` measures against that instead.)
        """

        datamodel = SQLAInterface(Instrument)
        list_columns = list(InstrumentView.list_columns)
        page_size = 25
        base_order = InstrumentView.base_order  # same ORDER BY, so both pages show the same rows
        if not fab_defaults:
            search_columns = list(InstrumentView.search_columns)
            order_columns = list(InstrumentView.order_columns)

    return BareInstrumentView


def grant_bare_permissions(sm):
    """Give each benchmark role on the bare view the permissions it holds on InstrumentView.

    At least can_list. Mirroring matters: FAB renders show/edit/delete buttons on every row
    for a user who may use them (~0.5 ms a row), so a list-only baseline would measure those
    buttons, not the scope. SchoolAdmin (FAB's admin role) already holds everything.
    """
    granted = {}
    for _username, role_name, _level in ACCOUNTS:
        role = sm.find_role(role_name)
        wanted = {"can_list"} | {
            pv.permission.name for pv in role.permissions if pv.view_menu.name == ENDPOINTS[SCOPED]
        }
        names = []
        for perm in sorted(wanted):
            pvm = sm.find_permission_view_menu(perm, ENDPOINTS[BARE])
            if pvm is None:
                continue  # a permission the bare view does not have (e.g. a custom action)
            if pvm not in role.permissions:
                sm.add_permission_role(role, pvm)
            names.append(perm)
        if "can_list" not in names:
            raise RuntimeError("can_list on BareInstrumentView was not created by add_permissions")
        granted[role_name] = names
    return granted


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
NAMES = (
    ("场发射扫描电子显微镜", "SU8010", "日立 Hitachi"), ("透射电子显微镜", "Talos F200X", "赛默飞"),
    ("X射线衍射仪", "D8 Advance", "布鲁克 Bruker"), ("核磁共振波谱仪", "AVANCE NEO 600", "布鲁克 Bruker"),
    ("激光共聚焦显微镜", "LSM 980", "蔡司 Zeiss"), ("液相色谱-质谱联用仪", "Q Exactive", "赛默飞"),
    ("流式细胞仪", "CytoFLEX", "贝克曼 Beckman"), ("电感耦合等离子体发射光谱仪", "Avio 500", "珀金埃尔默"),
    ("原子力显微镜", "Dimension Icon", "布鲁克 Bruker"), ("万能材料试验机", "5985", "英斯特朗 Instron"),
    ("傅里叶变换红外光谱仪", "Nicolet iS50", "赛默飞"), ("紫外可见分光光度计", "UV-2600", "岛津 Shimadzu"),
)


def build_university(app, args):
    """School, colleges and labs through the ORM (Unit.path is set on insert), instruments via Core."""
    from app.extensions import db
    from app.models import Instrument, InstrumentClass, Unit

    rng = random.Random(args.seed)
    session = db.session

    def unit(code, name, level, parent=None):
        u = Unit(code=code, name=name, level=level, parent=parent)
        session.add(u)
        session.flush()
        return u

    school = unit("BENCH-S", "基准测试大学", "school")
    colleges, labs = [], []
    for c in range(1, args.colleges + 1):
        college = unit(f"BENCH-C{c:02d}", f"第{c}学院", "college", school)
        colleges.append(college)
        for l in range(1, args.labs_per_college + 1):
            labs.append(unit(f"BENCH-C{c:02d}-L{l:02d}", f"第{c}学院第{l}实验室", "lab", college))
    session.commit()
    missing = session.execute(sa.select(sa.func.count()).select_from(Unit).where(Unit.path.is_(None))).scalar()
    if missing:
        raise RuntimeError(f"{missing} units have no materialised path")

    class_codes = session.execute(
        sa.select(InstrumentClass.code).where(sa.func.length(InstrumentClass.code) == 6).order_by(InstrumentClass.code).limit(200)
    ).scalars().all() or [None]
    lab_ids = [lab.id for lab in labs]
    table = Instrument.__table__
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    run_status = ["normal"] * 17 + ["occasional_fault", "under_repair", "to_scrap"]
    sharing_status = ["external"] * 6 + ["internal"] * 3 + ["unsuitable"]
    batch = []
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for i in range(1, args.instruments + 1):
            name, model, maker = NAMES[rng.randrange(len(NAMES))]
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
            if len(batch) >= 2000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    insert_seconds = time.perf_counter() - started
    if db.engine.dialect.name == "postgresql":
        # the steady state autovacuum reaches: fresh statistics and a set visibility map (so a
        # scoped count can be an index-only scan instead of heap fetches)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    elif db.engine.dialect.name == "sqlite":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))

    sm = app.appbuilder.sm
    bound = {"school": school, "college": colleges[0], "lab": labs[0]}
    for username, role_name, level in ACCOUNTS:
        user = sm.add_user(username, "基准", "用户", f"{username}@example.edu.cn", sm.find_role(role_name), password=PASSWORD)
        if not user:
            raise RuntimeError(f"could not create user {username}")
        user.unit_id = bound[level].id
        session.commit()
    return {
        "units": 1 + len(colleges) + len(labs),
        "colleges": len(colleges),
        "labs": len(labs),
        "instruments": args.instruments,
        "insert_seconds": round(insert_seconds, 2),
        "bound_units": {level: u.id for level, u in bound.items()},
    }


def expected_first_page(level_unit_id, scoped, size):
    """Asset numbers the first page must show: newest `size` instruments in scope (or all)."""
    from app.extensions import db
    from app.models import Instrument, Unit

    q = sa.select(Instrument.asset_number).order_by(Instrument.id.desc()).limit(size)
    total = sa.select(sa.func.count()).select_from(Instrument)
    if scoped:
        path = db.session.execute(sa.select(Unit.path, Unit.parent_id).where(Unit.id == level_unit_id)).first()
        if path.parent_id is not None:  # the school root sees everything
            in_scope = Instrument.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(path.path, autoescape=True)))
            q, total = q.where(in_scope), total.where(in_scope)
    return set(db.session.execute(q).scalars()), db.session.execute(total).scalar()


# ------------------------------------------------------------------------------------------
# measuring
# ------------------------------------------------------------------------------------------
class StatementCounter:
    """Counts (and times) the statements sent to the database while active."""

    def __init__(self, engine):
        self.active = False
        self.statements = []  # [statement, seconds]
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append([statement, time.perf_counter()])

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and self.statements and self.statements[-1][0] is statement:
            self.statements[-1][1] = time.perf_counter() - self.statements[-1][1]

    def start(self):
        self.statements = []
        self.active = True

    def stop(self):
        self.active = False
        return self.statements


def csrf_token(client, url="/login/"):
    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not m:
        raise RuntimeError("no CSRF token on the login page")
    return m.group(1)


def login(app, username):
    client = app.test_client()
    resp = client.post("/login/", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    if resp.status_code != 302 or "/login" in resp.headers.get("Location", ""):
        raise RuntimeError(f"login as {username} failed: {resp.status_code} {resp.headers.get('Location')}")
    return client


def list_url(kind, size):
    view = ENDPOINTS[kind]
    return f"/{view.lower()}/list/?psize_{view}={size}"


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def normalise_sql(statement):
    return re.sub(r"\s+", " ", statement).strip()


def group_statements(statements):
    """[(statement, seconds)] -> one entry per distinct statement, in first-seen order."""
    grouped = {}
    for sql, seconds in statements:
        entry = grouped.setdefault(normalise_sql(sql), {"count": 0, "ms": 0.0})
        entry["count"] += 1
        entry["ms"] += seconds * 1000
    return [{"count": e["count"], "ms": round(e["ms"], 3), "sql": sql} for sql, e in grouped.items()]


def run_cases(app, counter, clients, bound, args):
    cases = {}
    for _username, role, level in ACCOUNTS:
        for size in PAGE_SIZES:
            for kind in (SCOPED, BARE):
                with app.app_context():
                    expected, total = expected_first_page(bound[level], kind == SCOPED, size)
                cases[(role, size, kind)] = {
                    "role": role, "page_size": size, "view": kind, "url": list_url(kind, size),
                    "times_ms": [], "cpu_ms": [], "sql_ms": [], "statements": [], "sample_sql": None,
                    "visible_total": total, "expected": expected, "check": None,
                }

    def hit(role, size, kind, measure):
        case = cases[(role, size, kind)]
        client = clients[role]
        counter.start()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        resp = client.get(case["url"])
        body = resp.get_data()
        elapsed = time.perf_counter() - t0
        cpu = time.thread_time() - c0
        statements = counter.stop()
        if resp.status_code != 200:
            raise RuntimeError(f"{role} {case['url']}: HTTP {resp.status_code} {resp.headers.get('Location', '')}")
        if case["check"] is None:
            shown = set(re.findall(rf"{ASSET_PREFIX}\d{{6}}", body.decode("utf-8", "replace")))
            case["check"] = "ok" if shown == case["expected"] else (
                f"MISMATCH: page shows {len(shown)} instruments, expected {len(case['expected'])} "
                f"({len(shown - case['expected'])} unexpected)"
            )
        if measure:
            case["times_ms"].append(elapsed * 1000)
            case["cpu_ms"].append(cpu * 1000)
            case["statements"].append(len(statements))
            case["sql_ms"].append(sum(sec for _s, sec in statements) * 1000)
            if case["sample_sql"] is None:
                case["sample_sql"] = group_statements(statements)

    order = [(role, size) for _u, role, _l in ACCOUNTS for size in PAGE_SIZES]
    for _ in range(args.warmup):
        for role, size in order:
            for kind in (SCOPED, BARE):
                hit(role, size, kind, measure=False)
    for r in range(args.rounds):
        # interleave and alternate which goes first, so drift and cache effects hit both alike
        kinds = (SCOPED, BARE) if r % 2 == 0 else (BARE, SCOPED)
        for role, size in order:
            for kind in kinds:
                hit(role, size, kind, measure=True)
    return cases


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def summarise(cases):
    rows = []
    for _u, role, _l in ACCOUNTS:
        for size in PAGE_SIZES:
            s, b = cases[(role, size, SCOPED)], cases[(role, size, BARE)]
            s50, b50 = statistics.median(s["times_ms"]), statistics.median(b["times_ms"])
            # each round measures scoped and bare back to back: the median of those pairs'
            # ratios is less sensitive to load from other processes than the ratio of medians
            paired = statistics.median(x / y for x, y in zip(s["times_ms"], b["times_ms"]))
            rows.append({
                "role": role, "page_size": size,
                "visible_instruments": s["visible_total"],
                "scoped_p50_ms": round(s50, 2), "scoped_p95_ms": round(percentile(s["times_ms"], 0.95), 2),
                "bare_p50_ms": round(b50, 2), "bare_p95_ms": round(percentile(b["times_ms"], 0.95), 2),
                "ratio_p50": round(s50 / b50, 3),
                "ratio_paired_median": round(paired, 3),
                "scoped_cpu_p50_ms": round(statistics.median(s["cpu_ms"]), 2),
                "bare_cpu_p50_ms": round(statistics.median(b["cpu_ms"]), 2),
                "scoped_sql_p50_ms": round(statistics.median(s["sql_ms"]), 2),
                "bare_sql_p50_ms": round(statistics.median(b["sql_ms"]), 2),
                "scoped_statements": sorted(set(s["statements"])),
                "bare_statements": sorted(set(b["statements"])),
                "scoped_page_check": s["check"], "bare_page_check": b["check"],
            })
    return rows


def evaluate(rows):
    by = {(r["role"], r["page_size"]): r for r in rows}
    roles = [role for _u, role, _l in ACCOUNTS]
    ratio_detail = {role: by[(role, RATIO_PAGE_SIZE)]["ratio_p50"] for role in roles}
    ratio_met = all(v <= RATIO_GOAL for v in ratio_detail.values())
    stmt_detail, stmt_met = {}, True
    for role in roles:
        counts = {size: by[(role, size)]["scoped_statements"] for size in PAGE_SIZES}
        stable = all(len(c) == 1 for c in counts.values())
        values = {size: max(c) for size, c in counts.items()}
        ok = stable and len(set(values.values())) == 1 and max(values.values()) <= MAX_STATEMENTS
        stmt_detail[role] = {"per_page_size": values, "stable_across_rounds": stable, "met": ok}
        stmt_met &= ok
    checks_ok = all(r["scoped_page_check"] == "ok" and r["bare_page_check"] == "ok" for r in rows)
    return {
        "ratio": {"goal": f"scoped p50 / bare p50 <= {RATIO_GOAL} at page size {RATIO_PAGE_SIZE}",
                  "met": ratio_met, "per_role": ratio_detail},
        "statements": {"goal": f"scoped list statements equal for page sizes {PAGE_SIZES} and <= {MAX_STATEMENTS}",
                       "met": stmt_met, "per_role": stmt_detail},
        "pages_show_expected_rows": checks_ok,
    }


def fmt_counts(values):
    return "/".join(str(v) for v in values)


def print_report(meta, rows, goals, cases, show_sql):
    print()
    print(f"List pages — {meta['dialect']}, {meta['data']['instruments']} instruments, "
          f"{meta['rounds']} rounds (+{meta['warmup']} warm-up), times in ms")
    header = f"{'role':<13}{'size':>5}{'visible':>9}{'scoped p50':>12}{'p95':>8}{'bare p50':>10}{'p95':>8}{'ratio':>7}{'paired':>8}{'SQL n s/b':>11}{'SQL ms s/b':>13}  page"
    print(header)
    print("-" * len(header))
    for r in rows:
        page = "ok" if r["scoped_page_check"] == "ok" and r["bare_page_check"] == "ok" else "CHECK"
        print(f"{r['role']:<13}{r['page_size']:>5}{r['visible_instruments']:>9}{r['scoped_p50_ms']:>12.1f}"
              f"{r['scoped_p95_ms']:>8.1f}{r['bare_p50_ms']:>10.1f}{r['bare_p95_ms']:>8.1f}{r['ratio_p50']:>7.2f}{r['ratio_paired_median']:>8.2f}"
              f"{fmt_counts(r['scoped_statements']) + ' / ' + fmt_counts(r['bare_statements']):>11}"
              f"{r['scoped_sql_p50_ms']:>7.1f} /{r['bare_sql_p50_ms']:>4.1f}  {page}")
    for r in rows:
        for kind in ("scoped", "bare"):
            if r[f"{kind}_page_check"] != "ok":
                print(f"  page check {r['role']} {r['page_size']} {kind}: {r[f'{kind}_page_check']}")
    print()
    g = goals["ratio"]
    print(f"{'GOAL MET   ' if g['met'] else 'GOAL MISSED'}  {g['goal']}: "
          + ", ".join(f"{role} {v:.2f}" for role, v in g["per_role"].items()))
    g = goals["statements"]
    print(f"{'GOAL MET   ' if g['met'] else 'GOAL MISSED'}  {g['goal']}: "
          + ", ".join(
              f"{role} " + "/".join(f"{d['per_page_size'][s]}" for s in PAGE_SIZES)
              + ("" if d["stable_across_rounds"] else " (varies)")
              for role, d in g["per_role"].items()))
    if not goals["pages_show_expected_rows"]:
        print("WARNING: some list pages did not show the expected instruments (see 'page' column)")
    if show_sql:
        for (role, size, kind), case in cases.items():
            print()
            print(f"--- SQL of one request: {role} {kind} page size {size} ({sum(s['count'] for s in case['sample_sql'])} statements)")
            for s in case["sample_sql"]:
                sql = s["sql"] if len(s["sql"]) <= 400 else s["sql"][:400] + " …"
                print(f"  {s['count']:>3} x {s['ms']:>7.2f} ms  {sql}")


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5).stdout.strip() or None
    except Exception:
        return None


def write_results(path, payload, dialect):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=2, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    per_dialect = path.with_name(f"{path.stem}.{dialect}{path.suffix}")
    per_dialect.write_text(text + "\n", encoding="utf-8")
    return path, per_dialect


# ------------------------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    if args.rounds < 1 or args.instruments < 1:
        raise SystemExit("--rounds and --instruments must be at least 1")
    sys.path.insert(0, str(ROOT))
    url, tmpdir = resolve_url(args)
    started = time.perf_counter()
    try:
        ensure_database(url)
        reset_database(url)

        import flask_appbuilder
        from flask_migrate import upgrade

        from app import create_app
        from app.extensions import db
        from app.security.roles import sync_roles

        app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            # register the baseline before sync_roles, whose add_permissions(update_perms=True)
            # writes its permissions (and hands them all to SchoolAdmin, FAB's admin role)
            app.appbuilder.add_view_no_menu(make_bare_view(args.bare_fab_defaults))
            print(f"database: {redact(url)}")
            upgrade()
            sync_roles()
            app.appbuilder.add_permissions(update_perms=True)
            data = build_university(app, args)
            data["bare_view_permissions"] = grant_bare_permissions(app.appbuilder.sm)
            db.session.commit()
            dialect = db.engine.dialect.name
            counter = StatementCounter(db.engine)
        print(f"built {data['units']} units and {data['instruments']} instruments "
              f"(instrument insert {data['insert_seconds']} s); measuring…")

        clients = {role: login(app, username) for username, role, _l in ACCOUNTS}
        bound = {role: data["bound_units"][level] for _u, role, level in ACCOUNTS}
        bound_by_level = data["bound_units"]
        t0 = time.perf_counter()
        cases = run_cases(app, counter, clients, bound_by_level, args)
        measure_seconds = time.perf_counter() - t0

        rows = summarise(cases)
        goals = evaluate(rows)
        meta = {
            "benchmark": "list_pages",
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "dialect": dialect,
            "database_url": redact(url),
            "python": platform.python_version(),
            "flask_appbuilder": flask_appbuilder.__version__,
            "sqlalchemy": sa.__version__,
            "machine": f"{platform.machine()} / {os.cpu_count()} CPU",
            "rounds": args.rounds,
            "baseline": "FAB defaults (list_columns and base_order copied)" if args.bare_fab_defaults
            else "same list/search/order columns and base_order as InstrumentView; no base_filters, formatters or choices",
            "warmup": args.warmup,
            "data": data,
            "accounts": {role: {"unit_id": bound[role]} for role in bound},
            "measure_seconds": round(measure_seconds, 1),
        }
        print_report(meta, rows, goals, cases, args.show_sql)
        payload = {
            **meta,
            "results": rows,
            "goals": goals,
            "sql_per_case": {f"{role}/{kind}/{size}": case["sample_sql"] for (role, size, kind), case in cases.items()},
            "raw_times_ms": {f"{role}/{kind}/{size}": [round(t, 3) for t in case["times_ms"]] for (role, size, kind), case in cases.items()},
        }
        out, per_dialect = write_results(args.out, payload, dialect)
        meta["total_seconds"] = round(time.perf_counter() - started, 1)
        print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} and {per_dialect.name} "
              f"(total {meta['total_seconds']} s)")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        if tmpdir and not args.keep_db:
            shutil.rmtree(tmpdir, ignore_errors=True)
        elif tmpdir:
            print(f"kept SQLite database in {tmpdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
