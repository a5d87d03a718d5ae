"""Reports benchmark (issue 5): a report against writing its final DataFrames straight with pandas.

    python -m bench.reports [--instruments 20000] [--usage 1000000] [--rounds 3]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python -m bench.reports

Builds 20,000 instruments and 1,000,000 usage records (half of them charged, a tenth of the
bookings evaluated) for one year, then per round times
- the report: `registry.render` (the SQL aggregation, the DataFrames, the one Excel writer);
- the baseline: `DataFrame.to_excel` (xlsxwriter) of the very DataFrames the report built;
and prints the ratio (goal ≤ 1.5) and the peak RSS of a process that renders the report once
(goal ≤ 1 GB), for `annual` and `subsidy`. For the subsidy, a tenth of the instruments belong to
provincial laboratories (their own pools), 80 % have the year's cost basis, and the school has a
recorded grade.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.data import build_unit_tree, create_empty_database, insert_instruments, migrate, redact, refresh_planner_statistics, resolve_url  # noqa: E402
from bench.report import RESULTS_DIR, git_commit  # noqa: E402

YEAR = 2025
RATIO_GOAL, MEMORY_GOAL_MB = 1.5, 1024
CHUNK = 20000


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    p.add_argument("--instruments", type=int, default=20000)
    p.add_argument("--usage", type=int, default=1000000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reports", default="annual,subsidy", help="comma-separated report names (default annual,subsidy)")
    p.add_argument("--database-url", default=None)
    p.add_argument("--out", default=str(RESULTS_DIR / "reports.json"))
    return p.parse_args(argv)


def _app(url):
    from app import create_app

    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=url)


def _bulk(conn, table, columns, arrays):
    """Insert column arrays in chunks (Core executemany)."""
    n = len(arrays[0])
    for start in range(0, n, CHUNK):
        rows = [dict(zip(columns, values)) for values in zip(*(a[start:start + CHUNK] for a in arrays))]
        conn.execute(table.insert(), rows)


def prepare(url, args):
    from app.extensions import db
    from app.models import (Assessment, Booking, Charge, CustomerOrg, Evaluation, InnovationPlatform, Instrument,
                            InstrumentYearCost, ServiceUser, UsageRecord)

    create_empty_database(url)
    app = _app(url)
    with app.app_context():
        migrate(app)
        rng, gen = random.Random(1), np.random.default_rng(1)
        _school, _colleges, labs = build_unit_tree(db.session, 7, 5)
        insert_instruments(db, [lab.id for lab in labs], args.instruments, rng)
        categories = ["campus"] * 5 + ["enterprise"] * 3 + ["academic", "student_startup"]
        orgs = [CustomerOrg(name=f"基准客户{i}", category=categories[i % len(categories)], affiliated=i % 7 == 0)
                for i in range(40)]
        db.session.add_all(orgs)
        db.session.flush()
        users = [ServiceUser(name=f"基准用户{i}", org_id=orgs[i % len(orgs)].id) for i in range(400)]
        db.session.add_all(users)
        db.session.commit()
        instrument_ids = np.array(db.session.execute(sa.select(Instrument.id)).scalars().all())
        user_ids = np.array([u.id for u in users])
        n = args.usage
        started = time.perf_counter()
        # the microseconds keep each start unique (one machine-time record per instrument and start)
        starts = [datetime(YEAR, 1, 1) + timedelta(minutes=int(m), microseconds=i)
                  for i, m in enumerate(gen.integers(0, 365 * 24 * 60, n))]
        hours = np.round(gen.choice([0.5, 1, 1.5, 2, 3, 4, 6], n), 2)
        with db.engine.begin() as conn:
            _bulk(conn, UsageRecord.__table__,
                  ("instrument_id", "user_id", "started_at", "ended_at", "hours", "samples", "source", "service_type", "direction"),
                  (gen.choice(instrument_ids, n).tolist(), gen.choice(user_ids, n).tolist(), starts,
                   [s + timedelta(hours=float(h)) for s, h in zip(starts, hours)], hours.tolist(),
                   gen.integers(0, 20, n).tolist(), gen.choice(["manual", "manual", "manual", "iot"], n).tolist(),
                   gen.choice(["internal", "internal", "external"], n).tolist(), ["research"] * n))
            first, last = conn.execute(sa.select(sa.func.min(UsageRecord.id), sa.func.max(UsageRecord.id))).one()
            usage_ids = np.arange(first, last + 1)
            charged = usage_ids[::2]
            days = gen.integers(0, 365, len(charged))
            _bulk(conn, Charge.__table__, ("usage_id", "total", "state", "invoice_number", "invoice_date"),
                  (charged.tolist(), np.round(gen.uniform(50, 5000, len(charged)), 2).tolist(),
                   ["settled"] * len(charged), [f"BENCH-INV-{i}" for i in range(len(charged))],
                   [date(YEAR, 1, 1) + timedelta(days=int(d)) for d in days]))
            evaluated = n // 10
            b_inst, b_user = gen.choice(instrument_ids, evaluated).tolist(), gen.choice(user_ids, evaluated).tolist()
            _bulk(conn, Booking.__table__, ("instrument_id", "user_id", "mode", "state"),
                  (b_inst, b_user, ["sample"] * evaluated, ["completed"] * evaluated))
            b_first = conn.execute(sa.select(sa.func.min(Booking.id))).scalar()
            _bulk(conn, Evaluation.__table__, ("booking_id", "score", "created_at"),
                  (list(range(b_first, b_first + evaluated)), gen.integers(1, 6, evaluated).tolist(),
                   [datetime(YEAR, 6, 1)] * evaluated))
            # the subsidy's inputs: provincial-lab pools, the cost basis, the school's grade
            platforms = []
            for i, lab in enumerate(labs[::10]):
                platforms.append(conn.execute(InnovationPlatform.__table__.insert().values(
                    name=f"基准省实验室{i}", kind="provincial_lab", level="provincial", unit_id=lab.id, networked=True)
                ).inserted_primary_key[0])
            for i, platform_id in enumerate(platforms):
                conn.execute(sa.update(Instrument).where(Instrument.id % 10 == 0, Instrument.id % (10 * len(platforms)) == 10 * i)
                             .values(platform_id=platform_id))
            costed = instrument_ids[gen.random(len(instrument_ids)) < 0.8]
            _bulk(conn, InstrumentYearCost.__table__, ("instrument_id", "year", "materials_cost", "utilities_total"),
                  (costed.tolist(), [YEAR] * len(costed), np.round(gen.uniform(100, 5000, len(costed)), 2).tolist(),
                   np.round(gen.uniform(1000, 30000, len(costed)), 2).tolist()))
            conn.execute(Assessment.__table__.insert().values(unit_id=_school.id, year=YEAR, grade="good"))
        refresh_planner_statistics(db.engine, db.session)
        db.engine.dispose()
    return time.perf_counter() - started


def _context(app):
    from app.extensions import db
    from app.reports.registry import ReportContext, school_root

    school = school_root(db.session)
    return ReportContext(db.session, YEAR, school, None, date(YEAR + 1, 3, 1))


def _peak_rss(url, name, queue):
    """In a fresh process: render once, report the peak resident memory in MB."""
    import resource

    from app.reports import registry

    app = _app(url)
    with app.app_context():
        registry.render(registry.get(name), _context(app))
    queue.put(_high_water_mb(resource))


def _high_water_mb(resource):
    """This process's peak resident memory. Linux keeps ru_maxrss across fork + exec, so a spawned
    child would report its parent's peak (the data generation); VmHWM belongs to the new image."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url, name, rounds):
    from app.reports import registry

    app = _app(url)
    report_s, baseline_s = [], []
    with app.app_context():
        rep = registry.get(name)
        for _ in range(rounds):
            t0 = time.perf_counter()
            sheets = registry.build(rep, _context(app))
            from app.reports.excel import write_workbook

            content = write_workbook(sheets)
            report_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            buffer = io.BytesIO()
            with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
                for sheet in sheets:
                    sheet.frame.to_excel(writer, sheet_name=sheet.name[:31], index=False)
            baseline_s.append(time.perf_counter() - t0)
        rows = sum(len(s.frame) for s in sheets)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_rss, args=(url, name, queue))
    process.start()
    peak = queue.get(timeout=3600)
    process.join()
    return {"report_s": report_s, "baseline_s": baseline_s, "rows": rows, "bytes": len(content), "peak_rss_mb": peak}


