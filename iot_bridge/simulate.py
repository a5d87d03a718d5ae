"""Demo terminals: `python -m iot_bridge.simulate --terminals N` publishes lab days to MQTT.

Each terminal lives a compressed lab day: off at night, a warm-up (idle) in the morning, runs of
20 min–3 h with idle gaps, now and then a fault that is cleared later, and now and then a plug
that drops off the network (its last will, {"state": "offline"}) and comes back. `--speed`
compresses time (60: a simulated minute per real second); timestamps are real (the bridge
refuses the future), so a "day" passes in 24 real minutes at the default speed. Messages follow
SPEC §5 exactly: topic instruments/<id>/status, retained, QoS 1, with ts, power_w and seq; each
terminal repeats its state every --heartbeat seconds so that a quiet terminal is not taken for
an offline one. Terminal ids are term-0001… (the demo seed's) unless --prefix says otherwise.

The plugs obey the power interlock (SPEC §5 "MQTT commands"): a terminal switched off stays off,
reporting no power, until it is switched on again, and it confirms each command as its kind of plug
does — a native terminal with a status carrying the command's id, a Tasmota plug on stat/<t>/POWER,
a Shelly Gen2 plug with its RPC answer and its switch status. With --from-database each terminal
speaks as its adapter in the database says; otherwise --adapter says.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .settings import DEFAULT_MQTT_URL, parse_mqtt_url

BEIJING = timezone(timedelta(hours=8))  # Tasmota reports local time without a zone
POWER_W = {"running": (600, 1800), "idle": (15, 35), "fault": (0, 10), "off": (0, 0)}


COMMAND_TOPICS = ("instruments/+/command", "cmnd/+/POWER", "+/rpc")


class Terminal:
    """One instrument's compressed day as a small state machine; `due(now)` yields messages."""

    def __init__(self, terminal_id, rng, speed, heartbeat, adapter="native"):
        self.id = terminal_id
        self.adapter = adapter
        self.relay_on = True  # the plug's relay; the interlock switches it
        self.rng = rng
        self.speed = speed
        self.heartbeat = heartbeat
        self.seq = 0
        self.state = "off"
        self.next_change = 0.0
        self.last_sent = None
        self.day_minute = rng.uniform(6 * 60, 20 * 60)  # where in the day this terminal starts

    def _minutes(self, low, high):
        """A duration of low..high simulated minutes, in real seconds."""
        return self.rng.uniform(low, high) * 60 / self.speed

    def _next_state(self):
        r = self.rng.random()
        hour = (self.day_minute / 60) % 24
        if self.state == "offline":
            return "idle", self._minutes(5, 30)
        if r < 0.01:  # the odd plug that drops off the network
            return "offline", self._minutes(10, 40)
        if self.state == "fault":
            return "idle", self._minutes(10, 60)
        if hour < 7 or hour >= 22:
            return "off", self._minutes(30, 120)
        if self.state == "off":
            return "idle", self._minutes(10, 30)  # warm-up
        if self.state == "running":
            if r < 0.03:
                return "fault", self._minutes(20, 90)
            return "idle", self._minutes(5, 60)
        return "running", self._minutes(20, 180)

    def message(self, now, command_id=None):
        self.seq += 1
        low, high = POWER_W.get(self.state, (0, 0))
        power = round(self.rng.uniform(low, high), 1)
        self.last_sent = now
        if self.adapter == "tasmota":
            if self.state == "offline":
                return f"tele/{self.id}/LWT", "Offline"
            local = datetime.fromtimestamp(now, timezone.utc).astimezone(BEIJING).replace(tzinfo=None)
            return f"tele/{self.id}/SENSOR", json.dumps({"Time": local.isoformat(timespec="seconds"),
                                                         "ENERGY": {"Power": power}})
        if self.adapter == "shelly":
            return f"{self.id}/status/switch:0", json.dumps({"id": 0, "output": self.relay_on, "apower": power})
        body = {"state": self.state, "ts": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
                "seq": self.seq}
        if self.state != "offline":
            body["power_w"] = power
        if command_id is not None:
            body["command_id"] = command_id
        return f"instruments/{self.id}/status", json.dumps(body)

    def obey(self, now, topic, payload):
        """A command for this plug: switch the relay, and answer as this kind of plug does."""
        if self.adapter == "tasmota" and topic == f"cmnd/{self.id}/POWER":
            on, answer_id, reply = payload.strip().upper() == "ON", None, None
        elif self.adapter == "shelly" and topic == f"{self.id}/rpc":
            call = json.loads(payload)
            if call.get("method") != "Switch.Set":
                return []
            on, answer_id, reply = bool(call.get("params", {}).get("on")), None, call
        elif self.adapter == "native" and topic == f"instruments/{self.id}/command":
            call = json.loads(payload)
            on, answer_id, reply = call.get("power") == "on", call.get("id"), None
        else:
            return []
        was_on, self.relay_on = self.relay_on, on
        self.state = "idle" if on else "off"
        self.next_change = now + (self._minutes(10, 30) if on else float("inf"))  # off stays off
        out = []
        if self.adapter == "tasmota":
            out.append((f"stat/{self.id}/POWER", "ON" if on else "OFF"))
            out.append((f"stat/{self.id}/RESULT", json.dumps({"POWER": "ON" if on else "OFF"})))
        if reply is not None:
            out.append((f"{reply.get('src')}/rpc", json.dumps({"id": reply.get("id"), "src": self.id,
                                                               "dst": reply.get("src"), "result": {"was_on": was_on}})))
        out.append(self.message(now, answer_id))
        return out

    def due(self, now):
        """The messages this terminal sends at `now` (a state change, or a heartbeat)."""
        if not self.relay_on:  # switched off: no state of its own until switched on
            if self.last_sent is None or now - self.last_sent >= self.heartbeat:
                return [self.message(now)]
            return []
        if now >= self.next_change:
            previous = self.next_change
            self.state, seconds = self._next_state()
            self.day_minute += (now - previous) * self.speed / 60 if previous else 0
            self.next_change = now + seconds
            return [self.message(now)]
        if self.state != "offline" and (self.last_sent is None or now - self.last_sent >= self.heartbeat):
            return [self.message(now)]
        return []


