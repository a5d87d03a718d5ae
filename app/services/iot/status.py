"""Terminal status and machine time from decoded MQTT readings (SPEC §5), one batch per transaction.

`store_batch` is what the bridge calls between receiving a batch and acknowledging it: it
writes the latest status per terminal (upsert), every state transition (DeviceEvent), and a
period of machine time for every running period that ended (written by the usage service's
`record_machine_time`, which links it to the booking in force).
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
from decimal import Decimal

import sqlalchemy as sa

from app.models import DeviceEvent, DeviceStatus, Instrument, IotRejection, IotTerminal

from app.services.booking import usage
from app.services.iot.bulk import dialect_insert, insert_ignoring_duplicates

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


# PostgreSQL takes a batch as arrays, one statement for all its rows (unnest): a constant
# statement text the driver caches, and one set-based write instead of one per row
_PG_ARRAY_TYPES = {"terminal_id": "varchar", "state": "varchar", "from_state": "varchar", "to_state": "varchar",
                   "power_w": "float8", "seq": "bigint", "reported_at": "timestamptz", "received_at": "timestamptz",
                   "running_since": "timestamptz", "at": "timestamptz"}


def _is_postgresql(session):
    return session.get_bind().dialect.name == "postgresql"


def _pg_unnest(columns):
    return "SELECT * FROM unnest(" + ", ".join(f"CAST(:{c} AS {_PG_ARRAY_TYPES[c]}[])" for c in columns) + ")"


def _pg_arrays(columns, rows):
    return {c: [row[c] for row in rows] for c in columns}


def _in(session, column, values):
    """column IN values. On PostgreSQL `IN (SELECT unnest(array))`: one parameter whatever the
    batch size, and a hashed semi-join even in the generic plan of a prepared statement (where
    `= ANY(array)` compares every row with every element)."""
    if _is_postgresql(session):
        return column.in_(sa.select(sa.func.unnest(sa.cast(sa.bindparam(None, list(values)), sa.ARRAY(sa.String)))))
    return column.in_(values)


_STATUS_COLUMNS_BY_NAME = ("terminal_id", "state", "power_w", "seq", "reported_at", "received_at", "running_since")
_NOT_OLDER = "(excluded.reported_at, coalesce(excluded.seq, -1)) >= (device_status.reported_at, coalesce(device_status.seq, -1))"


def _upsert_statuses(session, rows):
    """Latest status per terminal: INSERT … ON CONFLICT DO UPDATE, only ever forwards (a row
    another bridge instance stored meanwhile with a newer (reported_at, seq) is kept; the same
    one again only refreshes when it was heard)."""
    if not rows:
        return
    columns = _STATUS_COLUMNS_BY_NAME
    if _is_postgresql(session):
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        session.connection().execute(sa.text(
            f"INSERT INTO device_status ({', '.join(columns)}) {_pg_unnest(columns)} "
            f"ON CONFLICT (terminal_id) DO UPDATE SET {updates} WHERE {_NOT_OLDER}"), _pg_arrays(columns, rows))
        return
    table = DeviceStatus.__table__
    insert = dialect_insert(session)(table)
    new, old = insert.excluded, table.c
    not_older = sa.tuple_(new.reported_at, sa.func.coalesce(new.seq, -1)) >= sa.tuple_(old.reported_at, sa.func.coalesce(old.seq, -1))
    session.connection().execute(
        insert.on_conflict_do_update(index_elements=[old.terminal_id], set_={c: new[c] for c in columns[1:]}, where=not_older),
        rows)


_EVENT_COLUMNS = ("terminal_id", "from_state", "to_state", "at", "seq")


def _insert_events(session, rows):
    """Transitions, a redelivered one ignored (uq_device_event_once); returns how many went in."""
    if not rows:
        return 0
    if _is_postgresql(session):
        return len(session.connection().execute(sa.text(
            f"INSERT INTO device_event ({', '.join(_EVENT_COLUMNS)}) {_pg_unnest(_EVENT_COLUMNS)} "
            "ON CONFLICT DO NOTHING RETURNING id"), _pg_arrays(_EVENT_COLUMNS, rows)).all())
    return len(insert_ignoring_duplicates(session, DeviceEvent, rows))


_STATUS_COLUMNS = (DeviceStatus.state, DeviceStatus.power_w, DeviceStatus.seq, DeviceStatus.reported_at,
                   DeviceStatus.received_at, DeviceStatus.running_since)


def _order_key(status):
    return status["reported_at"], status["seq"] if status["seq"] is not None else -1


def store_batch(session, readings, now: datetime, default_threshold_w: float = DEFAULT_THRESHOLD_W) -> BatchResult:
    """Apply readings (in arrival order) in the caller's transaction.

    The batch is folded in memory into each terminal's final status, its transitions and the
    periods that ended; then one statement per table writes them (Core executemany, no ORM
    objects), which is what lets one bridge keep up with thousands of terminals."""
    result = BatchResult()
    if not readings:
        return result
    ids = sorted({r.terminal_id for r in readings})
    conn = session.connection()  # Core all through: the ORM's per-row work is what this avoids
    thresholds = dict(conn.execute(
        sa.select(IotTerminal.terminal_id, IotTerminal.power_threshold_w).where(_in(session, IotTerminal.terminal_id, ids))).all())
    instrument_of = dict(conn.execute(
        sa.select(Instrument.iot_terminal_id, Instrument.id).where(_in(session, Instrument.iot_terminal_id, ids))).all())
    # row locks, in a fixed order: two bridge instances never interleave on one terminal
    # (PostgreSQL; SQLite serialises writers anyway)
    statuses = {row["terminal_id"]: dict(row) for row in conn.execute(
        sa.select(DeviceStatus.terminal_id, *_STATUS_COLUMNS).where(_in(session, DeviceStatus.terminal_id, ids))
        .order_by(DeviceStatus.terminal_id).with_for_update()).mappings()}
    new_terminals, changed, events, periods = {}, set(), [], []
    for reading in readings:
        tid = reading.terminal_id
        if tid not in thresholds:
            thresholds[tid] = Decimal(str(default_threshold_w))
            new_terminals[tid] = {"terminal_id": tid, "adapter": reading.adapter, "first_seen": now,
                                  "power_threshold_w": thresholds[tid]}
        threshold = float(thresholds[tid]) if thresholds[tid] is not None else default_threshold_w
        state = state_of(reading, threshold)
        status = statuses.get(tid)
        key = (reading.reported_at, reading.seq if reading.seq is not None else -1)
        if status is not None and key <= _order_key(status):
            result.duplicates += 1
            continue
        result.stored += 1
        if state is None:  # alive, no state yet (a plug back online): only the time it was heard
            if status is not None:
                status["received_at"] = now
                changed.add(tid)
            continue
        previous = status["state"] if status is not None else None
        if status is None:
            status = statuses[tid] = {"terminal_id": tid, "running_since": None}
        status.update(state=state, power_w=reading.power_w, seq=reading.seq, reported_at=reading.reported_at,
                      received_at=now)
        changed.add(tid)
        if state == previous:
            continue
        events.append({"terminal_id": tid, "from_state": previous, "to_state": state, "at": reading.reported_at,
                       "seq": reading.seq})
        if state == RUNNING:
            status["running_since"] = reading.reported_at
        elif previous == RUNNING and status["running_since"] is not None:
            if tid in instrument_of and reading.reported_at > status["running_since"]:
                periods.append((instrument_of[tid], status["running_since"], reading.reported_at))
            status["running_since"] = None
    result.new_terminals = insert_ignoring_duplicates(
        session, IotTerminal, list(new_terminals.values()), returning="terminal_id")
    _upsert_statuses(session, [statuses[tid] for tid in sorted(changed)])
    result.events = _insert_events(session, events)
    result.usage_records = usage.record_machine_time(session, periods)
    # written behind the ORM's back: objects the caller's session holds must be read again
    session.expire_all()
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
