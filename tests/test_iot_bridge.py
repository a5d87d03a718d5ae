"""The bridge process end to end against a real Mosquitto (issue 4): published then stored,
kill -9 before the commit, 10,000 messages while the bridge is stopped, a broker restart,
bad payloads, a locked database, two instances on a shared subscription."""
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from app.extensions import db
from app.models import DeviceEvent, DeviceStatus, Instrument, IotRejection, IotTerminal, UsageRecord

from . import factories as f
from .mqtt_broker import ROOT, PrivateMosquitto, TcpProxy

# the bridge and the simulator are other processes, on the machine's clock
pytestmark = [pytest.mark.skipif(not PrivateMosquitto.available(), reason="needs the mosquitto binary"),
              pytest.mark.real_clock]
_n = itertools.count(1)


@pytest.fixture
def broker(tmp_path):
    b = PrivateMosquitto(tmp_path)
    b.start()
    yield b
    b.stop()


_live = []  # processes and clients to close whatever a test does


@pytest.fixture(autouse=True)
def _cleanup():
    yield
    while _live:
        _live.pop().close()


class BridgeProcess:
    """`python -m iot_bridge` as a real process; its JSON log lines are collected."""

    def __init__(self, broker_url, database_url, client_id=None, *extra):
        self.args = [sys.executable, "-m", "iot_bridge", "--mqtt-url", broker_url, "--database-url", database_url,
                     "--client-id", client_id or f"test-bridge-{uuid.uuid4().hex[:8]}", "--max-backoff", "2", *extra]
        self.lines = []
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.args, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        _live.append(self)
        self.wait_for("connected")
        return self

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.reader.join(10)
        self.process.stderr.close()

    def _read(self):
        for line in self.process.stderr:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.lines.append({"event": line.strip()})

    def wait_for(self, event, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(entry.get("event") == event for entry in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"bridge never logged {event!r}: {self.lines[-5:]}")

    def progress(self, check, timeout=20):
        """Ask the bridge where it stands (SIGUSR1) until its "progress" line satisfies `check`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = len(self.lines)
            self.process.send_signal(signal.SIGUSR1)
            while len(self.lines) == seen and time.monotonic() < deadline and self.process.poll() is None:
                time.sleep(0.02)
            report = next((e for e in reversed(self.lines) if e.get("event") == "progress"), None)
            if report is not None and check(report):
                return report
        raise AssertionError(f"bridge progress never matched: {self.lines[-3:]}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.reader.join(10)

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(30) == 0
        self.reader.join(10)
        self.wait_for("stopped", timeout=1)
        return next(e for e in reversed(self.lines) if e.get("event") == "stopped")


class Publisher:
    def __init__(self, url):
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.connect(host, int(port))
        self.client.loop_start()
        _live.append(self)

    def publish(self, topic, payload, qos):
        return self.client.publish(topic, payload, qos=qos)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def publisher(url):
    return Publisher(url)


def publish(client, messages):
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)


def status_message(tid, state, minute, seq):
    ts = (datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc) + timedelta(minutes=minute)).isoformat()
    return f"instruments/{tid}/status", json.dumps({"state": state, "ts": ts, "seq": seq})


def alternating(tids, per_terminal):
    """Every message a transition: running/idle in turn, one minute apart."""
    return [status_message(tid, "running" if i % 2 == 0 else "idle", i, i)
            for i in range(per_terminal) for tid in tids]


def wait_until(check, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see other processes' commits
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def count(model, *where):
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()


@pytest.fixture
def terminals(app, uni):
    """Make terminal ids bound to fresh instruments (committed: the bridge is another process);
    everything they produced is deleted afterwards, so other tests' list pages stay as they were."""
    made = []

    def make(n):
        with app.app_context():
            lab = db.session.get(Instrument, uni.inst_l11).unit
            prefix = f"e2e{next(_n)}-{uuid.uuid4().hex[:6]}"
            tids = [f"{prefix}-{i:03d}" for i in range(n)]
            for tid in tids:
                f.instrument(lab, name="端到端测试仪器", iot_terminal_id=tid)
                db.session.add(IotTerminal(terminal_id=tid, adapter="native"))
            db.session.commit()
            made.extend(tids)
            return tids

    yield make
    with app.app_context():
        instruments = sa.select(Instrument.id).where(Instrument.iot_terminal_id.in_(made))
        for statement in (
            sa.delete(UsageRecord).where(UsageRecord.instrument_id.in_(instruments)),
            sa.delete(DeviceEvent).where(DeviceEvent.terminal_id.in_(made)),
            sa.delete(DeviceStatus).where(DeviceStatus.terminal_id.in_(made)),
            sa.delete(IotRejection).where(IotRejection.terminal_id.in_(made)),
            sa.delete(IotTerminal).where(IotTerminal.terminal_id.in_(made)),
            sa.delete(Instrument).where(Instrument.iot_terminal_id.in_(made)),
        ):
            db.session.execute(statement)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


def events_of(tids):
    return count(DeviceEvent, DeviceEvent.terminal_id.in_(tids))


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])  # 3.1.1: make run's embedded broker speaks only that
def test_published_then_stored_with_machine_time(ctx, broker, database_url, terminals, protocol):
    tid, = terminals(1)
    bridge = BridgeProcess(broker.url, database_url, None, "--protocol", protocol).start()
    pub = publisher(broker.url)
    publish(pub, [status_message(tid, "idle", 0, 1), status_message(tid, "running", 5, 2), status_message(tid, "idle", 95, 3)])
    assert wait_until(lambda: count(UsageRecord, UsageRecord.source == "iot", UsageRecord.instrument_id.in_(
        sa.select(Instrument.id).where(Instrument.iot_terminal_id == tid))) == 1)
    status = db.session.get(DeviceStatus, tid)
    assert (status.state, status.seq) == ("idle", 3)
    assert events_of([tid]) == 3
    stats = bridge.terminate()
    assert stats["stored"] == 3 and stats["usage_records"] == 1


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_kill_9_before_the_commit_loses_nothing_and_doubles_nothing(ctx, broker, database_url, terminals, protocol):
    tids = terminals(20)
    client_id = f"test-bridge-{uuid.uuid4().hex[:8]}"
    # a long batch window: the messages are received and held, uncommitted, when the bridge dies
    slow = BridgeProcess(broker.url, database_url, client_id, "--protocol", protocol,
                         "--max-latency-ms", "60000", "--batch-size", "100000").start()
    messages = alternating(tids, 10)
    publish(publisher(broker.url), messages)
    # the bridge says it holds all 200 in its batch, and the database shows none of them
    held = slow.progress(lambda report: report.get("waiting") == len(messages))
    assert held.get("stored", 0) == 0
    assert events_of(tids) == 0  # received, not committed
    slow.kill()
    bridge = BridgeProcess(broker.url, database_url, client_id, "--protocol", protocol).start()  # same session
    assert wait_until(lambda: events_of(tids) >= len(messages))
    stats = bridge.terminate()  # whatever it still held is committed now: nothing more can arrive
    assert events_of(tids) == len(messages) == 200
    assert stats["stored"] == 200
    assert count(UsageRecord, UsageRecord.instrument_id.in_(sa.select(Instrument.id).where(Instrument.iot_terminal_id.in_(tids)))) == 100


