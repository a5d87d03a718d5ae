"""Ledger benchmark (issue 23): a 50,000-row, 30-column asset ledger against 20,000 instruments.

    python -m bench.ledger [--rows 50000] [--instruments 20000] [--rounds 3]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python -m bench.ledger

1. The dry run (`ledger_import.plan`: read, check, compare with the stored ledger, reconcile with the platform) as
   a ratio to pandas with calamine only reading the same file (goal ≤ 2×), on an empty ledger and again once
   the same file is committed (every row unchanged).
2. The commit of the first import (50,000 entries and their change log), timed, and the peak resident memory of
   a fresh process that dry-runs and commits it (goal ≤ 1 GB).
3. The reconciliation workspace of the school (every tab) and the school's deadline list (the API), and the lab's
   to-do list (its workspace, its home page's counts, its self-check page) send the same number of SQL statements
   with 2,000 and with 20,000 instruments (goal: equal).
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import xlsxwriter  # noqa: E402

from bench.data import (ASSET_PREFIX, build_unit_tree, create_accounts, create_empty_database, insert_instruments,  # noqa: E402
                        migrate, redact, refresh_planner_statistics, resolve_url)
from bench.measure import StatementCounter, login  # noqa: E402
from bench.report import RESULTS_DIR, git_commit  # noqa: E402
from bench.reports import _high_water_mb  # noqa: E402

RATIO_GOAL, MEMORY_GOAL_MB = 2.0, 1024
HEADER = ["卡片编号", "资产名称", "规格型号", "单价(元)", "经费来源", "取得日期", "入账日期", "使用部门", "存放地点", "使用人",
          "生产厂家", "国别", "国标分类", "使用状况"] + [f"自定义项{n:02d}" for n in range(1, 17)]  # 30 columns
PAGES = ["/reconciliation/?tab=" + tab for tab in ("candidates", "encouraged", "missing", "mismatches", "deadlines", "changes",
                                                  "verify", "corrections", "quality", "checks")]
DEADLINES = "/api/v1/compliance/deadlines/?page_size=1000"
LAB_PAGES = ["/", "/reconciliation/?tab=checks", "/reconciliation/?tab=quality", "/selfcheck/"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=50000)
    p.add_argument("--instruments", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--database-url", default=None)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", default=str(RESULTS_DIR / "ledger.json"))
    return p.parse_args(argv)


def _app(url):
    from app import create_app

    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, AUTH_RATE_LIMIT="100000 per minute")


def ledger_file(rows, instruments, lab_names, rng) -> bytes:
    """The asset system's export: title rows, 30 columns; the platform's instruments (a few with another value)
    and, for the rest of the rows, assets the platform has not (a tenth of them ≥ 300,000 and fiscal)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("资产明细")
    sheet.write(0, 0, "基准测试大学固定资产明细账")
    sheet.write_row(2, 0, HEADER)
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for n in range(rows):
        if n < instruments:
            number, value = f"{ASSET_PREFIX}{n + 1:06d}", Decimal(rng.randrange(50_000_00, 20_000_000_00)) / 100
        else:
            number = f"LEDGER-{n:07d}"
            value = Decimal(rng.randrange(300_000, 2_000_000)) if rng.random() < 0.1 else Decimal(rng.randrange(2_000, 299_999))
        bought = date(2010, 1, 1) + timedelta(days=rng.randrange(5000))
        row = [number, "扫描电子显微镜", f"M-{rng.randrange(1000)}", float(value), rng.choice(("财政拨款", "部分财政", "自筹经费")),
               bought, bought + timedelta(days=30), rng.choice(lab_names), f"实验楼{rng.randrange(1, 9)}0{rng.randrange(1, 10)}室",
               "张老师", "某仪器公司", "中国", "03220100", "在用"] + [f"备注{n % 97}"] * 16
        for column, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(n + 3, column, value, day)
            else:
                sheet.write(n + 3, column, value)
    book.close()
    return buffer.getvalue()


def prepare(app, args):
    from app.extensions import db

    rng = random.Random(args.seed)
    school, colleges, labs = build_unit_tree(db.session, 4, 5)
    bound = {"school": school, "college": colleges[0], "lab": labs[0]}
    create_accounts(app.appbuilder.sm, db.session, bound)
    lab_ids = [lab.id for lab in labs]
    return rng, lab_ids, [lab.name for lab in labs]


def _read_only(data):
    return pd.read_excel(io.BytesIO(data), sheet_name=0, header=None, engine="calamine", dtype=object)


