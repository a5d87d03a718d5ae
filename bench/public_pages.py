"""Public fee-page benchmark: the anonymous /public/fees catalogue against a bare FAB list of the
instrument table.

Goals (issue text): with 20,000 instruments, 15,000 of them published,

1. the /public/fees page has p50 <= 1.5 x a bare FAB list of the instrument table, measured in
   the same run;
2. every anonymous page sends at most 6 SQL statements;
3. a search by name or by price range is served by an index (the query plan is shown on
   PostgreSQL).

Speed is only ever reported as a ratio against the baseline of the same run. The exit code is
0 unless the benchmark itself crashes; each goal is printed as GOAL MET / GOAL MISSED.

    python -m bench.public_pages [--instruments 20000] [--published 15000] [--rounds 50] [--show-sql]

DATABASE_URL (or --database-url) selects the database, e.g.
postgresql://postgres@127.0.0.1:5432/bench (created if missing, then emptied). Default: a
temporary SQLite file. Results: bench/results/public_pages.json (+ public_pages.<dialect>.json).
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
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from urllib.parse import quote

# A fixed key so importing config.py never writes instance/secret_key as a side effect.
os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import sqlalchemy as sa  # noqa: E402

from bench.data import (  # noqa: E402
    INSERT_BATCH, build_unit_tree, create_empty_database, insert_instruments, migrate, redact,
    refresh_planner_statistics, resolve_url,
)
from bench.measure import StatementCounter, group_statements  # noqa: E402
from bench.report import RESULTS_DIR, ROOT, git_commit, percentile, write_results  # noqa: E402

# the goals, from the issue
RATIO_GOAL = 1.5
MAX_STATEMENTS = 6

PAGE_SIZE = 20  # app.services.catalogue.public.PAGE_SIZE; checked at start-up
BARE_VIEW = "BareInstrumentView"
PUBLISHED_FROM = date(2026, 1, 1)

# A third of the generated names get one of these qualifiers in front ("高分辨场发射扫描电子
# 显微镜"), so a name fragment can match a few per cent of the catalogue: the 12 base names
# each match about 8 %. Each qualifier lands on about 3.75 % of the instruments.
NAME_QUALIFIERS = ("高分辨", "全自动", "便携式", "高通量", "多功能", "超低温", "原位", "台式")
QUALIFIED_SHARE = 0.3
# (item name, billing unit); the first is every standard's main item
FEE_ITEMS = (("机时", "小时"), ("样品测试", "样品"), ("数据分析", "次"), ("制样", "样品"))
# customer categories beyond campus and enterprise, each added with probability 1/2
OPTIONAL_CATEGORIES = (("academic", Decimal("1.2")), ("student_startup", Decimal("1.0")))


# ------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.public_pages", description=__doc__.split("\n\n")[0])
    p.add_argument("--instruments", type=int, default=20000, help="instruments to generate (default 20000)")
    p.add_argument("--published", type=int, default=15000,
                   help="instruments with a published fee standard in force, all listable (default 15000)")
    p.add_argument("--drafts", type=int, default=2000,
                   help="further instruments with only a draft standard, never shown (default 2000)")
    p.add_argument("--rounds", type=int, default=50, help="measured rounds per page (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured warm-up requests per page (default 5)")
    p.add_argument("--colleges", type=int, default=7, help="colleges under the school (default 7)")
    p.add_argument("--labs-per-college", type=int, default=5, help="labs per college (default 5)")
    p.add_argument("--name-fragment", default=NAME_QUALIFIERS[0],
                   help=f"the name search's q= (default {NAME_QUALIFIERS[0]}, about 3.75 %% of the names)")
    p.add_argument("--price-min", default="100", help="the price search's price_min (default 100)")
    p.add_argument("--price-max", default="200", help="the price search's price_max (default 200)")
    p.add_argument("--deep-page", type=int, default=300, help="the deep page measured on both lists (default 300)")
    p.add_argument("--database-url", default=None, help="overrides DATABASE_URL; default: a temporary SQLite file")
    p.add_argument("--show-sql", action="store_true", help="print the SQL statements of one request per page")
    p.add_argument("--out", default=str(RESULTS_DIR / "public_pages.json"), help="JSON results file")
    p.add_argument("--keep-db", action="store_true", help="keep the temporary SQLite file")
    p.add_argument("--seed", type=int, default=2026)
    return p.parse_args(argv)


def page_cases(args):
    """(key, label, url, baseline key or None); the baseline of a public page is the bare page
    at the same depth. Requests go out in this order (reversed every other round)."""
    deep = args.deep_page
    q = quote(args.name_fragment)
    return (
        ("fees", "/public/fees", "/public/fees", "bare"),
        ("bare", "bare list", f"/{BARE_VIEW.lower()}/list/", None),
        ("fees_name", f"/public/fees?q={args.name_fragment}", f"/public/fees?q={q}", "bare"),
        ("fees_price", f"/public/fees?price_min={args.price_min}&price_max={args.price_max}",
         f"/public/fees?price_min={quote(args.price_min)}&price_max={quote(args.price_max)}", "bare"),
        ("fees_deep", f"/public/fees?page={deep}", f"/public/fees?page={deep}", "bare_deep"),
        # FAB counts its pages from 0
        ("bare_deep", f"bare list page {deep}", f"/{BARE_VIEW.lower()}/list/?page_{BARE_VIEW}={deep - 1}", None),
    )


# ------------------------------------------------------------------------------------------
# the baseline: a bare FAB list of the instrument table, open to anonymous visitors
# ------------------------------------------------------------------------------------------
def make_bare_public_view():
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import Instrument

    class BareInstrumentView(ModelView):
        """Plain FAB over the instrument table: the public page's columns (name, model,
        location), its page size and its default order (by name), no filters, no formatters.
        Search columns are plain text, so the search form loads no related tables."""

        datamodel = SQLAInterface(Instrument)
        list_columns = ["name", "model", "location"]
        search_columns = ["name", "model", "location"]
        order_columns = ["name", "model", "location"]
        # forms are not measured; FAB's default (every column) would include the computed
        # fee-status columns, which have no form field
        add_columns = edit_columns = show_columns = ["asset_number", "name", "model"]
        page_size = PAGE_SIZE
        base_order = ("name", "asc")

    return BareInstrumentView


def grant_public_list(sm):
    """can_list on the bare view for the Public role (after sync_roles, which would take it away):
    both pages are then anonymous pages."""
    role = sm.find_role(sm.auth_role_public)
    pvm = sm.find_permission_view_menu("can_list", BARE_VIEW)
    if role is None or pvm is None:
        raise RuntimeError("no Public role or no can_list on BareInstrumentView")
    if pvm not in role.permissions:
        sm.add_permission_role(role, pvm)
    return sm.auth_role_public


# ------------------------------------------------------------------------------------------
# generated data: instruments (bench/data.py), then names, statuses and fee standards
# ------------------------------------------------------------------------------------------
def build_catalogue(app, args):
    """Units and instruments as bench.run builds them, then `--published` of the instruments made
    listable and given a published standard in force, and `--drafts` others a draft."""
    from app.extensions import db
    from app.models import Instrument

    rng = random.Random(args.seed)
    school, colleges, labs = build_unit_tree(db.session, args.colleges, args.labs_per_college)
    t0 = time.perf_counter()
    insert_instruments(db, [lab.id for lab in labs], args.instruments, rng)
    instrument_seconds = time.perf_counter() - t0

    table = Instrument.__table__
    ids = db.session.execute(sa.select(table.c.id).order_by(table.c.id)).scalars().all()
    db.session.rollback()
    published = sorted(rng.sample(ids, args.published))
    rest = sorted(set(ids) - set(published))
    drafts = sorted(rng.sample(rest, min(args.drafts, len(rest))))
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        renamed = qualify_names(conn, table, ids, rng)
        for batch in chunks(published, INSERT_BATCH):
            conn.execute(table.update().where(table.c.id.in_(batch)).values(sharing_status="external", run_status="normal"))
        fee_counts = insert_fee_standards(conn, published, drafts, rng)
    fee_seconds = time.perf_counter() - t0
    # the bulk inserts bypass the ORM, so fill the catalogue entries as a new day's refresh does
    # (timed: it is what the first public request of each day and process costs)
    from app.services.catalogue import entry as catalogue_entry

    refresh_planner_statistics(db.engine, db.session)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        entries = catalogue_entry.refresh(conn, date.today())
    refresh_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        unchanged = catalogue_entry.refresh(conn, date.today())
    quiet_refresh_seconds = time.perf_counter() - t0
    if entries != len(published) or unchanged:
        raise RuntimeError(f"the catalogue refresh wrote {entries} entries (expected {len(published)}), then {unchanged}")
    refresh_planner_statistics(db.engine, db.session)
    return {
        "units": 1 + len(colleges) + len(labs),
        "colleges": len(colleges),
        "labs": len(labs),
        "instruments": args.instruments,
        "published": len(published),
        "draft_only": len(drafts),
        "qualified_names": renamed,
        **fee_counts,
        "insert_seconds": {"instruments": round(instrument_seconds, 2), "names_statuses_fees": round(fee_seconds, 2)},
        "catalogue_refresh_seconds": {"filling": round(refresh_seconds, 3), "daily_nothing_changed": round(quiet_refresh_seconds, 3)},
    }


def chunks(values, size):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def qualify_names(conn, table, ids, rng):
    """Prefix QUALIFIED_SHARE of the names with a qualifier; returns how many."""
    chosen = [i for i in ids if rng.random() < QUALIFIED_SHARE]
    rows = [{"b_id": i, "b_prefix": rng.choice(NAME_QUALIFIERS)} for i in chosen]
    stmt = table.update().where(table.c.id == sa.bindparam("b_id")).values(
        name=sa.bindparam("b_prefix", type_=sa.String) + table.c.name)
    for batch in chunks(rows, INSERT_BATCH):
        conn.execute(stmt, batch)
    return len(chosen)


def fee_items(rng):
    """1-2 items, each with 2-4 prices (campus and enterprise, maybe academic and student
    start-up), tier 0 to unbounded, whole yuan between 10 and 5000."""
    items = []
    extras = list(FEE_ITEMS[1:])
    for name, unit in [FEE_ITEMS[0]] + ([extras[rng.randrange(len(extras))]] if rng.random() < 0.5 else []):
        campus = Decimal(rng.randint(10, 3333))
        prices = [("campus", campus), ("enterprise", (campus * Decimal("1.5")).quantize(Decimal("1")))]
        prices += [(cat, (campus * f).quantize(Decimal("1"))) for cat, f in OPTIONAL_CATEGORIES if rng.random() < 0.5]
        items.append(({"name": name, "billing_unit": unit, "cost_basis": (campus * Decimal("0.9")).quantize(Decimal("0.01"))}, [
            {"customer_category": cat, "tier_min": Decimal("0"), "tier_max": None, "unit_price": price,
             "difference_reason": None if cat == "campus" or price == campus else "按成本补偿原则上浮"}
            for cat, price in prices
        ]))
    return items


def insert_fee_standards(conn, published, drafts, rng):
    """Core bulk inserts as app/seed/fees.py does them: standards, read back their ids, items,
    read back their ids, prices."""
    from app.models import FeeItem, FeePrice, FeeStandard

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    plan = {}  # instrument id -> (standard row, items)
    for instrument_id, state in [(i, "published") for i in published] + [(i, "draft") for i in drafts]:
        plan[instrument_id] = ({
            "instrument_id": instrument_id, "version": 1, "state": state,
            "effective_from": PUBLISHED_FROM if state == "published" else None, "effective_to": None,
            "pricing_method": "成本补偿", "justification": None, "approved_by_id": None,
            "approved_at": now if state == "published" else None, "created_at": now,
        }, fee_items(rng))
    for batch in chunks([s for s, _items in plan.values()], INSERT_BATCH):
        conn.execute(FeeStandard.__table__.insert(), batch)
    standard_of = dict(conn.execute(sa.select(FeeStandard.instrument_id, FeeStandard.id).where(FeeStandard.version == 1)).all())
    items = [dict(item, standard_id=standard_of[iid]) for iid, (_s, its) in plan.items() for item, _prices in its]
    for batch in chunks(items, INSERT_BATCH):
        conn.execute(FeeItem.__table__.insert(), batch)
    item_of = {(sid, name): id_ for sid, name, id_ in conn.execute(sa.select(FeeItem.standard_id, FeeItem.name, FeeItem.id)).all()}
    prices = [
        dict(price, item_id=item_of[(standard_of[iid], item["name"])])
        for iid, (_s, its) in plan.items() for item, item_prices in its for price in item_prices
    ]
    for batch in chunks(prices, INSERT_BATCH):
        conn.execute(FeePrice.__table__.insert(), batch)
    return {"fee_standards": len(plan), "fee_items": len(items), "fee_prices": len(prices)}


# ------------------------------------------------------------------------------------------
# what each page must show, computed without the catalogue module
# ------------------------------------------------------------------------------------------
def expected_pages(args, cases, today):
    """{key: (total, [instrument ids on the page in order])} for the public pages, and the
    total for the bare pages, from the raw tables and Python sorting (code-point order, which
    is SQLite's and PostgreSQL's "C" collation)."""
    from app.extensions import db
    from app.models import FeeItem, FeePrice, FeeStandard, Instrument

    s = FeeStandard
    published = db.session.execute(
        sa.select(Instrument.id, Instrument.name)
        .join(s, s.instrument_id == Instrument.id)
        .where(s.state == "published", s.effective_from <= today, sa.or_(s.effective_to.is_(None), s.effective_to >= today),
               Instrument.sharing_status != "unsuitable", Instrument.run_status != "scrapped")
    ).all()
    prices = {}
    for iid, price in db.session.execute(
        sa.select(s.instrument_id, FeePrice.unit_price).join(FeeItem, FeeItem.standard_id == s.id)
        .join(FeePrice, FeePrice.item_id == FeeItem.id).where(s.state == "published")
    ):
        prices.setdefault(iid, []).append(price)
    bare_total = db.session.execute(sa.select(sa.func.count()).select_from(Instrument)).scalar()
    db.session.rollback()
    lo, hi = Decimal(args.price_min), Decimal(args.price_max)
    published = [(name, iid) for iid, name in published if iid in prices]
    selections = {
        "fees": (published, 1),
        "fees_name": ([r for r in published if args.name_fragment in r[0]], 1),
        "fees_price": ([r for r in published if any(lo <= p <= hi for p in prices[r[1]])], 1),
        "fees_deep": (published, args.deep_page),
    }
    expected = {}
    for key, (rows, page) in selections.items():
        ordered = [iid for _name, iid in sorted(rows)]
        expected[key] = (len(ordered), ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
    for key in ("bare", "bare_deep"):
        expected[key] = (bare_total, None)
    return expected


def check_page(key, body, expected):
    total, ids = expected
    if ids is None:  # the bare list: FAB prints the record count; rows have no ids to compare
        rows = len(re.findall(r'<tr[^>]*>\s*<td', body))
        return "ok" if str(total) in body and rows >= PAGE_SIZE else f"MISMATCH: {rows} rows, record count {total} not shown"
    shown = [int(x) for x in re.findall(r'href="/public/instruments/(\d+)"', body)]
    m = re.search(r"共找到 (\d+) 台|(\d+) instruments found", body)
    shown_total = int(next(g for g in m.groups() if g)) if m else None
    if shown == ids and shown_total == total:
        return "ok"
    return (f"MISMATCH: total {shown_total} (expected {total}), {len(shown)} rows "
            f"({len(set(shown) - set(ids))} unexpected, order {'same' if shown == ids else 'differs'})")


# ------------------------------------------------------------------------------------------
# the timed rounds
# ------------------------------------------------------------------------------------------
def run_pages(app, counter, cases, expected, args):
    client = app.test_client()  # never logs in: every request is an anonymous visitor's
    results = {key: {"key": key, "label": label, "url": url, "baseline": base, "times_ms": [], "cpu_ms": [],
                     "sql_ms": [], "statements": [], "sample_sql": None, "check": None}
               for key, label, url, base in cases}

    def hit(key, measure):
        case = results[key]
        counter.start()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        resp = client.get(case["url"])
        body = resp.get_data()
        elapsed = time.perf_counter() - t0
        cpu = time.thread_time() - c0
        statements = counter.stop()
        if resp.status_code != 200:
            raise RuntimeError(f"anonymous GET {case['url']}: HTTP {resp.status_code} {resp.headers.get('Location', '')}")
        if case["check"] is None:
            case["check"] = check_page(key, body.decode("utf-8", "replace"), expected[key])
        if measure:
            case["times_ms"].append(elapsed * 1000)
            case["cpu_ms"].append(cpu * 1000)
            case["statements"].append(len(statements))
            case["sql_ms"].append(sum(sec for _s, sec in statements) * 1000)
            if case["sample_sql"] is None:
                case["sample_sql"] = group_statements(statements)

    order = [key for key, *_rest in cases]
    for _ in range(args.warmup):
        for key in order:
            hit(key, measure=False)
    for r in range(args.rounds):
        # interleaved, and the order reversed every other round, so drift and cache effects
        # hit every page alike
        for key in (order if r % 2 == 0 else order[::-1]):
            hit(key, measure=True)
    return results


def summarise(results):
    rows = []
    for key, case in results.items():
        t = case["times_ms"]
        row = {
            "page": key, "label": case["label"], "url": case["url"], "baseline": case["baseline"],
            "p50_ms": round(statistics.median(t), 2), "p95_ms": round(percentile(t, 0.95), 2),
            "cpu_p50_ms": round(statistics.median(case["cpu_ms"]), 2),
            "sql_p50_ms": round(statistics.median(case["sql_ms"]), 2),
            "statements": sorted(set(case["statements"])), "page_check": case["check"],
        }
        base = results.get(case["baseline"]) if case["baseline"] else None
        if base:
            row["ratio_p50"] = round(statistics.median(t) / statistics.median(base["times_ms"]), 3)
            # pages of one round run close together: the median of the per-round ratios is less
            # sensitive to load from other processes than the ratio of medians
            row["ratio_paired_median"] = round(statistics.median(x / y for x, y in zip(t, base["times_ms"])), 3)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------
# query plans of the catalogue's SELECTs
# ------------------------------------------------------------------------------------------
def catalogue_statements(app, url):
    """(main SELECT, its parameters, count SELECT, its parameters) of one anonymous request."""
    from app.extensions import db

    counter = StatementCounter(db.engine, keep_parameters=True)
    try:
        counter.start()
        app.test_client().get(url)
        statements = counter.stop()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter._before)
        sa.event.remove(db.engine, "after_cursor_execute", counter._after)
    main = count = None
    for (sql, _sec), params in zip(statements, counter.parameters):
        if "public_standard_id" not in sql:  # the catalogue's two SELECTs read the catalogue entries
            continue
        if re.match(r"\s*SELECT\s+count\(", sql, re.I):
            count = (sql, params)
        else:
            main = (sql, params)
    if main is None or count is None:
        raise RuntimeError(f"{url}: did not see the catalogue's SELECTs")
    return main, count


def pg_plan(conn, sql, params):
    text = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params))
    (doc,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params).scalar()
    return text, doc


def pg_scans(plan_doc):
    """Every scan node: (node type, table, index or None, condition text)."""
    scans = []

    def walk(node, heap_relation=None):
        kind = node["Node Type"]
        relation = node.get("Relation Name") or heap_relation
        if kind.endswith("Scan") and kind not in ("Subquery Scan", "CTE Scan", "Function Scan", "Values Scan"):
            cond = " ".join(node.get(k, "") for k in ("Index Cond", "Recheck Cond", "Filter")).strip()
            scans.append({"node": kind, "table": relation, "index": node.get("Index Name"), "cond": cond,
                          "rows": node.get("Actual Rows"), "loops": node.get("Actual Loops")})
        for child in node.get("Plans", []):
            walk(child, relation if kind == "Bitmap Heap Scan" else None)

    walk(plan_doc["Plan"])
    return scans


def index_verdict(scans, table, column):
    """Whether `column` of `table` is searched through an index, in one line."""
    used = [s for s in scans if s["index"] and s["table"] == table and column in s["cond"]
            and s["node"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")]
    if used:
        return True, "; ".join(f"{s['node']} on {s['index']} ({s['cond'][:100]})" for s in used)
    seq = [s for s in scans if s["table"] == table]
    how = ", ".join(f"{s['node']}{' on ' + s['index'] if s['index'] else ''}" for s in seq) or "not scanned"
    return False, f"no index on {table}.{column} used ({table}: {how})"


def sqlite_plan(conn, sql, params):
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    depth = {0: -1}
    lines = []
    for id_, parent, _unused, detail in rows:
        depth[id_] = depth.get(parent, -1) + 1
        lines.append("  " * depth[id_] + detail)
    return "\n".join(lines)


def sqlite_verdict(plan, table, column):
    lines = [line.strip() for line in plan.splitlines() if re.match(rf"(SCAN|SEARCH) {table}\b", line.strip())]
    used = [line for line in lines if re.search(rf"INDEX \w+ \([^)]*\b{column}\b", line)]
    if used:
        return True, "; ".join(used)
    return False, f"no index on {table}.{column} used ({'; '.join(lines) or table + ' not scanned'})"


def query_plans(app, cases):
    """Plans of the catalogue's main SELECT (and count) for each public page, as the app sends them."""
    from app.extensions import db

    targets = {"fees_name": ("instrument", "name"), "fees_price": ("fee_price", "unit_price")}
    plans = {}
    with app.app_context():
        dialect = db.engine.dialect.name
        for key, label, url, _base in cases:
            if not key.startswith("fees"):
                continue
            main, count = catalogue_statements(app, url)
            entry = {"label": label, "url": url, "sql": main[0], "parameters": main[1]}
            with db.engine.connect() as conn:
                if dialect == "postgresql":
                    entry["plan"], doc = pg_plan(conn, *main)
                    entry["execution_ms"] = doc.get("Execution Time")
                    entry["scans"] = pg_scans(doc)
                    count_text, count_doc = pg_plan(conn, *count)
                    entry["count_plan"] = count_text
                    entry["count_execution_ms"] = count_doc.get("Execution Time")
                    entry["count_scans"] = pg_scans(count_doc)
                    if key in targets:
                        entry["index_used"], entry["verdict"] = index_verdict(entry["scans"], *targets[key])
                        entry["count_index_used"], entry["count_verdict"] = index_verdict(entry["count_scans"], *targets[key])
                elif dialect == "sqlite":
                    entry["plan"] = sqlite_plan(conn, *main)
                    entry["count_plan"] = sqlite_plan(conn, *count)
                    if key in targets:
                        entry["index_used"], entry["verdict"] = sqlite_verdict(entry["plan"], *targets[key])
                conn.rollback()
            plans[key] = entry
    return plans