def test_ten_thousand_messages_while_stopped_are_stored_exactly_once(ctx, broker, database_url, terminals):
    tids = terminals(100)
    client_id = f"test-bridge-{uuid.uuid4().hex[:8]}"
    BridgeProcess(broker.url, database_url, client_id).start().terminate()  # the session exists
    messages = alternating(tids, 100)
    publish(publisher(broker.url), messages)
    bridge = BridgeProcess(broker.url, database_url, client_id).start()
    assert wait_until(lambda: events_of(tids) >= 10000, timeout=120)
    stats = bridge.terminate()
    assert events_of(tids) == 10000
    assert stats["stored"] == 10000 and stats["duplicates"] == 0
    assert {s.seq for s in db.session.execute(sa.select(DeviceStatus).where(DeviceStatus.terminal_id.in_(tids))).scalars()} == {99}


def test_messages_survive_a_broker_restart_and_the_bridge_reconnects(ctx, broker, database_url, terminals):
    tids = terminals(5)
    client_id = f"test-bridge-{uuid.uuid4().hex[:8]}"
    BridgeProcess(broker.url, database_url, client_id).start().terminate()
    first = alternating(tids, 4)
    publish(publisher(broker.url), first)
    broker.stop()  # saves its sessions and their queued messages
    broker.start()
    bridge = BridgeProcess(broker.url, database_url, client_id).start()
    assert wait_until(lambda: events_of(tids) == 20)
    broker.stop()  # now with the bridge running: it reconnects by itself
    broker.start()
    bridge.wait_for("connected")
    later = [status_message(tid, "running", 10, 10) for tid in tids]
    publish(publisher(broker.url), later)
    assert wait_until(lambda: events_of(tids) == 25)
    bridge.terminate()


def test_bad_payloads_are_counted_and_the_bridge_keeps_running(ctx, broker, database_url, terminals):
    tid, = terminals(1)
    bridge = BridgeProcess(broker.url, database_url).start()
    pub = publisher(broker.url)
    publish(pub, [
        (f"instruments/{tid}/status", "not json"),
        (f"instruments/{tid}/status", json.dumps({"state": "melting"})),
        (f"instruments/{tid}/status", json.dumps({"state": "idle", "ts": "1970-01-01T00:00:00Z"})),
        (f"instruments/{tid}/status", json.dumps({"state": 1})),
        (f"instruments/{tid}/status", json.dumps({"state": "idle", "pad": "x" * 5000})),
        (f"instruments/{tid}/status", json.dumps({"state": "idle", "ts": "2099-01-01T00:00:00Z"})),
    ])
    publish(pub, [status_message(tid, "running", 0, 1)])
    assert wait_until(lambda: db.session.get(DeviceStatus, tid) is not None)
    reasons = dict(db.session.execute(sa.select(IotRejection.reason, IotRejection.count)
                                      .where(IotRejection.terminal_id == tid)).all())
    assert reasons == {"not_json": 1, "unknown_state": 1, "bad_timestamp": 2, "wrong_type": 1, "oversized": 1}
    assert bridge.process.poll() is None
    refused = [e for e in bridge.lines if e.get("event") == "message refused"]
    assert len(refused) == 6 and all(e["terminal_id"] == tid for e in refused)
    bridge.terminate()


