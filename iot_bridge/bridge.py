"""The bridge loop: MQTT in (paho-mqtt 2, QoS 1, persistent session, manual acks), batches into
the database through app/services/iot.py, acknowledgements only after the commit.

Threads: paho's network thread only queues messages; the main thread takes a batch (up to
--batch-size messages or --max-latency-ms after the first), decodes it, stores it in one
transaction, commits, and only then acknowledges every message of the batch. A crash
anywhere before the commit leaves the messages unacknowledged in the broker's session, which
redelivers them; storing is idempotent, so a crash after the commit but before the acks
changes nothing either. A database error keeps the batch and retries it with capped back-off;
the broker stops sending once Receive Maximum messages are unacknowledged, so memory stays flat.
"""
from __future__ import annotations

import json
import logging
import queue
import random
import signal
import sys
import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
import sqlalchemy as sa
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every table registered with the metadata)
from app.models.base import utcnow

from . import decoders

log = logging.getLogger("iot_bridge")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, event and its fields."""

    def format(self, record):
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname, "event": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _log(level, event, **fields):
    log.log(level, event, extra={"fields": fields})


def make_engine(url):
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        from app import _tune_sqlite

        _tune_sqlite(engine)
    return engine


class Bridge:
    def __init__(self, args, engine=None):
        self.args = args
        self.engine = engine or make_engine(args.database_url)
        self.inbox: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.counters = Counter()
        self.client = self._client()

    # -- MQTT ---------------------------------------------------------------------------------
    def _client(self):
        # MQTT 5 keeps the session by session expiry; 3.1.1 by clean_session=False
        v5 = self.args.protocol == "5"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.args.client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=True,
                             **({} if v5 else {"clean_session": False}))
        if self.args.broker.username:
            client.username_pw_set(self.args.broker.username, self.args.broker.password)
        client.reconnect_delay_set(min_delay=1, max_delay=max(1, int(self.args.max_backoff)))
        client.max_inflight_messages_set(self.args.receive_maximum)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def topics(self):
        group = self.args.share_group
        return [f"$share/{group}/{t}" if group else t for t in decoders.subscriptions()]

    def _on_connect(self, client, _userdata, flags, reason_code, _properties):
        if reason_code.is_failure:
            _log(logging.WARNING, "connect refused", reason=str(reason_code))
            return
        # subscribing again on a resumed session is harmless and covers a session the broker lost
        if self.args.protocol == "5":
            client.subscribe([(t, mqtt.SubscribeOptions(qos=1)) for t in self.topics()])
        else:
            client.subscribe([(t, 1) for t in self.topics()])
        self.connected.set()
        _log(logging.INFO, "connected", broker=f"{self.args.broker.host}:{self.args.broker.port}",
             protocol=self.args.protocol, session_present=bool(flags.session_present), topics=self.topics())

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self.connected.clear()
        if not self.stopping.is_set():
            _log(logging.WARNING, "disconnected; reconnecting", reason=str(reason_code))

    def _on_message(self, _client, _userdata, message):
        self.inbox.put((message, utcnow()))

    def connect(self):
        if self.args.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.args.session_expiry
            props.ReceiveMaximum = min(self.args.receive_maximum, 65535)
            self.client.connect_async(self.args.broker.host, self.args.broker.port, keepalive=30,
                                      clean_start=False, properties=props)
        else:
            self.client.connect_async(self.args.broker.host, self.args.broker.port, keepalive=30)
        self.client.loop_start()

    # -- batches ------------------------------------------------------------------------------
    def take_batch(self):
        """Up to batch_size messages; waits at most max_latency after the first one."""
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.args.max_latency_ms / 1000
        while len(batch) < self.args.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(0, remaining)) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def store(self, batch):
        """Decode and store one batch in one transaction; returns the service's result."""
        from app.services import iot

        readings, rejected = [], []
        for message, received_at in batch:
            try:
                readings.append(decoders.decode(message.topic, message.payload, received_at))
            except decoders.Rejected as exc:
                rejected.append(exc)
                _log(logging.WARNING, "message refused", reason=exc.reason, terminal_id=exc.terminal_id,
                     topic=message.topic[:200], detail=exc.detail)
        with Session(self.engine) as session, session.begin():
            result = iot.store_batch(session, readings, utcnow(), self.args.threshold_w)
            iot.record_rejections(session, rejected, utcnow())
        for tid in result.new_terminals:
            _log(logging.WARNING, "unknown terminal recorded for binding", terminal_id=tid)
        self.counters.update(stored=result.stored, duplicates=result.duplicates, refused=len(rejected),
                             events=result.events, usage_records=result.usage_records)
        for exc in rejected:
            self.counters[f"refused.{exc.reason}"] += 1
        return result

    def store_until_done(self, batch):
        """Retry a batch through database outages (capped back-off) until it is committed or we stop."""
        delay = 0.5
        while True:
            try:
                return self.store(batch)
            except sa.exc.DBAPIError as exc:  # outage, lock timeout, a race with another instance
                if self.stopping.is_set() and not self.connected.is_set():
                    raise
                _log(logging.WARNING, "database unavailable; batch kept for retry", messages=len(batch),
                     retry_in_s=round(delay, 1), error=str(exc.orig if exc.orig is not None else exc)[:200])
                time.sleep(delay)
                delay = min(self.args.max_backoff, delay * 2) * (0.8 + 0.4 * random.random())

    def acknowledge(self, batch):
        for message, _received in batch:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)

    def run(self):
        self.connect()
        last_report = time.monotonic()
        while True:
            batch = self.take_batch()
            if batch:
                self.store_until_done(batch)
                self.acknowledge(batch)
            elif self.stopping.is_set():
                break
            if time.monotonic() - last_report > 60:
                _log(logging.INFO, "progress", **dict(self.counters))
                last_report = time.monotonic()
        self.client.disconnect()
        self.client.loop_stop()
        _log(logging.INFO, "stopped", **dict(self.counters))

    def stop(self, *_args):
        """SIGTERM/SIGINT: finish and acknowledge what has arrived, then leave."""
        if not self.stopping.is_set():
            _log(logging.INFO, "stopping")
        self.stopping.set()
        # no new messages: what is not yet queued stays unacknowledged in the session
        self.client.on_message = None


def main(argv=None):
    from . import settings

    args = settings.parse(argv)
    setup_logging(args.log_level)
    bridge = Bridge(args)
    signal.signal(signal.SIGTERM, bridge.stop)
    signal.signal(signal.SIGINT, bridge.stop)
    bridge.run()
    return 0
