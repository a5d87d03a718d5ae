"""The bridge loop: MQTT in (paho-mqtt 2, QoS 1, persistent session, manual acks), batches into
the database through the storer process (storer.py), acknowledgements only after the commit.

Two processes. This one receives: a single thread drives paho's network loop itself (select
over the broker's socket and the storer's pipe, paho's loop_read/loop_write/loop_misc), collects
a batch of up to --batch-size messages or whatever arrived within --max-latency-ms of the first,
hands it to the storer, and acknowledges every message of a batch once the storer reports it
committed. One thread, because paho's own network thread and a second Python thread take turns
on the interpreter lock at a cost of about half the receiving time. The storer decodes and
stores each batch in one transaction. Up to two batches are with the storer at a time, so
receiving the next batch overlaps storing the last one; the storer works through them in
order, so a terminal's messages are applied in arrival order.

The power interlock's commands go the other way: every --outbox-interval, while connected, the
receiver asks the storer for the commands due (the storer marks them sent in the database) and
publishes them at QoS 1, not retained. A command lost on the way is not assumed done: the plug's own
status report confirms it, and the storer hands out an unconfirmed one again after the retry delay.

A crash anywhere before the commit leaves the messages unacknowledged in the broker's session,
which redelivers them; storing is idempotent, so a crash after the commit but before the acks
changes nothing either. A database error keeps the batch in the storer, which retries it with
capped back-off; the broker stops sending once Receive Maximum messages are unacknowledged, so
memory stays flat. A lost broker connection is re-established with capped back-off; messages
of the lost connection are not acknowledged on the new one (the broker sends them again).
"""
from __future__ import annotations

import logging
import multiprocessing
import random
import select
import signal
import time
from collections import Counter, deque

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import decoders, settings, storer
from .logs import emit as _log, setup_logging

BATCHES_WITH_STORER = 2  # one being stored, the next one waiting: receiving overlaps storing
MISC_EVERY = 1.0  # s between paho's housekeeping calls (keepalive pings, timeouts)


class StorerGone(Exception):
    """The storer process died; its unacknowledged batches will be redelivered on restart."""