def _dry_run(data):
    from app.extensions import db
    from app.services.upkeep import ledger_import

    plan = ledger_import.plan(db.session, data, "基准台账.xlsx")
    db.session.rollback()
    return plan


def _ratio(data, rounds):
    reads, runs = [], []
    plan = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        _read_only(data)
        reads.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plan = _dry_run(data)
        runs.append(time.perf_counter() - t0)
    return {"read_s": [round(s, 2) for s in reads], "dry_run_s": [round(s, 2) for s in runs],
            "ratio": round(min(runs) / min(reads), 2), "summary": {k: v for k, v in plan.summary().items() if k != "refused"}}


def _commit_in_a_fresh_process(url, path, queue):
    from app import clock
    from app.extensions import db
    from app.services.upkeep import ledger_import

    with open(path, "rb") as handle:
        data = handle.read()
    app = _app(url)
    with app.app_context():
        t0 = time.perf_counter()
        plan = ledger_import.plan(db.session, data, "基准台账.xlsx")
        dry = time.perf_counter() - t0
        t0 = time.perf_counter()
        ledger_import.commit(db.session, plan, None, clock.now())
        db.session.commit()
        committed = time.perf_counter() - t0
    import resource

    queue.put({"dry_run_s": round(dry, 2), "commit_s": round(committed, 2), "peak_rss_mb": round(_high_water_mb(resource), 1)})


def _statements(app, engine):
    counter = StatementCounter(engine)
    counts = {}
    for username, urls in (("bench_school", [*PAGES, DEADLINES]), ("bench_lab", LAB_PAGES)):
        client = login(app, username)
        for url in urls:
            client.get(url)  # warm: the scope and the menu's first reads
            counter.start()
            status = client.get(url).status_code
            counts[f"{username} {url}"] = (len(counter.stop()), status)
    return counts


def main(argv=None):
    args = parse_args(argv)
    url, _tmp = resolve_url(args)
    create_empty_database(url)
    app = _app(url)
    with app.app_context():
        from app.extensions import db

        migrate(app)
        rng, lab_ids, lab_names = prepare(app, args)
        insert_instruments(db, lab_ids, args.instruments, rng)
        refresh_planner_statistics(db.engine, db.session)
        engine = db.engine
        data = ledger_file(args.rows, args.instruments, lab_names, rng)
        first = _ratio(data, args.rounds)
    path = RESULTS_DIR / "bench-ledger.xlsx"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_commit_in_a_fresh_process, args=(url, str(path), queue))
    process.start()
    fresh = queue.get(timeout=3600)
    process.join()
    path.unlink()
    with app.app_context():
        again = _ratio(data, args.rounds)
    large = _statements(app, engine)
    few = max(args.instruments // 10, 1)
    with app.app_context():  # a tenth of the instruments (the ledger stays as imported)
        db.session.execute(sa.text(f"DELETE FROM instrument WHERE id > {few}"))
        db.session.commit()
        refresh_planner_statistics(db.engine, db.session)
    small = _statements(app, engine)
    equal = all(small[u][0] == large[u][0] and small[u][1] == large[u][1] == 200 for u in small)
    print(f"database: {redact(url)}; a {args.rows}-row, {len(HEADER)}-column ledger ({len(data)} bytes), "
          f"{args.instruments} instruments")
    for label, result in (("empty ledger", first), ("same file again", again)):
        print(f"1. dry run, {label}: {min(result['dry_run_s'])} s against calamine reading {min(result['read_s'])} s = "
              f"{result['ratio']}× (goal ≤ {RATIO_GOAL}×) — GOAL {'MET' if result['ratio'] <= RATIO_GOAL else 'MISSED'}; "
              f"{result['summary']}")
    print(f"2. fresh process: dry run {fresh['dry_run_s']} s, commit {fresh['commit_s']} s, peak RSS {fresh['peak_rss_mb']} MB "
          f"(goal ≤ {MEMORY_GOAL_MB}) — GOAL {'MET' if fresh['peak_rss_mb'] <= MEMORY_GOAL_MB else 'MISSED'}")
    for page_url in small:
        print(f"3. {page_url}: {few} instruments → {small[page_url][0]} statements, {args.instruments} → {large[page_url][0]}")
    print(f"3. constant statements — GOAL {'MET' if equal else 'MISSED'}")
    payload = {"commit": git_commit(), "database": redact(url), "rows": args.rows, "instruments": args.instruments,
               "dry_run_empty": first, "dry_run_again": again, "fresh": fresh,
               "statements": {u: {"few": small[u], "many": large[u]} for u in small}}
    with open(args.out, "w") as out:
        json.dump(payload, out, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
