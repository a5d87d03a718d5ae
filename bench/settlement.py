"""Settlement benchmark (issue 14): pricing a month in one batch, a school year's statement as Excel,
and a service user's own pages at 1 and at 5,000 bookings.

    python -m bench.settlement [--instruments 200] [--month-uses 50000] [--year-charges 200000]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python -m bench.settlement

1. `settlement.charge_uses` prices and writes a month of completed uses (each instrument with a
   published standard: hourly volume tiers per category, and a per-sample item): the time, the
   charges per second and the SQL statements it sent (constant whatever the number of uses).
2. The school's statement of a year of `--year-charges` invoiced charges: `statement_sheets` plus the
   one writer, as a ratio to writing the same final DataFrames straight with pandas (goal ≤ 1.5×), and
   the peak resident memory of a fresh process that builds it once (goal ≤ 1 GB).
3. A service user's pages — my bookings, uses, charges, evaluations and statement — send the same
   number of SQL statements for a user with 1 booking and one with 5,000 (goal: equal).
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.data import (PASSWORD, build_unit_tree, create_empty_database, insert_instruments, migrate, redact,  # noqa: E402
                        refresh_planner_statistics, resolve_url)
from bench.measure import StatementCounter, login  # noqa: E402
from bench.report import RESULTS_DIR, git_commit  # noqa: E402

YEAR, MONTH = 2026, 11
RATIO_GOAL, MEMORY_GOAL_MB = 1.5, 1024
CHUNK = 20000
BEIJING = timezone(timedelta(hours=8))
PAGES = ("/mybookingview/list/", "/myusageview/list/", "/mychargeview/list/", "/myevaluationview/list/",
         f"/statements/?year={YEAR}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.settlement", description=__doc__.split("\n\n")[0])
    p.add_argument("--instruments", type=int, default=200)
    p.add_argument("--month-uses", type=int, default=50000)
    p.add_argument("--year-charges", type=int, default=200000)
    p.add_argument("--own-bookings", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--database-url", default=None)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", default=str(RESULTS_DIR / "settlement.json"))
    return p.parse_args(argv)


def _app(url):
    from app import create_app

    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, AUTH_RATE_LIMIT="100000 per minute")


def _insert(conn, table, rows):
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start:start + CHUNK])


def prepare(app, args):
    """Units, instruments with published standards, customers, and the year's completed uses."""
    from app.extensions import db
    from app.models import (CustomerOrg, FeeItem, FeePrice, FeeStandard, Instrument, ServiceUser, UsageRecord)

    rng = random.Random(args.seed)
    _school, _colleges, labs = build_unit_tree(db.session, 2, 3)
    insert_instruments(db, [lab.id for lab in labs], args.instruments, rng)
    instruments = db.session.execute(sa.select(Instrument.id)).scalars().all()
    with db.engine.begin() as conn:
        _insert(conn, FeeStandard.__table__, [dict(instrument_id=i, version=1, state="published", effective_from=date(YEAR, 1, 1),
                                                   tier_mode="volume", unit_rounding="started_half",
                                                   created_at=datetime.now(timezone.utc)) for i in instruments])
        standards = dict(conn.execute(sa.select(FeeStandard.instrument_id, FeeStandard.id)).all())
        _insert(conn, FeeItem.__table__, [dict(standard_id=s, name=n, billing_unit=u, cost_basis=100, quantity_basis=b)
                                          for s in standards.values()
                                          for n, u, b in (("上机", "小时", "hours"), ("测试", "样品", "samples"))])
        prices = []
        for item_id, unit in conn.execute(sa.select(FeeItem.id, FeeItem.billing_unit)):
            for category, factor in (("campus", 1), ("academic", Decimal("1.2")), ("enterprise", Decimal("1.5"))):
                if unit == "小时":
                    prices += [dict(item_id=item_id, customer_category=category, tier_min=0, tier_max=10, unit_price=120 * factor),
                               dict(item_id=item_id, customer_category=category, tier_min=10, tier_max=None, unit_price=90 * factor)]
                else:
                    prices.append(dict(item_id=item_id, customer_category=category, tier_min=0, tier_max=None, unit_price=40 * factor))
        _insert(conn, FeePrice.__table__, prices)
        orgs = []
        for n, category in enumerate(("campus", "academic", "enterprise", "student_startup")):
            orgs.append(conn.execute(CustomerOrg.__table__.insert().values(name=f"基准客户{n}", category=category,
                                                                           affiliated=False).returning(CustomerOrg.id)).scalar())
        _insert(conn, ServiceUser.__table__, [dict(name=f"基准用户{n}", org_id=orgs[n % 4], status="active",
                                                   project_account="BENCH-001" if n % 4 == 0 else None) for n in range(400)])
        users = conn.execute(sa.select(ServiceUser.id)).scalars().all()
        uses = []
        for n in range(args.year_charges):
            # the month's uses first (priced in the timed batch), the rest spread over the year
            month = MONTH if n < args.month_uses else rng.randint(1, 12)
            start = datetime(YEAR, month, rng.randint(1, 28), rng.randint(8, 16), tzinfo=BEIJING).astimezone(timezone.utc)
            hours = Decimal(rng.choice((0.5, 1, 1.5, 2, 3, 4))) + Decimal(rng.randint(0, 59)) / 100
            uses.append(dict(instrument_id=rng.choice(instruments), user_id=rng.choice(users), started_at=start,
                             ended_at=start + timedelta(hours=float(hours)), hours=hours, samples=rng.randint(0, 12),
                             source="manual", service_type="external", direction="research"))
        _insert(conn, UsageRecord.__table__, uses)
    refresh_planner_statistics(db.engine, db.session)