class Bridge:
    def __init__(self, args):
        self.args = args
        self.inbox: deque = deque()  # (message, arrival time, connection number)
        self.stopping = False
        self.connection = 0  # counts successful connections; acks go only to the current one
        self.next_attempt = 0.0  # monotonic time of the next connection attempt (0: connected or now)
        self.backoff = 1.0
        self.counters = Counter()
        self.report_asked = False  # SIGUSR1: log where the bridge stands, at the next turn
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
        client.max_inflight_messages_set(self.args.receive_maximum)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def topics(self):
        group = self.args.share_group
        return [f"$share/{group}/{t}" if group else t for t in decoders.subscriptions(self.args.rpc_source)]

    def _on_connect(self, client, _userdata, flags, reason_code, _properties):
        if reason_code.is_failure:
            _log(logging.WARNING, "connect refused", reason=str(reason_code))
            return
        # subscribing again on a resumed session is harmless and covers a session the broker lost
        if self.args.protocol == "5":
            client.subscribe([(t, mqtt.SubscribeOptions(qos=1)) for t in self.topics()])
        else:
            client.subscribe([(t, 1) for t in self.topics()])
        self.connection += 1
        self.backoff = 1.0
        _log(logging.INFO, "connected", broker=f"{self.args.broker.host}:{self.args.broker.port}",
             protocol=self.args.protocol, session_present=bool(flags.session_present), topics=self.topics())

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        if not self.stopping:
            self._schedule_reconnect(f"disconnected: {reason_code}")

    def _schedule_reconnect(self, reason):
        delay = self.backoff * (0.8 + 0.4 * random.random())
        self.next_attempt = time.monotonic() + delay
        self.backoff = min(max(1.0, self.args.max_backoff), self.backoff * 2)
        _log(logging.WARNING, "broker unavailable; reconnecting", reason=reason[:200], retry_in_s=round(delay, 1))

    def _on_message(self, _client, _userdata, message):
        if not self.stopping:  # after SIGTERM nothing new: it stays unacknowledged in the session
            # arrival as a Unix time (the storer makes it a datetime)
            self.inbox.append((message, time.time(), self.connection))
            self.counters["received"] += 1

    def connect(self):
        """Remember where to connect; the loop connects (and reconnects) itself."""
        if self.args.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.args.session_expiry
            props.ReceiveMaximum = min(self.args.receive_maximum, 65535)
            self.client.connect_async(self.args.broker.host, self.args.broker.port, keepalive=30,
                                      clean_start=False, properties=props)
        else:
            self.client.connect_async(self.args.broker.host, self.args.broker.port, keepalive=30)

    def _try_connect(self):
        if time.monotonic() < self.next_attempt:
            return
        try:
            self.client.reconnect()  # TCP connect and CONNECT; CONNACK arrives through loop_read
        except OSError as exc:
            self._schedule_reconnect(str(exc))

    def network(self, timeout):
        """One turn of the network loop: wait (at most `timeout`) for the broker's socket or the
        storer's pipe, then let paho read, write and keep the connection alive. True when the
        storer has an answer."""
        sock = self.client.socket()
        if sock is None and not self.stopping:
            self._try_connect()
            sock = self.client.socket()
            if sock is None:
                timeout = min(timeout, max(0.0, self.next_attempt - time.monotonic()))
        readers = [self.pipe] + ([sock] if sock is not None else [])
        writers = [sock] if sock is not None and self.client.want_write() else []
        readable, writable, _ = select.select(readers, writers, [], timeout)
        if sock is not None:
            for ready, step in ((sock in readable, self.client.loop_read), (sock in writable, self.client.loop_write)):
                if ready and self.client.socket() is not None:
                    step()  # a lost connection calls _on_disconnect, which schedules the reconnect
            if time.monotonic() - self.last_misc >= MISC_EVERY and self.client.socket() is not None:
                self.last_misc = time.monotonic()
                if self.client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS and self.client.socket() is None \
                        and self.next_attempt <= time.monotonic() and not self.stopping:
                    self._schedule_reconnect("keepalive timed out")
        return self.pipe in readable

    # -- batches ------------------------------------------------------------------------------
    def batch_due(self):
        """A full batch, or the first message waited max-latency, or we are stopping."""
        if not self.inbox:
            return False
        return (len(self.inbox) >= self.args.batch_size or self.stopping
                or time.time() - self.inbox[0][1] >= self.args.max_latency_ms / 1000)

    def take_batch(self):
        size = min(len(self.inbox), self.args.batch_size)
        return [self.inbox.popleft() for _ in range(size)]

    # -- the storer ----------------------------------------------------------------------------
    def start_storer(self):
        """Spawned before paho's thread starts; answers "ready" once it can store."""
        context = multiprocessing.get_context("spawn")
        self.pipe, child_end = context.Pipe()
        self.storer = context.Process(
            target=storer.serve, name="iot-bridge-storer", daemon=True,
            args=(child_end, self.args.database_url, self.args.threshold_w, self.args.max_backoff, self.args.log_level,
                  self.args.command_retry_s, self.args.command_attempts, self.args.rpc_source))
        self.storer.start()
        child_end.close()
        if self._receive() != "ready":
            raise StorerGone

    def _receive(self):
        try:
            return self.pipe.recv()
        except (EOFError, OSError):
            raise StorerGone from None

    def _send(self, request):
        try:
            self.pipe.send(request)
        except OSError:
            raise StorerGone from None

    def hand_over(self, batch):
        self._send(("store", [(m.topic, m.payload, received_at) for m, received_at, _connection in batch]))

    def ask_outbox(self):
        self._send(("outbox", None))

    def finish(self, kind, batch):
        """The storer answered its oldest request: a committed batch is counted and acknowledged; the
        interlock's due commands are published."""
        answer_kind, answer = self._receive()
        assert answer_kind == ("stored" if kind == "store" else "outbox"), (kind, answer_kind)
        if kind == "store":
            self.counters.update(answer)
            self.acknowledge(batch)
        else:
            self.publish_commands(answer)

    def publish_commands(self, publications):
        """QoS 1, not retained; whether the plug obeyed, its own status report tells (the storer)."""
        for command_id, topic, payload, attempt in publications:
            try:
                self.client.publish(topic, payload, qos=1, retain=False)
            except ValueError as exc:  # paho refuses the topic: the command stays unconfirmed, never assumed
                _log(logging.WARNING, "command cannot be published", command_id=command_id, topic=topic[:200],
                     error=str(exc)[:200])
                continue
            self.counters["commands_published"] += 1
            _log(logging.INFO, "command published", command_id=command_id, topic=topic, attempt=attempt)

    def acknowledge(self, batch):
        """PUBACK each message of a committed batch, if it came over the current connection
        (the broker sends the others again; storing them again changes nothing)."""
        for message, _received, connection in batch:
            if message.qos > 0 and connection == self.connection and self.client.socket() is not None:
                self.client.ack(message.mid, message.qos)

    def run(self):
        self.start_storer()
        self.connect()
        self.last_misc = time.monotonic()
        with_storer = deque()  # the storer's requests in order: ("store", batch) or ("outbox", None)
        last_report = last_outbox = time.monotonic()
        try:
            while True:
                busy = bool(self.inbox) or bool(with_storer)
                if self.network(0.005 if busy else 0.2):
                    self.finish(*with_storer.popleft())
                batches = sum(kind == "store" for kind, _batch in with_storer)
                if batches < BATCHES_WITH_STORER and self.batch_due():
                    batch = self.take_batch()
                    self.hand_over(batch)
                    with_storer.append(("store", batch))
                if (not self.stopping and self.client.is_connected() and len(with_storer) <= batches
                        and time.monotonic() - last_outbox >= self.args.outbox_interval):
                    self.ask_outbox()
                    with_storer.append(("outbox", None))
                    last_outbox = time.monotonic()
                if self.stopping and not with_storer and not self.inbox:
                    break
                if time.monotonic() - last_report > 60 or self.report_asked:
                    _log(logging.INFO, "progress", waiting=len(self.inbox),
                         with_storer=sum(len(b) for kind, b in with_storer if kind == "store"), **dict(self.counters))
                    last_report, self.report_asked = time.monotonic(), False
        except StorerGone:
            _log(logging.ERROR, "storer process died; unacknowledged messages stay with the broker",
                 exit_code=self.storer.exitcode, **dict(self.counters))
            self.client.disconnect()
            return 1
        self.pipe.send(None)
        self.storer.join(30)
        self.disconnect()
        _log(logging.INFO, "stopped", **dict(self.counters))
        return 0

    def disconnect(self):
        """DISCONNECT after the last acknowledgements have gone out."""
        if self.client.socket() is None:
            return
        self.client.disconnect()
        deadline = time.monotonic() + 5
        while self.client.socket() is not None and self.client.want_write() and time.monotonic() < deadline:
            self.client.loop_write()
            time.sleep(0.01)

    def ask_report(self, *_args):
        """SIGUSR1: log the counters and what is received but not yet committed."""
        self.report_asked = True

    def stop(self, *_args):
        """SIGTERM/SIGINT: finish and acknowledge what has arrived, then leave."""
        if not self.stopping:
            _log(logging.INFO, "stopping")
        self.stopping = True


def main(argv=None):
    args = settings.parse(argv)
    setup_logging(args.log_level)
    bridge = Bridge(args)
    signal.signal(signal.SIGTERM, bridge.stop)
    signal.signal(signal.SIGINT, bridge.stop)
    signal.signal(signal.SIGUSR1, bridge.ask_report)
    return bridge.run()