# ------------------------------------------------------------------------------------------
# goals and the printed report
# ------------------------------------------------------------------------------------------
def evaluate(rows, plans, dialect):
    by = {r["page"]: r for r in rows}
    public = [r for r in rows if r["page"].startswith("fees")]
    goals = {
        "ratio": {"goal": f"/public/fees p50 / bare FAB list p50 <= {RATIO_GOAL}",
                  "met": by["fees"]["ratio_p50"] <= RATIO_GOAL, "value": by["fees"]["ratio_p50"],
                  "others_for_information": {r["page"]: r["ratio_p50"] for r in public if r["page"] != "fees"}},
        "statements": {"goal": f"at most {MAX_STATEMENTS} SQL statements per anonymous page",
                       "met": all(max(r["statements"]) <= MAX_STATEMENTS for r in rows),
                       "per_page": {r["page"]: r["statements"] for r in rows}},
        "pages_show_expected_rows": all(r["page_check"] == "ok" for r in rows),
    }
    if dialect == "postgresql":
        goals["index"] = {"goal": "name and price-range searches served by an index (PostgreSQL plan)",
                          "met": all(plans[k].get("index_used") for k in ("fees_name", "fees_price")),
                          "per_search": {k: plans[k]["verdict"] for k in ("fees_name", "fees_price")}}
    else:
        goals["index"] = {"goal": "judged on PostgreSQL only", "met": None,
                          "per_search": {k: plans[k].get("verdict") for k in ("fees_name", "fees_price")}}
    return goals