def _database_terminals():
    """[(terminal id, adapter)] of every terminal an instrument names."""
    import sqlalchemy as sa

    from .settings import default_database_url

    engine = sa.create_engine(default_database_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT i.iot_terminal_id, coalesce(t.adapter, 'native') FROM instrument i "
            "LEFT JOIN iot_terminal t ON t.terminal_id = i.iot_terminal_id "
            "WHERE i.iot_terminal_id IS NOT NULL ORDER BY i.iot_terminal_id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _done(info):
    try:
        return info.is_published()
    except (RuntimeError, ValueError):  # lost with a dropped connection; the next state follows
        return True


def build_parser():
    p = argparse.ArgumentParser(prog="python -m iot_bridge.simulate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mqtt-url", default=os.environ.get("MQTT_URL") or DEFAULT_MQTT_URL,
                   help="MQTT 代理地址 / broker URL (default: $MQTT_URL, else %(default)s)")
    p.add_argument("--terminals", type=int, default=20, help="模拟的终端数 / terminals to simulate (default: %(default)s)")
    p.add_argument("--prefix", default="term-", help="终端编号前缀 / terminal id prefix (default: %(default)s)")
    p.add_argument("--from-database", action="store_true",
                   help="模拟数据库里登记在仪器上的全部终端（取 DATABASE_URL），忽略 --terminals 和 --prefix / "
                        "simulate every terminal named by an instrument in the database ($DATABASE_URL), "
                        "instead of --terminals and --prefix")
    p.add_argument("--only", default="",
                   help="只模拟这些终端（逗号分隔，配合 --from-database）/ simulate only these terminal ids "
                        "(comma-separated, with --from-database)")
    p.add_argument("--adapter", default="native", choices=("native", "tasmota", "shelly"),
                   help="终端类型（未用 --from-database 时）/ how the terminals speak without --from-database "
                        "(default: %(default)s)")
    p.add_argument("--speed", type=float, default=60.0,
                   help="时间压缩倍数 / time compression: simulated seconds per real second (default: %(default)s)")
    p.add_argument("--heartbeat", type=float, default=60.0,
                   help="状态重复上报的间隔秒数 / seconds between repeats of an unchanged state (default: %(default)s)")
    p.add_argument("--duration", type=float, default=0.0,
                   help="运行秒数，0 为一直运行 / seconds to run; 0 runs until stopped (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="随机种子 / random seed (default: random)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        broker = parse_mqtt_url(args.mqtt_url)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.terminals < 1 or args.speed <= 0 or args.heartbeat <= 0:
        print("终端数、倍数和间隔须为正数 / terminals, speed and heartbeat must be positive", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    known = (_database_terminals() if args.from_database
             else [(f"{args.prefix}{i:04d}", args.adapter) for i in range(1, args.terminals + 1)])
    if args.only:
        only = set(args.only.split(","))
        known = [(tid, adapter) for tid, adapter in known if tid in only]
    terminals = [Terminal(tid, random.Random(rng.random()), args.speed, args.heartbeat, adapter) for tid, adapter in known]
    by_id = {t.id: t for t in terminals}
    commands = collections.deque()  # from paho's thread to the loop below
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"simulator-{os.getpid()}")
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.reconnect_delay_set(1, 30)
    connected = threading.Event()

    def on_connect(*_args):
        client.subscribe([(topic, 1) for topic in COMMAND_TOPICS])
        connected.set()

    client.on_connect = on_connect
    client.on_message = lambda _c, _u, message: commands.append((message.topic, message.payload.decode("utf-8", "replace")))
    client.on_disconnect = lambda *_a: connected.clear()
    client.connect_async(broker.host, broker.port)
    client.loop_start()
    if not connected.wait(30):
        print(f"无法连接 MQTT 代理 / cannot reach the broker at {args.mqtt_url}", file=sys.stderr)
        client.loop_stop()
        return 2
    stop = []
    signal.signal(signal.SIGTERM, lambda *_a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_a: stop.append(1))
    started = time.time()
    sent, pending = 0, []
    while not stop and (not args.duration or time.time() - started < args.duration):
        now = time.time()
        if not connected.is_set():  # the broker is away: the day goes on, unpublished
            time.sleep(0.2)
            continue
        while commands:
            topic, payload = commands.popleft()
            parts = topic.split("/")
            terminal = by_id.get(parts[0] if parts[-1] == "rpc" else parts[1])
            try:
                answers = terminal.obey(now, topic, payload) if terminal is not None else []
            except (ValueError, AttributeError):  # not a command this plug understands
                answers = []
            for answer_topic, answer in answers:
                pending.append(client.publish(answer_topic, answer, qos=1))
                sent += 1
        for terminal in terminals:
            for topic, payload in terminal.due(now):
                # native terminals publish retained (SPEC §5); plugs' telemetry is not retained
                pending.append(client.publish(topic, payload, qos=1, retain=terminal.adapter == "native"))
                sent += 1
        pending = [info for info in pending if not _done(info)]
        time.sleep(0.2)
    for info in pending:  # let what is in flight reach the broker before leaving
        try:
            info.wait_for_publish(5)
        except (RuntimeError, ValueError):
            break
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"event": "stopped", "published": sent}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
