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
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone

# A fixed key so importing config.py never writes instance/secret_key as a side effect.
os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import sqlalchemy as sa  # noqa: E402

from bench.data import (  # noqa: E402
    ACCOUNTS, build_university, create_empty_database, migrate, redact, resolve_url,
)
from bench.measure import StatementCounter, grant_bare_permissions, login, make_bare_view, run_cases  # noqa: E402
from bench.report import (  # noqa: E402
    RESULTS_DIR, ROOT, evaluate, git_commit, print_report, results_payload, summarise, write_results,
)


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


def main(argv=None):
    args = parse_args(argv)
    if args.rounds < 1 or args.instruments < 1:
        raise SystemExit("--rounds and --instruments must be at least 1")
    sys.path.insert(0, str(ROOT))
    url, tmpdir = resolve_url(args)
    started = time.perf_counter()
    try:
        create_empty_database(url)

        import flask_appbuilder

        from app import create_app
        from app.extensions import db

        app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            # register the baseline before migrate(), whose add_permissions(update_perms=True)
            # writes its permissions (and hands them all to SchoolAdmin, FAB's admin role)
            app.appbuilder.add_view_no_menu(make_bare_view(args.bare_fab_defaults))
            print(f"database: {redact(url)}")
            migrate(app)
            data = build_university(app, args)
            data["bare_view_permissions"] = grant_bare_permissions(app.appbuilder.sm)
            db.session.commit()
            dialect = db.engine.dialect.name
            counter = StatementCounter(db.engine)
        print(f"built {data['units']} units and {data['instruments']} instruments "
              f"(instrument insert {data['insert_seconds']} s); measuring…")

        clients = {role: login(app, username) for username, role, _l in ACCOUNTS}
        bound = {role: data["bound_units"][level] for _u, role, level in ACCOUNTS}
        t0 = time.perf_counter()
        cases = run_cases(app, counter, clients, data["bound_units"], args)
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
        out, per_dialect = write_results(args.out, results_payload(meta, rows, goals, cases), dialect)
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