def test_a_locked_database_delays_but_loses_nothing(ctx, broker, database_url, terminals):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL's outage is the next test's")
    tids = terminals(3)
    bridge = BridgeProcess(broker.url, database_url).start()
    blocker = sa.create_engine(database_url).connect()
    blocker.exec_driver_sql("BEGIN EXCLUSIVE")  # every writer waits, then times out (busy_timeout 5 s)
    publish(publisher(broker.url), alternating(tids, 4))
    bridge.wait_for("database unavailable; batch kept for retry", timeout=30)
    assert bridge.process.poll() is None
    blocker.exec_driver_sql("ROLLBACK")
    blocker.close()
    assert wait_until(lambda: events_of(tids) == 12)
    bridge.terminate()


def test_a_database_outage_delays_but_loses_nothing(ctx, broker, database_url, terminals):
    """PostgreSQL unreachable for a while (the bridge's connection cut and refused), then back."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server; SQLite's lock is the previous test's")
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        tids = terminals(3)
        bridge = BridgeProcess(broker.url, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)).start()
        publish(publisher(broker.url), alternating(tids, 2))
        assert wait_until(lambda: events_of(tids) == 6)
        proxy.cut()
        publish(publisher(broker.url), [status_message(tid, "running", 10, 10) for tid in tids])
        bridge.wait_for("database unavailable; batch kept for retry", timeout=30)
        # it keeps retrying (a second refusal logged) and stays up, and nothing was written meanwhile
        deadline = time.monotonic() + 30
        while sum(e.get("event") == "database unavailable; batch kept for retry" for e in bridge.lines) < 2:
            assert time.monotonic() < deadline, bridge.lines[-3:]
            time.sleep(0.05)
        assert bridge.process.poll() is None and events_of(tids) == 6
        proxy.restore()
        assert wait_until(lambda: events_of(tids) == 9, timeout=30)
        bridge.terminate()
    finally:
        proxy.close()


def test_two_instances_on_a_shared_subscription_count_once(ctx, broker, database_url, terminals):
    tids = terminals(40)
    group = f"g{uuid.uuid4().hex[:6]}"
    one = BridgeProcess(broker.url, database_url, None, "--share-group", group).start()
    two = BridgeProcess(broker.url, database_url, None, "--share-group", group).start()
    # each terminal's messages an hour apart: no terminal's two messages race each other
    messages = [status_message(tid, "running" if i % 2 == 0 else "idle", 60 * i, i) for i in range(10) for tid in tids]
    publish(publisher(broker.url), messages)
    assert wait_until(lambda: events_of(tids) >= 400, timeout=60)
    a, b = one.terminate(), two.terminate()
    assert events_of(tids) == 400
    assert a.get("stored", 0) + b.get("stored", 0) + a.get("duplicates", 0) + b.get("duplicates", 0) == 400
    assert a.get("stored", 0) > 0 and b.get("stored", 0) > 0  # both did share the load


def test_simulator_days_reach_the_database(ctx, broker, database_url):
    prefix = f"sim-{uuid.uuid4().hex[:6]}-"
    bridge = BridgeProcess(broker.url, database_url).start()
    try:
        sim = subprocess.run([sys.executable, "-m", "iot_bridge.simulate", "--mqtt-url", broker.url, "--terminals", "5",
                              "--prefix", prefix, "--speed", "3600", "--heartbeat", "1", "--duration", "4", "--seed", "7"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert sim.returncode == 0, sim.stderr
        published = json.loads(sim.stderr.strip().splitlines()[-1])["published"]
        assert published >= 5 * 3  # a state and heartbeats per terminal
        tids = [f"{prefix}{i:04d}" for i in range(1, 6)]
        assert wait_until(lambda: count(DeviceStatus, DeviceStatus.terminal_id.in_(tids)) == 5)
        assert events_of(tids) >= 5
        stats = bridge.terminate()
        assert stats["stored"] + stats["duplicates"] == published and stats.get("refused", 0) == 0
    finally:
        db.session.rollback()
        for model in (DeviceEvent, DeviceStatus, IotTerminal):
            db.session.execute(sa.delete(model).where(model.terminal_id.like(f"{prefix}%")))
        db.session.commit()
