"""An instrument's calendar (issue 13): the slots its bookings hold, its closures, the faults its
terminal reported, the statutory holidays and its opening hours, for any span of days; the next free
slots; and which instruments of a class are free at a time.

A span's bookings come from one index range (ix_booking_instrument_slot: instrument, slot start)
bounded below by a day before the span, since a slot lies within one day's opening hours. So a week
costs the same few statements, however many bookings the instrument has had.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app import clock
from app.models import Booking, Closure, DeviceEvent, DeviceStatus, Instrument
from app.models.choices import CLOSURE_KIND

from app.services.booking import rules as booking_rules
from app.services.booking.bookings import LONGEST_SLOT, SLOT_END, SLOT_START
from app.services.workdays import WorkCalendar



@dataclass(frozen=True)
class Busy:
    booking_id: int
    user_id: int
    start: datetime
    end: datetime
    state: str


@dataclass(frozen=True)
class Span:
    kind: str  # "closure", "fault", "holiday"
    start: datetime
    end: datetime
    label: str = ""


def busy_slots(session, instrument_id, start: datetime, end: datetime) -> list[Busy]:
    """The holding self-operated bookings overlapping [start, end) — one statement."""
    rows = session.execute(
        sa.select(Booking.id, Booking.user_id, SLOT_START.label("s"), SLOT_END.label("e"), Booking.state)
        .where(Booking.instrument_id == instrument_id, Booking.mode == "self_operated", Booking.state.in_(Booking.HOLDING),
               SLOT_START >= start - LONGEST_SLOT, SLOT_START < end)
        .order_by(SLOT_START)).all()
    return [Busy(*row) for row in rows if row.e > start]


def closures(session, instrument_id, start, end) -> list[Span]:
    return [Span("closure", c.starts_at, c.ends_at, f"{CLOSURE_KIND.label(c.kind)}：{c.reason or ''}".rstrip("："))
            for c in booking_rules.closures_between(session, instrument_id, start, end)]


def faults(session, terminal_id, start, end, now) -> list[Span]:
    """When the instrument's terminal reported a fault, from the fault to its next transition — two statements."""
    if not terminal_id:
        return []
    before = session.execute(sa.select(DeviceEvent.to_state, DeviceEvent.at).where(
        DeviceEvent.terminal_id == terminal_id, DeviceEvent.at <= start).order_by(DeviceEvent.at.desc()).limit(1)).first()
    events = session.execute(sa.select(DeviceEvent.to_state, DeviceEvent.at).where(
        DeviceEvent.terminal_id == terminal_id, DeviceEvent.at > start, DeviceEvent.at < end).order_by(DeviceEvent.at)).all()
    spans, fault_since = [], (start if before is not None and before.to_state == "fault" else None)
    for state, at in events:
        if state == "fault" and fault_since is None:
            fault_since = at
        elif state != "fault" and fault_since is not None:
            spans.append(Span("fault", fault_since, at))
            fault_since = None
    if fault_since is not None:
        spans.append(Span("fault", fault_since, min(end, max(now, fault_since))))
    return spans


def holidays(calendar: WorkCalendar, first: date, last: date) -> list[Span]:
    spans, day = [], first
    while day <= last:
        working, _official = calendar.is_workday(day)
        if not working and day.weekday() < 5:
            spans.append(Span("holiday", *clock.day_bounds(day)))
        day += timedelta(days=1)
    return spans


def business_hours(session, instrument_id) -> list[dict]:
    """Opening hours in FullCalendar's form: daysOfWeek counts from Sunday = 0 — one statement."""
    week = booking_rules.weekly_hours(session, instrument_id)
    return [{"daysOfWeek": [(weekday + 1) % 7], "startTime": opens.strftime("%H:%M"), "endTime": closes.strftime("%H:%M")}
            for weekday, intervals in sorted(week.items()) for opens, closes in intervals]


def next_free_slots(session, instrument: Instrument, now: datetime, calendar: WorkCalendar, count=5,
                    length=timedelta(hours=1), horizon_days=14) -> list[tuple[datetime, datetime]]:
    """The next `count` free, non-overlapping slots of `length` within the opening hours and the booking
    rules' notice, clear of bookings and closures, on half-hour boundaries."""
    rules = booking_rules.rules_of(session, instrument.id)
    week = booking_rules.weekly_hours(session, instrument.id)
    earliest = now + timedelta(hours=rules.min_hours_ahead)
    end = now + timedelta(days=horizon_days)
    taken = [(b.start, b.end) for b in busy_slots(session, instrument.id, now, end)]
    taken += [(c.start, c.end) for c in closures(session, instrument.id, now, end)]
    found, day = [], clock.local_date(now)
    while len(found) < count and day <= clock.local_date(end):
        for opens, closes in booking_rules.opening_intervals(day, week, rules, calendar):
            slot = max(opens, _ceil_half_hour(earliest))
            while slot + length <= closes and len(found) < count:
                if not any(s < slot + length and e > slot for s, e in taken):
                    found.append((slot, slot + length))
                    slot += length  # distinct times, not the same hour shifted by half an hour
                else:
                    slot += timedelta(minutes=30)
        day += timedelta(days=1)
    return found


def _ceil_half_hour(moment: datetime) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    extra = (-moment.minute) % 30
    return moment + timedelta(minutes=extra)


def free_at(session, instrument_ids, start: datetime, end: datetime) -> set:
    """Which of the instruments have no holding booking and no closure over [start, end) — two statements."""
    ids = list(instrument_ids)
    if not ids:
        return set()
    busy = set(session.execute(sa.select(Booking.instrument_id).where(
        Booking.instrument_id.in_(ids), Booking.mode == "self_operated", Booking.state.in_(Booking.HOLDING),
        SLOT_START >= start - LONGEST_SLOT, SLOT_START < end, SLOT_END > start)).scalars())
    busy |= set(session.execute(sa.select(Closure.instrument_id).where(
        Closure.instrument_id.in_(ids), Closure.starts_at < end, Closure.ends_at > start)).scalars())
    return set(ids) - busy


def current_fault(session, terminal_id) -> bool:
    status = session.get(DeviceStatus, terminal_id) if terminal_id else None
    return status is not None and status.state == "fault"


def available(session, class_prefix: str, start: datetime, end: datetime, now: datetime, calendar: WorkCalendar,
              limit=50) -> list[Instrument]:
    """The bookable instruments of a class (by code prefix) a user could book for itself over [start, end):
    open then, clear of bookings and closures, within its booking rules. At most `limit`, by name."""
    query = (sa.select(Instrument).where(
        Instrument.can_be_booked, Instrument.class_code.startswith(class_prefix)).order_by(Instrument.name, Instrument.id))
    candidates = session.execute(query).scalars().all()
    free = free_at(session, [i.id for i in candidates], start, end)
    found = []
    for instrument in candidates:
        if instrument.id not in free:
            continue
        rules = booking_rules.rules_of(session, instrument.id)
        if rules.accepts("self_operated") and not booking_rules.slot_problems(
                session, instrument.id, start, end, now, rules, calendar):
            found.append(instrument)
            if len(found) == limit:
                break
    return found
