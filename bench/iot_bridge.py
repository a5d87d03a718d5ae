"""IoT bridge benchmark: messages stored per second against a subscriber that only receives.

Goals (issue 4): 2,000 terminals publishing through Mosquitto on loopback;
1. sustained messages stored per second >= 0.5 x a receive-and-discard subscriber measured in
   the same run, and >= 5,000 msg/s;
2. end-to-end latency p99 (publish -> committed), reported;
3. resident memory of the bridge flat over --rss-messages (default 1,000,000) messages.

    python -m bench.iot_bridge [--terminals 2000] [--messages 200000] [--rss-messages 1000000]

Throughput is measured as a drain: the consumer's persistent session is created, the consumer
goes away, --messages are published into its queue, and the clock runs from the consumer's
reconnection until the last message is received (discard subscriber) or stored (bridge). So
publishers never compete with the consumer for the CPU, and the two consumers face the same
backlog. Latency is measured live: the bridge running while the terminals publish at
--live-rate msg/s for --live-seconds, plus a probe terminal whose messages are timed from
publish to commit. Memory: RSS of the bridge sampled once a second while it drains
--rss-messages.

A private Mosquitto is started with deploy/mosquitto.conf (the machine's own keeps Debian's
in-flight limit of 20). DATABASE_URL (or --database-url) picks the database (a PostgreSQL one is
created if missing, then emptied); default a temporary SQLite file. Every 4th message of a
terminal changes its state (an event, and a machine-time record every second change); the
others repeat it, as a terminal's heartbeat does. Stored = the sum of the stored `seq` of all
terminals, which reaches its target exactly when every message is stored.
Exit code 0 unless the benchmark itself fails; goals are printed as GOAL MET / GOAL MISSED.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "0" * 32)

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.data import build_unit_tree, create_empty_database, insert_instruments, migrate, redact, resolve_url  # noqa: E402
from bench.mqtt_load import publish  # noqa: E402
from bench.report import RESULTS_DIR, ROOT, git_commit, percentile  # noqa: E402

RATIO_GOAL, RATE_GOAL = 0.5, 5000


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.iot_bridge", description=__doc__.split("\n\n")[0])
    p.add_argument("--terminals", type=int, default=2000)
    p.add_argument("--messages", type=int, default=200000, help="messages per throughput phase (default 200000)")
    p.add_argument("--rss-messages", type=int, default=1000000, help="messages of the memory phase (0: skip)")
    p.add_argument("--publishers", type=int, default=2, help="publisher processes (default 2)")
    p.add_argument("--live-rate", type=int, default=2000, help="msg/s of the latency phase (default 2000)")
    p.add_argument("--live-seconds", type=int, default=30, help="length of the latency phase (default 30)")
    p.add_argument("--database-url", default=None)
    p.add_argument("--out", default=str(RESULTS_DIR / "iot_bridge.json"))
    return p.parse_args(argv)


# -- the two consumers -------------------------------------------------------------------------
def _v5_session_client(port, client_id, on_message=None, expiry=3600):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_message = on_message

    def on_connect(c, _u, _f, _rc, _p):
        c.subscribe("instruments/+/status", qos=1)
        connected.set()

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    connected.wait(10)
    return client, connected


def discard_drain(port, tids, per_terminal, publishers):
    """Baseline: a subscriber that receives (QoS 1, acks as it goes) and discards a backlog."""
    total = len(tids) * per_terminal
    got = [0]
    done = threading.Event()

    def on_message(_c, _u, _m):
        got[0] += 1
        if got[0] >= total:
            done.set()

    client, _ = _v5_session_client(port, "bench-discard")  # the session that will queue the backlog
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    publish(port, tids, per_terminal, 1, publishers)
    started, cpu_before = time.perf_counter(), cpu_seconds(os.getpid())
    client, connected = _v5_session_client(port, "bench-discard", on_message, expiry=0)  # gone when it leaves
    done.wait(3600)
    seconds, cpu = time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu_before
    client.disconnect()
    client.loop_stop()
    return total / seconds, seconds, cpu


def cpu_seconds(pid):
    """User + system CPU time of a process and of its children (the bridge's storer): (own, children)."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(p):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    return np.array([of(pid), sum(of(c) for c in children)])


def rss_kb(pid):
    """Resident memory of a process and its children (the bridge: receiver + storer), in KB."""
    def of(p):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    return of(pid) + sum(of(c) for c in children)


class BridgeProcess:
    """`python -m iot_bridge` as a subprocess, its log in a file (to see when it is connected)."""

    def __init__(self, port, url):
        self.log = Path(tempfile.mkstemp(prefix="bench-bridge-", suffix=".log")[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iot_bridge", "--mqtt-url", f"mqtt://127.0.0.1:{port}", "--database-url", url,
             "--client-id", "bench-bridge", "--log-level", "INFO"],
            cwd=ROOT, stderr=open(self.log, "w"))
        deadline = time.monotonic() + 60
        while '"connected"' not in self.log.read_text():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("bridge did not connect: " + self.log.read_text()[-2000:])
            time.sleep(0.02)

    def stop(self):
        self.process.terminate()
        self.process.wait(120)
        keep = os.environ.get("BENCH_BRIDGE_LOG")
        if keep:
            with open(keep, "a") as out:
                out.write(self.log.read_text())
        self.log.unlink()


def stored_seq_sum(conn):
    value = conn.execute(sa.text("SELECT coalesce(sum(seq), 0) FROM device_status WHERE terminal_id LIKE 'bench-t%'")).scalar()
    conn.rollback()
    return int(value)


def wait_until_stored(engine, target_sum, started, timeout, on_tick=None):
    with engine.connect() as conn:
        while True:
            stored = stored_seq_sum(conn)
            elapsed = time.perf_counter() - started
            if on_tick:
                on_tick(elapsed, stored)
            if stored >= target_sum:
                return elapsed
            if elapsed > timeout:
                raise RuntimeError(f"bridge timed out: stored seq sum {stored} of {target_sum}")
            time.sleep(0.05)


def bridge_drain(port, url, tids, per_terminal, first_seq, publishers, sample_rss=False, timeout=3600):
    """The bridge drains a backlog published while it was away; returns (rate, seconds, RSS samples)."""
    engine = sa.create_engine(url)
    BridgeProcess(port, url).stop()  # its persistent session now queues what is published
    publish(port, tids, per_terminal, first_seq, publishers)
    target_sum = (first_seq + per_terminal - 1) * len(tids)
    rss, next_sample = [], [0.0]
    with engine.connect() as conn:
        before = stored_seq_sum(conn)
    bridge = BridgeProcess(port, url)
    started = time.perf_counter()  # from the bridge's connection: its start-up is not the drain
    cpu_before = cpu_seconds(bridge.process.pid)
    if os.environ.get("BENCH_PROFILE"):  # py-spy's collapsed stacks of the bridge while it drains
        subprocess.Popen(["py-spy", "record", "--subprocesses", "--pid", str(bridge.process.pid), "-r", "250", "-f", "raw",
                          "-o", os.environ["BENCH_PROFILE"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sample(elapsed, stored):
        if sample_rss and elapsed >= next_sample[0]:
            # progress of this drain: the share of its messages stored so far
            done = (stored - before) / (target_sum - before)
            rss.append((round(elapsed, 1), round(done, 3), rss_kb(bridge.process.pid)))
            next_sample[0] = elapsed + 1.0

    try:
        seconds = wait_until_stored(engine, target_sum, started, timeout, sample)
        cpu = cpu_seconds(bridge.process.pid) - cpu_before
    finally:
        bridge.stop()
        engine.dispose()
    return len(tids) * per_terminal / seconds, seconds, rss, cpu


def bridge_live(port, url, tids, rate, seconds, first_seq, publishers):
    """The bridge running while terminals publish at `rate` msg/s; a probe terminal publishes
    every 50 ms and the time from its publish to its commit is each latency sample."""
    engine = sa.create_engine(url)
    bridge = BridgeProcess(port, url)
    per_terminal = max(1, rate * seconds // len(tids))
    published, observed = {}, {}
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
                for s in range(max(observed, default=0) + 1, (seq or 0) + 1):
                    observed[s] = now
                time.sleep(0.005)

    threads = [threading.Thread(target=probe_loop), threading.Thread(target=watch_loop)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    try:
        procs = publish(port, tids, per_terminal, first_seq, publishers, rate=rate, wait=False)
        wait_until_stored(engine, (first_seq + per_terminal - 1) * len(tids), started, seconds * 10 + 600)
        elapsed = time.perf_counter() - started
        for p in procs:
            p.join()
    finally:
        stop.set()
        for t in threads:
            t.join()
        bridge.stop()
        engine.dispose()
    latencies = [(observed[s] - published[s]) * 1000 for s in published if s in observed]
    return per_terminal * len(tids) / elapsed, per_terminal, latencies


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
        print(f"database {redact(url)}; {args.terminals} terminals, {per_terminal * args.terminals:,} messages per drain")
        total = per_terminal * args.terminals
        base_rate, base_s, base_cpu = discard_drain(broker.port, tids, per_terminal, args.publishers)
        print(f"discard subscriber drain: {base_rate:,.0f} msg/s ({base_s:.1f} s; "
              f"CPU {base_cpu[0] / total * 1e6:.0f} µs/msg)")
        rate, secs, _, cpu = bridge_drain(broker.port, url, tids, per_terminal, 1, args.publishers)
        ratio = rate / base_rate
        print(f"bridge drain (stored):    {rate:,.0f} msg/s ({secs:.1f} s; CPU receiver {cpu[0] / total * 1e6:.0f} "
              f"+ storer {cpu[1] / total * 1e6:.0f} µs/msg on {os.cpu_count()} cores); ratio {ratio:.2f}")
        seq = per_terminal + 1
        live_rate, live_per, lat = bridge_live(broker.port, url, tids, args.live_rate, args.live_seconds, seq, args.publishers)
        seq += live_per
        p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
        print(f"live at {args.live_rate:,} msg/s offered ({live_rate:,.0f} stored/s overall): end-to-end latency "
              f"(probe, publish -> committed) p50 {p50:.0f} ms, p99 {p99:.0f} ms, n={len(lat)}")
        rss = []
        if args.rss_messages:
            rss_per = max(1, args.rss_messages // args.terminals)
            _r, rss_secs, rss, _cpu = bridge_drain(broker.port, url, tids, rss_per, seq, args.publishers, sample_rss=True)
            early = next((kb for _t, done, kb in rss if done >= 0.1), rss[-1][2]) if rss else 0
            peak = max(kb for *_x, kb in rss) if rss else 0
            print(f"memory over {rss_per * args.terminals:,} messages ({rss_secs:.0f} s, {_r:,.0f} msg/s): "
                  f"RSS (receiver + storer) after 10 % "
                  f"{early / 1024:.0f} MB, peak {peak / 1024:.0f} MB, end {rss[-1][2] / 1024:.0f} MB")
        print(f"{'GOAL MET   ' if ratio >= RATIO_GOAL else 'GOAL MISSED'}  stored / discard >= {RATIO_GOAL}: {ratio:.2f}")
        print(f"{'GOAL MET   ' if rate >= RATE_GOAL else 'GOAL MISSED'}  stored >= {RATE_GOAL} msg/s: {rate:,.0f}")
        if rss:
            flat = peak <= early * 1.2
            print(f"{'GOAL MET   ' if flat else 'GOAL MISSED'}  RSS flat (peak <= 1.2 x after 10 %): {peak / early:.2f}")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        Path(args.out).with_suffix(f".{dialect}.json").write_text(json.dumps({
            "commit": git_commit(), "dialect": dialect, "terminals": args.terminals, "messages": per_terminal * args.terminals,
            "discard_rate": base_rate, "stored_rate": rate, "ratio": ratio,
            "live": {"offered_rate": args.live_rate, "stored_rate": live_rate,
                     "latency_ms": {"p50": p50, "p99": p99, "n": len(lat)}},
            "rss_samples": rss}, indent=1))
    finally:
        broker.stop()
        shutil.rmtree(broker_dir, ignore_errors=True)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
