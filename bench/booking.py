"""Booking benchmark (issue 13), against gunicorn with 4 workers on PostgreSQL on loopback, beside
NEMO-CE 8.1.5 served the same way over the same instrument, users and week of bookings:

1. booking creation p50, one at a time, ours interleaved with NEMO's: goal <= 1.0 x NEMO's;
2. the week calendar's event feed with about 80 bookings in the week: goal <= 0.2 x NEMO's;
3. the 50-way race for one slot, run after run on both: goal 0 double bookings in every run of ours;
4. 20 concurrent clients for 2 minutes mixing calendar views (40 %), availability searches (20 %),
   submissions (20 %) and lab actions (20 %): p50/p95/p99 per kind, throughput, goal zero errors;
5. the week calendar (10 vs 80 events) and the lab's pending queue (5 vs 25 rows) each sent with a
   constant number of SQL statements;
6. the week calendar and the queue with 100,000 historical bookings on the instrument: goal p50 at
   most 1.2 x the p50 with 1,000.

(5) and (6) run in this process through the Flask test client, before the servers start; the rest
go over HTTP. Speed is only reported as ratios within this run. Exits 0 unless it crashes; prints
GOAL MET / GOAL MISSED. Results: bench/results/booking.json.

    python -m bench.booking [--database-url URL] [--nemo-database-url URL] [--mix-seconds 120]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

from app import clock  # noqa: E402
from bench import booking_data  # noqa: E402
from bench.booking_http import MIX, MixedLoad, OurClient, race  # noqa: E402
from bench.data import create_empty_database, migrate, redact, with_installed_driver  # noqa: E402
from bench.measure import StatementCounter, login  # noqa: E402
from bench.nemo_peer import NEMO_VERSION, NemoPeer, ensure_venv, simultaneous_creates  # noqa: E402
from bench.report import RESULTS_DIR, git_commit, percentile, write_results  # noqa: E402
from tests.processes import WebServer  # noqa: E402

CREATE_GOAL, FEED_GOAL, HISTORY_GOAL = 1.0, 0.2, 1.2
SLOT = timedelta(minutes=30)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.booking", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_booking"))
    p.add_argument("--nemo-database-url", default=os.environ.get("NEMO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_nemo"))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--creates", type=int, default=40, help="sequential creations on each side")
    p.add_argument("--feeds", type=int, default=30, help="week feeds on each side")
    p.add_argument("--race-runs", type=int, default=8, help="50-way races on each side")
    p.add_argument("--mix-seconds", type=float, default=120)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--rounds", type=int, default=30, help="in-process rounds per page at each history size")
    p.add_argument("--history", type=int, nargs=2, default=(1000, 100000))
    p.add_argument("--out", default=str(RESULTS_DIR / "booking.json"))
    return p.parse_args(argv)


def next_monday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


def p(values, q):
    return round(percentile(values, q), 2)


# ------------------------------------------------------------------------------------------
# in this process: statement counts and the history goal
# ------------------------------------------------------------------------------------------
def events_url(instrument_id, week_start):
    return (f"/bookings/calendar/{instrument_id}/events?start={week_start}T00:00:00"
            f"&end={week_start + timedelta(days=7)}T00:00:00")


QUEUE_URL = "/bookingqueueview/list/"


def hit(client, counter, url):
    counter.start()
    began = time.perf_counter()
    resp = client.get(url)
    elapsed = time.perf_counter() - began
    statements = counter.stop()
    if resp.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status_code}")
    return elapsed * 1000, len(statements), resp


def statement_counts(app, counter, info, week_start):
    """Calendar of 80 vs 10 events (the lab's view, which names its users, and a service user's) and
    the queue of 5 vs 25 pending rows."""
    from app.extensions import db

    lab, user = login(app, "bench_lab"), login(app, "bench_user_1")
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(booking_data._table().insert(),
                         booking_data._week_rows(info["instruments"][1], info["users"], week_start, 10))
    out = {}
    for who, client in (("lab", lab), ("service_user", user)):
        for instrument, label in ((info["instruments"][1], "10_events"), (info["instrument"], "80_events")):
            hit(client, counter, events_url(instrument, week_start))
            _, n, resp = hit(client, counter, events_url(instrument, week_start))
            out[f"calendar/{who}/{label}"] = {"statements": n, "events": len(resp.get_json())}
    queue_day = week_start + timedelta(days=7)
    for count, label in ((5, "5_rows"), (20, "25_rows")):
        with app.app_context():
            booking_data.add_pending(db.engine, info["instruments"][2:], info["users"], count, queue_day)
        queue_day += timedelta(days=2)
        hit(lab, counter, QUEUE_URL)
        _, n, resp = hit(lab, counter, QUEUE_URL)
        out[f"queue/{label}"] = {"statements": n, "rows_on_page": resp.get_data(as_text=True).count("/bookingrecordview/show/")}
    return out, lab


def history_p50(app, lab, counter, info, week_start, rounds):
    times = {"calendar": [], "queue": []}
    for r in range(rounds + 3):
        order = (("calendar", events_url(info["instrument"], week_start)), ("queue", QUEUE_URL))
        for kind, url in (order if r % 2 == 0 else order[::-1]):
            elapsed, _, _ = hit(lab, counter, url)
            if r >= 3:
                times[kind].append(elapsed)
    return {kind: {"p50_ms": p(v, 0.5), "p95_ms": p(v, 0.95)} for kind, v in times.items()}


# ------------------------------------------------------------------------------------------
# over HTTP, beside NEMO
# ------------------------------------------------------------------------------------------
def creation(ours, peer, nemo_client, tool_id, instrument_id, first_day, count):
    """Interleaved one-at-a-time creations, each on a fresh slot at night (outside the seeded weeks)."""
    mine, theirs, refused = [], [], {"ours": 0, "nemo": 0}
    for n in range(count):
        day = first_day + timedelta(days=n // 10)
        start = clock.aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=2) + SLOT * (n % 10)
        steps = (("ours", lambda start=start: ours.submit(instrument_id, clock.local(start).replace(tzinfo=None),
                                                          clock.local(start + SLOT).replace(tzinfo=None))),
                 ("nemo", lambda start=start: peer.create_reservation(nemo_client, tool_id, start, start + SLOT)))
        for side, step in (steps if n % 2 == 0 else steps[::-1]):
            result = step()
            if side == "ours":
                mine.append(result[0] * 1000)
                refused["ours"] += result[1] != 201
            else:
                theirs.append(result[0] * 1000)
                refused["nemo"] += not result[1]
    return {"ours_p50_ms": p(mine, 0.5), "ours_p95_ms": p(mine, 0.95), "nemo_p50_ms": p(theirs, 0.5),
            "nemo_p95_ms": p(theirs, 0.95), "ratio_p50": round(statistics.median(mine) / statistics.median(theirs), 3),
            "refused": refused, "count": count}


def week_feed(ours, instrument_id, peer, nemo_client, tool_id, week_start, rounds):
    mine, theirs, events = [], [], {}
    for n in range(rounds + 2):
        steps = (("ours", lambda: ours.week_events(instrument_id, week_start)),
                 ("nemo", lambda: peer.week_feed(nemo_client, tool_id, week_start, week_start + timedelta(days=7))))
        for side, step in (steps if n % 2 == 0 else steps[::-1]):
            elapsed, count = step()
            events[side] = count
            if n >= 2:
                (mine if side == "ours" else theirs).append(elapsed * 1000)
    return {"ours_p50_ms": p(mine, 0.5), "ours_p95_ms": p(mine, 0.95), "nemo_p50_ms": p(theirs, 0.5),
            "nemo_p95_ms": p(theirs, 0.95), "ratio_p50": round(statistics.median(mine) / statistics.median(theirs), 3),
            "events": events}


def races(app, our_clients, info, peer, nemo_clients, tool_id, first_day, runs):
    from app.extensions import db
    from app.services.booking.bookings import clashes

    out = {"ours": [], "nemo": []}
    for n in range(runs):
        # a fresh slot each run, at night: outside the seeded weeks and the creations
        start = clock.aware(datetime.combine(first_day + timedelta(days=n), datetime.min.time())) + timedelta(hours=1)
        local = clock.local(start).replace(tzinfo=None)
        answers = race(our_clients, info["instrument"], local, local + SLOT)
        with app.app_context():
            holding = len(clashes(db.session, info["instrument"], start, start + SLOT))
            db.session.remove()
        statuses = {}
        for _, status in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        out["ours"].append({"holding": holding, "doubles": max(0, holding - 1), "statuses": statuses})
        peer.delete_reservations_between(tool_id, start, start + SLOT)
        answers = simultaneous_creates(peer, nemo_clients, tool_id, start, start + SLOT, per_client=5)
        holding = peer.overlapping_reservations(tool_id, start, start + SLOT)
        out["nemo"].append({"holding": holding, "doubles": max(0, holding - 1), "accepted": sum(ok for _, ok in answers)})
    return out


def mixed(users, lab, info, seconds):
    load = MixedLoad(users, lab, info["instruments"], clock.today(), seconds)
    elapsed = load.run()
    kinds = {kind: {"requests": len(v), "p50_ms": p(v, 0.5), "p95_ms": p(v, 0.95), "p99_ms": p(v, 0.99),
                    "statuses": {str(k): n for k, n in load.statuses[kind].items()}} for kind, v in load.times.items()}
    total = sum(len(v) for v in load.times.values())
    every = [t for v in load.times.values() for t in v]
    return {"seconds": round(elapsed, 1), "clients": len(users), "requests": total,
            "throughput_per_s": round(total / elapsed, 1), "all_p50_ms": p(every, 0.5), "all_p95_ms": p(every, 0.95),
            "all_p99_ms": p(every, 0.99), "per_kind": kinds, "errors": len(load.errors), "first_errors": load.errors[:10],
            "shares": dict(MIX)}


# ------------------------------------------------------------------------------------------
def goal(met, text):
    print(f"{'GOAL MET' if met else 'GOAL MISSED'}: {text}")
    return {"met": bool(met), "goal": text}


def main(argv=None):
    args = parse_args(argv)
    url = with_installed_driver(args.database_url)
    today = clock.today()
    week_start = next_monday(today)
    print(f"booking bench on {redact(url)}, NEMO-CE {NEMO_VERSION} on {redact(args.nemo_database_url)}; week of {week_start}")
    ensure_venv()
    create_empty_database(url)
    from app import create_app
    from app.extensions import db

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, AUTH_RATE_LIMIT="10000 per minute")
    with app.app_context():
        migrate(app)
        info = booking_data.seed(app, week_start, 80)
        db.session.remove()
    counter = StatementCounter(_engine(app))
    results = {"commit": git_commit(), "python": platform.python_version(), "machine": platform.machine(),
               "cpus": os.cpu_count(), "database": redact(url), "nemo_ce": NEMO_VERSION, "workers": args.workers,
               "week_start": week_start.isoformat(), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    print("== statement counts (in process) ==")
    results["statements"], lab_client = statement_counts(app, counter, info, week_start)
    for key, value in results["statements"].items():
        print(f"  {key:<32} {value}")
    print("== history: the week calendar and the queue at 1,000 and 100,000 past bookings ==")
    results["history"] = {}
    anchor = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)  # one anchor for both batches
    for size in args.history:
        with app.app_context():
            seconds = booking_data.add_history(db.engine, info["instrument"], info["users"],
                                               size - booking_data._history_count(db.engine, info["instrument"]),
                                               anchor)
        results["history"][str(size)] = {**history_p50(app, lab_client, counter, info, week_start, args.rounds),
                                         "insert_seconds": round(seconds, 1)}
        print(f"  {size:>7} history: {results['history'][str(size)]}")

    print("== over HTTP: gunicorn x%d, ours and NEMO's ==" % args.workers)
    peer = NemoPeer(args.nemo_database_url, workers=args.workers)
    nemo = peer.seed(users=booking_data.USERS, week_start=week_start, week_bookings=80)
    instance = tempfile.mkdtemp(prefix="booking-bench-")
    server = WebServer(url, RESULTS_DIR / "booking-gunicorn.log", workers=args.workers, INSTANCE_PATH=instance,
                       AUTH_RATE_LIMIT="10000 per minute", REGISTRATION_RATE_LIMIT="10000 per minute")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    server.start()
    try:
        with peer:
            ours = [OurClient(server.url, f"bench_user_{n}").log_in() for n in range(1, booking_data.USERS + 1)]
            lab = OurClient(server.url, "bench_lab").log_in()
            theirs = [peer.login(name) for name in nemo["usernames"][:10]]
            results["creation"] = creation(ours[0], peer, theirs[0], nemo["tool_id"], info["instrument"],
                                           today + timedelta(days=1), args.creates)
            print(f"  creation: {results['creation']}")
            results["week_feed"] = week_feed(ours[0], info["instrument"], peer, theirs[0], nemo["tool_id"], week_start, args.feeds)
            print(f"  week feed: {results['week_feed']}")
            results["race"] = races(app, ours[:10], info, peer, theirs, nemo["tool_id"], today + timedelta(days=5), args.race_runs)
            print(f"  race, ours: {[r['holding'] for r in results['race']['ours']]}; "
                  f"NEMO: {[r['holding'] for r in results['race']['nemo']]}")
        print(f"== mixed load: {args.clients} clients for {args.mix_seconds:.0f} s ==")
        results["mixed"] = mixed(ours[:args.clients], lab, info, args.mix_seconds)
        for kind, row in results["mixed"]["per_kind"].items():
            print(f"  {kind:<13} {row}")
        print(f"  throughput {results['mixed']['throughput_per_s']}/s, errors {results['mixed']['errors']}")
    finally:
        server.stop()

    small, large = (results["history"][str(s)] for s in args.history)
    st = results["statements"]
    results["goals"] = [
        goal(results["creation"]["ratio_p50"] <= CREATE_GOAL,
             f"creation p50 {results['creation']['ratio_p50']} x NEMO's (<= {CREATE_GOAL})"),
        goal(results["week_feed"]["ratio_p50"] <= FEED_GOAL,
             f"week feed p50 {results['week_feed']['ratio_p50']} x NEMO's (<= {FEED_GOAL})"),
        goal(all(r["doubles"] == 0 and r["holding"] == 1 for r in results["race"]["ours"]),
             f"50-way race: ours held by {[r['holding'] for r in results['race']['ours']]}, NEMO by "
             f"{[r['holding'] for r in results['race']['nemo']]} (0 doubles in every run of ours)"),
        goal(results["mixed"]["errors"] == 0, f"mixed load: {results['mixed']['errors']} errors of {results['mixed']['requests']}"),
        goal(len({v["statements"] for k, v in st.items() if k.startswith("calendar/lab")}) == 1
             and len({v["statements"] for k, v in st.items() if k.startswith("calendar/service_user")}) == 1
             and len({v["statements"] for k, v in st.items() if k.startswith("queue")}) == 1,
             "constant statements: " + ", ".join(f"{k}={v['statements']}" for k, v in st.items())),
        *[goal(large[kind]["p50_ms"] <= HISTORY_GOAL * small[kind]["p50_ms"],
               f"{kind} p50 with {args.history[1]:,} past bookings {large[kind]['p50_ms']} ms = "
               f"{large[kind]['p50_ms'] / small[kind]['p50_ms']:.2f} x with {args.history[0]:,} (<= {HISTORY_GOAL})")
          for kind in ("calendar", "queue")],
    ]
    written = write_results(args.out, results, "postgresql" if url.startswith("postgresql") else "sqlite")
    print(f"results: {written[0]}")
    return 0


def _engine(app):
    from app.extensions import db

    with app.app_context():
        return db.engine


if __name__ == "__main__":
    sys.exit(main())
