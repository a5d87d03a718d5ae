"""Terminal status and machine time from decoded MQTT readings (SPEC §5), one batch per transaction.

`store_batch` is what the bridge calls between receiving a batch and acknowledging it: it
writes the latest status per terminal (upsert), every state transition (DeviceEvent), and a
UsageRecord (source iot) for every running period that ended, linked to the booking in force.
The caller commits; only then are the messages acknowledged to the broker.

Idempotent: a reading not newer than the stored status (by terminal timestamp, then seq)
changes nothing, so a message redelivered after a crash between commit and acknowledgement
is a no-op; the unique indexes on events and machine-time periods guard the same again.
Unknown terminal ids get an IotTerminal row (no instrument bound) for an admin to bind.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.models import Booking, DeviceEvent, DeviceStatus, Instrument, IotRejection, IotTerminal, UsageRecord

DEFAULT_THRESHOLD_W = 40.0
RUNNING = "running"


@dataclass
class BatchResult:
    stored: int = 0          # readings that changed the stored status
    duplicates: int = 0      # readings not newer than what is stored (redeliveries, stale)
    events: int = 0
    usage_records: int = 0
    new_terminals: list = field(default_factory=list)


def state_of(reading, threshold_w: float) -> str | None:
    """A plug's power decides running vs idle; a native reading states its own."""
    if reading.state is not None:
        return reading.state
    if reading.power_w is None:
        return None
    return RUNNING if reading.power_w >= threshold_w else "idle"


def _insert_ignoring_duplicates(session, model, rows):
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite alike; returns how many went in."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    table = model.__table__
    # RETURNING counts what was really inserted (a conflicting row returns nothing)
    inserted = session.connection().execute(insert(table).on_conflict_do_nothing().returning(table.c.id), rows)
    return len(inserted.all())


def _hours(start, end):
    return (Decimal((end - start).total_seconds()) / Decimal(3600)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _booking_in_force(session, instrument_id, at):
    """The scheduled (or completed) booking whose slot contains `at`, if any."""
    return session.execute(
        sa.select(Booking.id, Booking.user_id).where(
            Booking.instrument_id == instrument_id, Booking.state.in_(("scheduled", "completed")),
            Booking.scheduled_start <= at, Booking.scheduled_end >= at,
        ).order_by(Booking.scheduled_start.desc()).limit(1)
    ).first()


def store_batch(session, readings, now: datetime, default_threshold_w: float = DEFAULT_THRESHOLD_W) -> BatchResult:
    """Apply readings (in arrival order) in the caller's transaction."""
    result = BatchResult()
    if not readings:
        return result
    ids = sorted({r.terminal_id for r in readings})
    terminals = {t.terminal_id: t for t in session.execute(
        sa.select(IotTerminal).where(IotTerminal.terminal_id.in_(ids))).scalars()}
    instrument_of = dict(session.execute(
        sa.select(Instrument.iot_terminal_id, Instrument.id).where(Instrument.iot_terminal_id.in_(ids))).all())
    # row locks: two bridge instances never interleave on one terminal (PostgreSQL; SQLite
    # serialises writers anyway)
    statuses = {s.terminal_id: s for s in session.execute(
        sa.select(DeviceStatus).where(DeviceStatus.terminal_id.in_(ids)).with_for_update()).scalars()}
    events, periods = [], []
    for reading in readings:
        tid = reading.terminal_id
        terminal = terminals.get(tid)
        if terminal is None:
            terminal = terminals[tid] = IotTerminal(terminal_id=tid, adapter=reading.adapter, first_seen=now,
                                                    power_threshold_w=Decimal(str(default_threshold_w)))
            session.add(terminal)
            result.new_terminals.append(tid)
        threshold = float(terminal.power_threshold_w) if terminal.power_threshold_w is not None else default_threshold_w
        state = state_of(reading, threshold)
        status = statuses.get(tid)
        key = (reading.reported_at, reading.seq if reading.seq is not None else -1)
        if status is not None and key <= (status.reported_at, status.seq if status.seq is not None else -1):
            result.duplicates += 1
            continue
        if state is None:  # alive, no state yet (a plug back online): only the time it was heard
            if status is not None:
                status.received_at = now
            result.stored += 1
            continue
        previous = status.state if status is not None else None
        if status is None:
            status = statuses[tid] = DeviceStatus(terminal_id=tid, state=state, reported_at=reading.reported_at)
            session.add(status)
        status.state, status.power_w, status.seq = state, reading.power_w, reading.seq
        status.reported_at, status.received_at = reading.reported_at, now
        result.stored += 1
        if state == previous:
            continue
        events.append({"terminal_id": tid, "from_state": previous, "to_state": state, "at": reading.reported_at,
                       "seq": reading.seq})
        if state == RUNNING:
            status.running_since = reading.reported_at
        elif previous == RUNNING and status.running_since is not None:
            if tid in instrument_of and reading.reported_at > status.running_since:
                periods.append((instrument_of[tid], status.running_since, reading.reported_at))
            status.running_since = None
    session.flush()
    result.events = _insert_ignoring_duplicates(session, DeviceEvent, events)
    usage_rows = []
    for instrument_id, start, end in periods:
        booking = _booking_in_force(session, instrument_id, start)
        usage_rows.append({
            "instrument_id": instrument_id, "started_at": start, "ended_at": end, "hours": _hours(start, end),
            "source": "iot", "booking_id": booking.id if booking else None, "user_id": booking.user_id if booking else None,
            "service_type": "internal", "direction": "research",
        })
    result.usage_records = _insert_ignoring_duplicates(session, UsageRecord, usage_rows)
    return result


def record_rejections(session, rejections, now: datetime):
    """Count refused messages per (reason, terminal id) in the caller's transaction.
    `rejections` is an iterable of decoders.Rejected."""
    rejections = list(rejections)
    counts = Counter((r.reason, (r.terminal_id or "")[:64]) for r in rejections)
    details = {(r.reason, (r.terminal_id or "")[:64]): r.detail for r in rejections}
    for (reason, tid), n in sorted(counts.items()):
        row = session.get(IotRejection, (reason, tid))
        if row is None:
            row = IotRejection(reason=reason, terminal_id=tid, count=0, first_at=now)
            session.add(row)
        row.count += n
        row.last_at = now
        row.last_detail = (details[(reason, tid)] or "")[:200]
    return sum(counts.values())


# -- what the lists show ---------------------------------------------------------------------

def offline_window(config) -> timedelta:
    return timedelta(minutes=config.get("IOT_OFFLINE_AFTER_MINUTES", 10))


def shown_state(state: str | None, seen_at: datetime | None, now: datetime, offline_after: timedelta) -> str | None:
    """The state a list shows: a terminal silent for longer than the window is offline, whatever
    its last message said. None when the instrument has no terminal or it never reported."""
    if state is None:
        return None
    if seen_at is None or now - seen_at > offline_after:
        return "offline"
    return state


def shown_state_clause(state: str, now: datetime, offline_after: timedelta):
    """SQL condition on Instrument matching `shown_state(...) == state` (the list filter)."""
    cutoff = now - offline_after
    if state == "offline":
        matching = sa.or_(DeviceStatus.state == "offline", DeviceStatus.received_at < cutoff)
    else:
        matching = sa.and_(DeviceStatus.state == state, DeviceStatus.received_at >= cutoff)
    return Instrument.iot_terminal_id.in_(sa.select(DeviceStatus.terminal_id).where(matching))