def main(argv=None):
    args = parse_args(argv)
    url, _tmp = resolve_url(args)
    print(f"database {redact(url)}: {args.instruments:,} instruments, {args.usage:,} usage records of {YEAR}")
    print(f"generated in {prepare(url, args):.0f} s")
    results = {}
    for name in args.reports.split(","):
        r = measure(url, name, args.rounds)
        report, baseline = float(np.median(r["report_s"])), float(np.median(r["baseline_s"]))
        ratio = report / baseline
        r.update(ratio=ratio)
        results[name] = r
        print(f"{name}: report {report:.2f} s, pandas straight {baseline:.2f} s, ratio {ratio:.2f} "
              f"({r['rows']:,} rows); peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"{'GOAL MET   ' if ratio <= RATIO_GOAL else 'GOAL MISSED'}  {name} / pandas <= {RATIO_GOAL}: {ratio:.2f}")
        print(f"{'GOAL MET   ' if r['peak_rss_mb'] <= MEMORY_GOAL_MB else 'GOAL MISSED'}  {name} peak RSS <= 1 GB: "
              f"{r['peak_rss_mb']:.0f} MB")
    dialect = sa.engine.make_url(url).get_backend_name()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    Path(args.out).with_suffix(f".{dialect}.json").write_text(json.dumps(
        {"commit": git_commit(), "dialect": dialect, "instruments": args.instruments, "usage": args.usage, **results}, indent=1))


if __name__ == "__main__":
    main()
