"""The storing side of the bridge, in a process of its own.

The receiver (bridge.py) hands it batches of raw messages over a pipe, in order; it decodes
them, stores each batch in one transaction through app/services/iot.py, commits, and answers
with the batch's counters. Only then does the receiver acknowledge the batch to the broker.
A process of its own because paho's network thread and the database work would otherwise take
turns on one interpreter lock: split, receiving and storing run on two cores.

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

from . import decoders
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
    def __init__(self, database_url, threshold_w, max_backoff):
        import app.models  # noqa: F401  (every table registered with the metadata)

        self.engine = make_engine(database_url)
        self.threshold_w = threshold_w
        self.max_backoff = max_backoff

    def store(self, batch):
        """Decode and store one batch [(topic, payload, received at as a Unix time)] in one transaction."""
        from app import clock
        from app.services import iot

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
        for tid in result.new_terminals:
            emit(logging.WARNING, "unknown terminal recorded for binding", terminal_id=tid)
        counts = Counter(stored=result.stored, duplicates=result.duplicates, refused=len(rejected),
                         events=result.events, usage_records=result.usage_records)
        counts.update(f"refused.{exc.reason}" for exc in rejected)
        return counts

    def store_until_done(self, batch, receiver_alive):
        """Retry a batch through database outages (capped back-off) until it is committed."""
        delay = 0.5
        while True:
            try:
                return self.store(batch)
            except sa.exc.DBAPIError as exc:  # outage, lock timeout, a race with another instance
                if not receiver_alive():
                    raise
                emit(logging.WARNING, "database unavailable; batch kept for retry", messages=len(batch),
                     retry_in_s=round(delay, 1), error=str(exc.orig if exc.orig is not None else exc)[:200])
                time.sleep(delay)
                delay = min(self.max_backoff, delay * 2) * (0.8 + 0.4 * random.random())


def serve(pipe, database_url, threshold_w, max_backoff, log_level):
    """The storer process's main: batches in, counters out, until the pipe closes."""
    # the receiver decides when to stop (a Ctrl-C reaches the whole process group)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup_logging(log_level)
    receiver = os.getppid()
    storer = Storer(database_url, threshold_w, max_backoff)
    pipe.send("ready")
    while True:
        try:
            batch = pipe.recv()
        except EOFError:
            return
        if batch is None:
            return
        pipe.send(storer.store_until_done(batch, lambda: os.getppid() == receiver))
