"""IoT bridge benchmark: messages stored per second against a subscriber that only receives.

Goals (issue 4): 2,000 terminals publishing through Mosquitto on loopback;
1. sustained messages stored per second >= 0.5 x a receive-and-discard subscriber measured in
   the same run, and >= 5,000 msg/s;
2. end-to-end latency p99 (publish -> committed), reported;
3. resident memory of the bridge flat over --rss-messages (default 1,000,000) messages.

    python -m bench.iot_bridge [--terminals 2000] [--messages 200000] [--rss-messages 1000000]

A private Mosquitto is started with deploy/mosquitto.conf (the machine's own keeps Debian's
in-flight limit of 20). DATABASE_URL (or --database-url) picks the database (a PostgreSQL one is
created if missing, then emptied); default a temporary SQLite file. Every 4th message of a
terminal changes its state (an event, and a machine-time record every second change); the
others repeat it, as a terminal's heartbeat does. Stored = the sum of the stored `seq` of all
terminals, which reaches the number of messages published exactly when every one is stored.
Exit code 0 unless the benchmark itself fails; goals are printed as GOAL MET / GOAL MISSED.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import sqlalchemy as sa  # noqa: E402

from bench.data import build_unit_tree, create_empty_database, insert_instruments, migrate, redact, resolve_url  # noqa: E402
from bench.report import RESULTS_DIR, ROOT, git_commit, percentile  # noqa: E402

RATIO_GOAL, RATE_GOAL = 0.5, 5000


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.iot_bridge", description=__doc__.split("\n\n")[0])
    p.add_argument("--terminals", type=int, default=2000)
    p.add_argument("--messages", type=int, default=200000, help="messages per throughput phase (default 200000)")
    p.add_argument("--rss-messages", type=int, default=1000000, help="messages of the memory phase (0: skip)")
    p.add_argument("--publishers", type=int, default=2, help="publisher processes (default 2)")
    p.add_argument("--database-url", default=None)
    p.add_argument("--out", default=str(RESULTS_DIR / "iot_bridge.json"))
    return p.parse_args(argv)


# -- load ------------------------------------------------------------------------------------
def publish_load(url_port, tids, per_terminal, first_seq, ready, go):
    """One publisher process: per_terminal messages for each terminal, round robin, QoS 1."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    ready.set()
    go.wait()
    last = None
    for i in range(per_terminal):
        seq = first_seq + i
        state = "running" if (seq // 4) % 2 else "idle"
        ts = datetime.now(timezone.utc).isoformat()
        for tid in tids:
            last = client.publish(f"instruments/{tid}/status", json.dumps({"state": state, "ts": ts, "seq": seq}), qos=1)
            while len(client._out_messages) > 5000:  # keep paho's own queue bounded
                time.sleep(0.001)
    last.wait_for_publish(120)
    while client._out_messages:
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()


def run_publishers(port, tids, per_terminal, first_seq, count):
    chunks = [tids[i::count] for i in range(count)]
    ready = [multiprocessing.Event() for _ in chunks]
    go = multiprocessing.Event()
    procs = [multiprocessing.Process(target=publish_load, args=(port, c, per_terminal, first_seq, r, go))
             for c, r in zip(chunks, ready)]
    for p in procs:
        p.start()
    for r in ready:
        r.wait(30)
    go.set()
    return procs


# -- the two consumers -------------------------------------------------------------------------
def discard_rate(port, tids, per_terminal, publishers):
    """Baseline: a subscriber that receives (QoS 1, acks as it goes) and discards."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    total = len(tids) * per_terminal
    got = [0]
    done = threading.Event()

    def on_message(_c, _u, _m):
        got[0] += 1
        if got[0] >= total:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-discard", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_connect = lambda c, *_a: c.subscribe("instruments/+/status", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(1)
    started = time.perf_counter()
    procs = run_publishers(port, tids, per_terminal, 1, publishers)
    done.wait(3600)
    seconds = time.perf_counter() - started
    for p in procs:
        p.join()
    client.disconnect()
    client.loop_stop()
    return total / seconds, seconds


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bridge_phase(port, url, tids, per_terminal, first_seq, publishers, probe=True, sample_rss=False, args_timeout=600):
    """Run the bridge over one load; returns rate, seconds, latency samples, RSS samples."""
    engine = sa.create_engine(url)
    bridge = subprocess.Popen([sys.executable, "-m", "iot_bridge", "--mqtt-url", f"mqtt://127.0.0.1:{port}",
                               "--database-url", url, "--client-id", "bench-bridge", "--log-level", "WARNING"],
                              cwd=ROOT, stderr=open(os.environ.get("BENCH_BRIDGE_LOG", os.devnull), "a"))
    time.sleep(3)
    # every terminal's stored seq reaches its last one exactly when all its messages are stored
    # (one publisher per terminal, in order; the bridge stores in arrival order)
    target_sum = (first_seq + per_terminal - 1) * len(tids)
    published, observed, rss = {}, {}, []
    stop = threading.Event()

    def probe_loop():
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe-pub")
        c.connect("127.0.0.1", port)
        c.loop_start()
        seq = 0
        while not stop.is_set():
            seq += 1
            published[seq] = time.perf_counter()
            c.publish("instruments/bench-probe/status",
                      json.dumps({"state": "idle", "ts": datetime.now(timezone.utc).isoformat(), "seq": seq}), qos=1)
            time.sleep(0.05)
        c.disconnect()
        c.loop_stop()

    def watch_loop():
        with engine.connect() as conn:
            while not stop.is_set():
                seq = conn.execute(sa.text("SELECT seq FROM device_status WHERE terminal_id = 'bench-probe'")).scalar()
                conn.rollback()
                now = time.perf_counter()
                if seq:
                    for s in range(max(observed, default=0) + 1, seq + 1):
                        observed[s] = now
                time.sleep(0.005)

    threads = [threading.Thread(target=probe_loop), threading.Thread(target=watch_loop)] if probe else []
    for t in threads:
        t.start()
    started = time.perf_counter()
    procs = run_publishers(port, tids, per_terminal, first_seq, publishers)
    next_rss = 0.0
    with engine.connect() as conn:
        while True:
            stored = conn.execute(sa.text(
                "SELECT coalesce(sum(seq), 0) FROM device_status WHERE terminal_id LIKE 'bench-t%'")).scalar()
            conn.rollback()
            elapsed = time.perf_counter() - started
            if sample_rss and elapsed >= next_rss:
                rss.append((round(elapsed, 1), int(stored), rss_kb(bridge.pid)))
                next_rss = elapsed + 1.0
            if stored >= target_sum or elapsed > args_timeout:
                if stored < target_sum:
                    print(f"  bridge phase timed out: stored seq sum {stored} of {target_sum}")
                break
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join()
    for p in procs:
        p.join()
    bridge.terminate()
    bridge.wait(60)
    engine.dispose()
    latencies = [(observed[s] - published[s]) * 1000 for s in published if s in observed]
    return len(tids) * per_terminal / seconds, seconds, latencies, rss


def prepare(url, terminals):
    from app import create_app
    from app.extensions import db
    from app.models import Instrument, IotTerminal

    import random

    create_empty_database(url)
    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        migrate(app)
        _school, _colleges, labs = build_unit_tree(db.session, 3, 4)
        insert_instruments(db, [lab.id for lab in labs], terminals, random.Random(1))
        ids = db.session.execute(sa.select(Instrument.id).order_by(Instrument.id)).scalars().all()
        tids = [f"bench-t{i:05d}" for i in range(terminals)]
        with db.engine.begin() as conn:
            conn.execute(Instrument.__table__.update().where(Instrument.__table__.c.id == sa.bindparam("b_id"))
                         .values(iot_terminal_id=sa.bindparam("b_tid")),
                         [{"b_id": i, "b_tid": t} for i, t in zip(ids, tids)])
            conn.execute(IotTerminal.__table__.insert(), [{"terminal_id": t, "adapter": "native", "power_threshold_w": 40}
                                                         for t in tids + ["bench-probe"]])
        db.engine.dispose()
    return tids


def main(argv=None):
    from tests.mqtt_broker import PrivateMosquitto

    args = parse_args(argv)
    url, tmp = resolve_url(args)
    broker_dir = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker = PrivateMosquitto(broker_dir)
    broker.start()
    try:
        tids = prepare(url, args.terminals)
        dialect = sa.engine.make_url(url).get_backend_name()
        per_terminal = max(1, args.messages // args.terminals)
        print(f"database {redact(url)}; {args.terminals} terminals, {per_terminal * args.terminals} messages per phase")
        base_rate, base_s = discard_rate(broker.port, tids, per_terminal, args.publishers)
        print(f"discard subscriber: {base_rate:,.0f} msg/s ({base_s:.1f} s)")
        rate, secs, lat, _ = bridge_phase(broker.port, url, tids, per_terminal, 1, args.publishers)
        print(f"bridge stored:      {rate:,.0f} msg/s ({secs:.1f} s); ratio {rate / base_rate:.2f}")
        p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
        print(f"end-to-end latency (probe, publish -> committed): p50 {p50:.0f} ms, p99 {p99:.0f} ms, n={len(lat)}")
        rss = []
        if args.rss_messages:
            rss_per = max(1, args.rss_messages // args.terminals)
            _r, rss_secs, _l, rss = bridge_phase(broker.port, url, tids, rss_per, per_terminal + 1, args.publishers,
                                                 probe=False, sample_rss=True)
            early = next((kb for _t, stored, kb in rss if stored >= rss[-1][1] * 0.1), rss[0][2]) if rss else 0
            peak = max(kb for *_x, kb in rss) if rss else 0
            print(f"memory over {rss_per * args.terminals:,} messages ({rss_secs:.0f} s): RSS after 10 % {early / 1024:.0f} MB, "
                  f"peak {peak / 1024:.0f} MB, end {rss[-1][2] / 1024:.0f} MB")
        ratio = rate / base_rate
        print(f"{'GOAL MET   ' if ratio >= RATIO_GOAL else 'GOAL MISSED'}  stored / discard >= {RATIO_GOAL}: {ratio:.2f}")
        print(f"{'GOAL MET   ' if rate >= RATE_GOAL else 'GOAL MISSED'}  stored >= {RATE_GOAL} msg/s: {rate:,.0f}")
        if rss:
            flat = peak <= early * 1.2
            print(f"{'GOAL MET   ' if flat else 'GOAL MISSED'}  RSS flat (peak <= 1.2 x after 10 %): {peak / early:.2f}")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        Path(args.out).with_suffix(f".{dialect}.json").write_text(json.dumps({
            "commit": git_commit(), "dialect": dialect, "terminals": args.terminals, "messages": per_terminal * args.terminals,
            "discard_rate": base_rate, "stored_rate": rate, "ratio": ratio, "latency_ms": {"p50": p50, "p99": p99, "n": len(lat)},
            "rss_samples": rss}, indent=1))
    finally:
        broker.stop()
        shutil.rmtree(broker_dir, ignore_errors=True)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
