"""The storing side of the bridge, in a process of its own.

The receiver (bridge.py) hands it batches of raw messages over a pipe, in order; it decodes
them, stores each batch in one transaction through app/services/iot/status.py, commits, and answers
with the batch's counters. Only then does the receiver acknowledge the batch to the broker.
A process of its own because paho's network thread and the database work would otherwise take
turns on one interpreter lock: split, receiving and storing run on two cores.

It also keeps the power interlock's outbox: asked for it, it takes the commands due for publication
(app/services/iot/interlock.py marks them sent, in their own transaction) and answers them encoded for
each plug (commands.py); the receiver publishes them. The plugs' confirmations arrive as ordinary
messages and are applied with their batch.

It leaves when the pipe closes (the receiver stopped or died); a database error keeps the batch
and retries it with capped back-off, for as long as the receiver is alive.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections import Counter
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import commands, decoders
from .logs import emit, setup_logging


# The receiver imports this module too, to start the storing process; the application's models and
# services are imported in the storing process only (below), so the receiver stays a small process.


def make_engine(url):
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        from app.extensions import tune_sqlite

        tune_sqlite(engine)
    return engine


class Storer:
    def __init__(self, database_url, threshold_w, max_backoff, interlock=None, rpc_source=decoders.RPC_SOURCE):
        import app.models  # noqa: F401  (every table registered with the metadata)
        from app.services import flush_guards
        from app.services.iot import interlock as interlock_service

        flush_guards.install()  # the rules every flush runs, as in the web app (this process never builds it)

        self.engine = make_engine(database_url)
        self.threshold_w = threshold_w
        self.max_backoff = max_backoff
        self.interlock = interlock or interlock_service.Settings()
        self.rpc_source = rpc_source

    def store(self, batch):
        """Decode and store one batch [(topic, payload, received at as a Unix time)] in one transaction."""
        from app import clock
        from app.services.iot import interlock, status as iot

        readings, rejected = [], []
        for topic, payload, received in batch:
            try:
                received_at = datetime.fromtimestamp(received, timezone.utc)
                readings.append(decoders.decode(topic, payload, received_at))
            except decoders.Rejected as exc:
                rejected.append(exc)
                emit(logging.WARNING, "message refused", reason=exc.reason, terminal_id=exc.terminal_id,
                     topic=topic[:200], detail=exc.detail)
        with Session(self.engine) as session, session.begin():
            now = clock.now()
            result = iot.store_batch(session, readings, now, self.threshold_w)
            iot.record_rejections(session, rejected, now)
            confirmed = interlock.confirm(session, [
                interlock.Report(r.terminal_id, r.command_id, r.output, r.command_error, r.reported_at)
                for r in readings if r.reports_on_command], now)
        for tid in result.new_terminals:
            emit(logging.WARNING, "unknown terminal recorded for binding", terminal_id=tid)
        counts = Counter(stored=result.stored, duplicates=result.duplicates, refused=len(rejected),
                         events=result.events, usage_records=result.usage_records, commands_confirmed=confirmed)
        counts.update(f"refused.{exc.reason}" for exc in rejected)
        return counts

    def take_outbox(self):
        """The interlock commands due now, marked sent: [(command id, topic, payload, attempt)]."""
        from app import clock
        from app.services.iot import interlock

        with Session(self.engine) as session, session.begin():
            due = interlock.take_due(session, clock.now(), self.interlock)
        publications = []
        for command in due:
            try:
                topic, payload = commands.encode(command, self.rpc_source)
            except (KeyError, ValueError) as exc:  # an adapter or a terminal id the bridge cannot command: it
                # stays unconfirmed and is given up in time, and the lab is told
                emit(logging.WARNING, "command cannot be published", command_id=command.id, adapter=command.adapter,
                     terminal_id=command.terminal_id, error=str(exc)[:200])
                continue
            publications.append((command.id, topic, payload, command.attempt))
        return publications

    def store_until_done(self, batch, receiver_alive, work=None):
        """Retry a batch through database outages (capped back-off) until it is committed."""
        delay = 0.5
        while True:
            try:
                return work() if work is not None else self.store(batch)
            except sa.exc.DBAPIError as exc:  # outage, lock timeout, a race with another instance
                if not receiver_alive():
                    raise
                emit(logging.WARNING, "database unavailable; batch kept for retry", messages=len(batch),
                     retry_in_s=round(delay, 1), error=str(exc.orig if exc.orig is not None else exc)[:200])
                time.sleep(delay)
                delay = min(self.max_backoff, delay * 2) * (0.8 + 0.4 * random.random())


def serve(pipe, database_url, threshold_w, max_backoff, log_level, retry_seconds=30, max_attempts=20,
          rpc_source=decoders.RPC_SOURCE):
    """The storer process's main: ("store", batch) in, ("stored", counters) out; ("outbox", None) in,
    ("outbox", publications) out; until the pipe closes."""
    # the receiver decides when to stop (a Ctrl-C reaches the whole process group)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup_logging(log_level)
    receiver = os.getppid()
    from app.services.iot import interlock

    storer = Storer(database_url, threshold_w, max_backoff, interlock.Settings(retry_seconds, max_attempts), rpc_source)
    pipe.send("ready")
    alive = lambda: os.getppid() == receiver  # noqa: E731
    while True:
        try:
            request = pipe.recv()
        except EOFError:
            return
        if request is None:
            return
        kind, batch = request
        if kind == "outbox":
            pipe.send(("outbox", storer.store_until_done(None, alive, storer.take_outbox)))
        else:
            pipe.send(("stored", storer.store_until_done(batch, alive)))