def price_a_month(app):
    from app import clock
    from app.extensions import db
    from app.models import UsageRecord
    from app.models.base import beijing_date
    from app.services.money import settlement

    first, last = date(YEAR, MONTH, 1), date(YEAR, MONTH, 30)
    month = sa.select(UsageRecord.id).where(beijing_date(UsageRecord.started_at).between(first, last))
    counter = StatementCounter(db.engine)
    counter.start()
    t0 = time.perf_counter()
    written = settlement.charge_uses(db.session, month, clock.now())
    db.session.commit()
    seconds = time.perf_counter() - t0
    statements = len(counter.stop())
    return {"charges": written, "seconds": round(seconds, 2), "charges_per_second": round(written / seconds),
            "statements": statements}


def invoice_the_year(app):
    """The rest of the year priced in one more batch, then every charge invoiced the day after its use."""
    from app import clock
    from app.extensions import db
    from app.models import Charge, UsageRecord
    from app.services.money import settlement

    settlement.charge_uses(db.session, sa.select(UsageRecord.id), clock.now())
    db.session.commit()
    day_after = sa.func.date(sa.select(UsageRecord.started_at).where(UsageRecord.id == Charge.usage_id).scalar_subquery(),
                             "+1 day") if db.engine.dialect.name == "sqlite" else sa.cast(
        sa.select(UsageRecord.started_at).where(UsageRecord.id == Charge.usage_id).scalar_subquery() + sa.text("interval '1 day'"),
        sa.Date)
    db.session.execute(sa.update(Charge).values(state="invoiced", invoice_date=day_after,
                                                invoice_number=sa.literal("B-") + sa.cast(Charge.id, sa.String)))
    db.session.commit()
    return db.session.execute(sa.select(sa.func.count()).select_from(Charge)).scalar()


def _statement(app):
    from app import clock
    from app.extensions import db
    from app.reports.registry import school_root
    from app.reports.statement import statement_sheets
    from app.services.money import statements

    school = school_root(db.session)
    return statement_sheets(db.session, statements.Party("unit", school.id), statements.Period.of(YEAR), None, clock.today())


def _peak_rss(url, queue):
    import resource

    from app.reports.excel import write_workbook
    from bench.reports import _high_water_mb

    app = _app(url)
    with app.app_context():
        write_workbook(_statement(app))
    queue.put(_high_water_mb(resource))


def statement_excel(app, url, rounds):
    from app.reports.excel import write_workbook

    ours, baseline = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        sheets = _statement(app)
        content = write_workbook(sheets)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
            for sheet in sheets:
                sheet.frame.to_excel(writer, sheet_name=sheet.name[:31], index=False)
        baseline.append(time.perf_counter() - t0)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_rss, args=(url, queue))
    process.start()
    peak = queue.get(timeout=3600)
    process.join()
    ratio = min(ours) / min(baseline)
    return {"rows": sum(len(s.frame) for s in sheets), "bytes": len(content), "statement_s": [round(s, 2) for s in ours],
            "pandas_s": [round(s, 2) for s in baseline], "ratio": round(ratio, 2), "peak_rss_mb": round(peak)}