def pad(text, width):
    """Left-justify in a terminal, where a CJK character takes two columns."""
    text = text[:width - 1]
    cols = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return text + " " * max(1, width - cols)


def goal_line(met, text):
    return f"{'GOAL MET   ' if met else 'GOAL MISSED'}  {text}"


def print_report(meta, rows, goals, results, plans, show_sql):
    print()
    print(f"Public pages (anonymous) — {meta['dialect']}, {meta['data']['instruments']} instruments, "
          f"{meta['data']['published']} published, {meta['rounds']} rounds (+{meta['warmup']} warm-up), times in ms")
    header = f"{'page':<48}{'p50':>8}{'p95':>8}{'ratio':>7}{'paired':>8}{'SQL n':>7}{'SQL ms':>8}{'cpu':>7}  page"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['ratio_p50']:>7.2f}{r['ratio_paired_median']:>8.2f}" if "ratio_p50" in r else f"{'':>15}"
        print(f"{pad(r['label'], 48)}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{ratio}"
              f"{'/'.join(map(str, r['statements'])):>7}{r['sql_p50_ms']:>8.1f}{r['cpu_p50_ms']:>7.1f}  "
              f"{'ok' if r['page_check'] == 'ok' else 'CHECK'}")
    for r in rows:
        if r["page_check"] != "ok":
            print(f"  page check {r['label']}: {r['page_check']}")
    print("  ratio = page p50 / bare list p50 at the same depth (search pages against page 1)")

    for key in ("fees_name", "fees_price"):
        p = plans[key]
        print()
        print(f"--- query plan of the catalogue's SELECT for {p['label']}")
        print("\n".join("  " + line for line in p["plan"].splitlines()))
    print()
    print("Plan summary (main SELECT / count SELECT):")
    for key, p in plans.items():
        if "scans" in p:
            def access(scans):
                return ", ".join(sorted({f"{s['table']}: {s['node']}{' ' + s['index'] if s['index'] else ''}" for s in scans}))
            print(f"  {pad(p['label'], 48)}{p['execution_ms']:>7.1f} ms  {access(p['scans'])}")
            print(f"  {pad('  (its count)', 48)}{p['count_execution_ms']:>7.1f} ms  {access(p['count_scans'])}")
        if "verdict" in p:
            print(f"  => {key}: {p['verdict']}")
        if "count_verdict" in p:
            print(f"  => {key} (count): {p['count_verdict']}")

    print()
    g = goals["ratio"]
    print(goal_line(g["met"], f"{g['goal']}: {g['value']:.2f}  (for information: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in g["others_for_information"].items()) + ")"))
    g = goals["statements"]
    print(goal_line(g["met"], f"{g['goal']}: " + ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in g["per_page"].items())))
    g = goals["index"]
    if g["met"] is None:
        print(f"INFO         index goal {g['goal']}; this run's plans: "
              + "; ".join(f"{k}: {v}" for k, v in g["per_search"].items()))
    else:
        print(goal_line(g["met"], f"{g['goal']}: " + "; ".join(f"{k}: {v}" for k, v in g["per_search"].items())))
    if not goals["pages_show_expected_rows"]:
        print("WARNING: some pages did not show the expected instruments (see 'page' column)")
    if show_sql:
        for _key, case in results.items():
            print()
            print(f"--- SQL of one request: {case['label']} ({sum(s['count'] for s in case['sample_sql'])} statements)")
            for s in case["sample_sql"]:
                sql = s["sql"] if len(s["sql"]) <= 400 else s["sql"][:400] + " …"
                print(f"  {s['count']:>3} x {s['ms']:>7.2f} ms  {sql}")


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    if args.rounds < 1 or args.instruments < 1 or not 0 < args.published <= args.instruments or args.deep_page < 1:
        raise SystemExit("--rounds, --instruments, --published and --deep-page must be at least 1, "
                         "--published at most --instruments")
    sys.path.insert(0, str(ROOT))
    url, tmpdir = resolve_url(args)
    started = time.perf_counter()
    try:
        create_empty_database(url)

        import flask_appbuilder

        from app import create_app
        from app.extensions import db
        from app.services.catalogue import public as public_catalogue

        if public_catalogue.PAGE_SIZE != PAGE_SIZE:
            raise RuntimeError(f"the public page size is now {public_catalogue.PAGE_SIZE}; update PAGE_SIZE here")
        app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url)
        cases = page_cases(args)
        today = date.today()
        with app.app_context():
            # registered before migrate(), whose add_permissions(update_perms=True) writes its permissions
            app.appbuilder.add_view_no_menu(make_bare_public_view())
            print(f"database: {redact(url)}")
            migrate(app)
            data = build_catalogue(app, args)
            data["bare_view_permissions"] = {grant_public_list(app.appbuilder.sm): ["can_list"]}
            db.session.commit()
            dialect = db.engine.dialect.name
            counter = StatementCounter(db.engine)
            expected = expected_pages(args, cases, today)
            indexes = {t: sorted(ix["name"] for ix in sa.inspect(db.engine).get_indexes(t) if ix["name"])
                       for t in ("instrument", "fee_standard", "fee_item", "fee_price")}
        print(f"built {data['units']} units, {data['instruments']} instruments, {data['published']} published "
              f"({data['fee_standards']} standards, {data['fee_items']} items, {data['fee_prices']} prices; "
              f"inserts {data['insert_seconds']['instruments']} + {data['insert_seconds']['names_statuses_fees']} s; "
              f"catalogue refresh {data['catalogue_refresh_seconds']['filling']} s filling, "
              f"{data['catalogue_refresh_seconds']['daily_nothing_changed']} s with nothing to change); measuring…")

        t0 = time.perf_counter()
        results = run_pages(app, counter, cases, expected, args)
        measure_seconds = time.perf_counter() - t0
        plans = query_plans(app, cases)

        rows = summarise(results)
        goals = evaluate(rows, plans, dialect)
        meta = {
            "benchmark": "public_pages",
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "dialect": dialect,
            "database_url": redact(url),
            "python": platform.python_version(),
            "flask_appbuilder": flask_appbuilder.__version__,
            "sqlalchemy": sa.__version__,
            "machine": f"{platform.machine()} / {os.cpu_count()} CPU",
            "rounds": args.rounds,
            "warmup": args.warmup,
            "today": today.isoformat(),
            "baseline": "anonymous FAB ModelView over Instrument: list/search/order columns name, model, "
                        f"location; page size {PAGE_SIZE}; base_order name asc; Public role has can_list only",
            "searches": {"name_fragment": args.name_fragment, "price_min": args.price_min, "price_max": args.price_max,
                         "deep_page": args.deep_page},
            "data": data,
            "indexes": indexes,
            "measure_seconds": round(measure_seconds, 1),
        }
        print_report(meta, rows, goals, results, plans, args.show_sql)
        payload = {
            **meta,
            "results": rows,
            "goals": goals,
            "query_plans": plans,
            "sql_per_page": {key: case["sample_sql"] for key, case in results.items()},
            "raw_times_ms": {key: [round(t, 3) for t in case["times_ms"]] for key, case in results.items()},
        }
        out, per_dialect = write_results(args.out, json.loads(json.dumps(payload, default=str)), dialect)
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