def own_accounts(app, args):
    """Two service users' accounts — one with a booking, one with --own-bookings of them, each used,
    charged and evaluated; returns {username: bookings}."""
    from app import clock
    from app.extensions import db
    from app.models import Booking, Charge, Evaluation, Instrument, ServiceUser, UsageRecord

    sm = app.appbuilder.sm
    instrument = db.session.execute(sa.select(Instrument.id).limit(1)).scalar()
    org_id = db.session.execute(sa.select(ServiceUser.org_id).order_by(ServiceUser.id).limit(1)).scalar()
    accounts = {}
    for username, n in (("bench_one", 1), ("bench_many", args.own_bookings)):
        account = sm.add_user(username, "基准", "用户", f"{username}@example.edu.cn", sm.find_role("ServiceUser"), password=PASSWORD)
        # a customer of its own: one that already held the generated year's uses could not show an N+1 at 1 booking
        user = ServiceUser(name=f"基准用户{username}", org_id=org_id, account_id=account.id, status="active")
        db.session.add(user)
        db.session.commit()
        with db.engine.begin() as conn:
            start0 = datetime(YEAR, 3, 1, 1, tzinfo=timezone.utc)
            rows = [dict(instrument_id=instrument, user_id=user.id, mode="sample", state="completed",
                         submitted_at=start0 + timedelta(hours=3 * i), scheduled_date=date(YEAR, 3, 1), sample_count=1)
                    for i in range(n)]
            _insert(conn, Booking.__table__, rows)
            ids = conn.execute(sa.select(Booking.id).where(Booking.user_id == user.id)).scalars().all()
            _insert(conn, UsageRecord.__table__, [dict(instrument_id=instrument, booking_id=b, user_id=user.id,
                                                       started_at=start0 + timedelta(hours=3 * i),
                                                       ended_at=start0 + timedelta(hours=3 * i + 1),
                                                       hours=1, source="manual", service_type="external", direction="research")
                                                  for i, b in enumerate(ids)])
            _insert(conn, Evaluation.__table__, [dict(booking_id=b, score=5, created_at=start0) for b in ids])
            uses = conn.execute(sa.select(UsageRecord.id).where(UsageRecord.booking_id.in_(ids))).scalars().all() if n < 30000 else []
            _insert(conn, Charge.__table__, [dict(usage_id=u, user_id=user.id, total=10, state="pending", created_at=clock.now())
                                             for u in uses])
        accounts[username] = n
    return accounts


def own_pages(app, engine, accounts):
    """The statements each page of each account sends (signed in as a browser would, outside any app context)."""
    counter, counts = StatementCounter(engine), {}
    for username, n in accounts.items():
        client = login(app, username)
        for url in PAGES:
            client.get(url)  # warm
            counter.start()
            status = client.get(url).status_code
            counts.setdefault(url, {})[n] = (len(counter.stop()), status)
    return counts


def main(argv=None):
    args = parse_args(argv)
    url, _tmp = resolve_url(args)
    create_empty_database(url)
    app = _app(url)
    with app.app_context():
        migrate(app)
        t0 = time.perf_counter()
        prepare(app, args)
        prepared = round(time.perf_counter() - t0, 1)
        month = price_a_month(app)
        charges = invoice_the_year(app)
        excel = statement_excel(app, url, args.rounds)
        accounts = own_accounts(app, args)
        from app.extensions import db
        engine = db.engine
    pages = own_pages(app, engine, accounts)
    equal = all(len({c for c, _s in by_n.values()}) == 1 and all(s == 200 for _c, s in by_n.values()) for by_n in pages.values())
    print(f"database: {redact(url)}; generated in {prepared} s")
    print(f"1. a month's charges: {month['charges']} in {month['seconds']} s "
          f"({month['charges_per_second']}/s), {month['statements']} SQL statements")
    print(f"2. the school's year statement of {charges} charges ({excel['rows']} rows, {excel['bytes']} bytes): "
          f"{min(excel['statement_s'])} s against pandas {min(excel['pandas_s'])} s = {excel['ratio']}× "
          f"(goal ≤ {RATIO_GOAL}×) — GOAL {'MET' if excel['ratio'] <= RATIO_GOAL else 'MISSED'}; peak RSS "
          f"{excel['peak_rss_mb']} MB (goal ≤ {MEMORY_GOAL_MB}) — GOAL {'MET' if excel['peak_rss_mb'] <= MEMORY_GOAL_MB else 'MISSED'}")
    for page_url, by_n in pages.items():
        print(f"3. {page_url}: " + ", ".join(f"{n} bookings → {c} statements ({s})" for n, (c, s) in sorted(by_n.items())))
    print(f"3. a service user's pages, 1 against {args.own_bookings} bookings — GOAL {'MET' if equal else 'MISSED'}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"commit": git_commit(), "database": redact(url), "month": month, "year_charges": charges, "excel": excel,
               "pages": {u: {str(n): v for n, v in by.items()} for u, by in pages.items()}}
    with open(args.out, "w") as out:
        json.dump(payload, out, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
