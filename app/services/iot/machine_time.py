"""Measured against registered (issue 14): what the instrument's terminal measured in a booking's slot
beside the hours the lab registered, a flag when they differ by more than a configurable share, and the
booking's outcome from the terminal — on time, late start, overtime, left early, or no-show — counted
per user.

- The runs counted are the terminal's machine-time records (UsageRecord, source iot) that overlap the
  slot widened by the grace on either side; each counts only its overlap with that window (a run that
  goes on past it shows as overtime, not as measured time of this booking).
- Outcome (self-operated slots): no-show when the booking was marked so, or when it ended with neither
  a run nor a registered use; otherwise late start when the first run began after the start plus the
  grace, overtime when the last run ended after the end plus the grace, left early when it ended before
  the end minus the grace (a booking can be late and overtime at once); on time when none of these.
- Without a terminal, or before the slot ended, there is nothing to say (None).

Everything for a list of bookings is read in one query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import clock
from app.models import Booking, Instrument, UsageRecord
from app.models.choices import BOOKING_OUTCOME

OUTCOMES = tuple(BOOKING_OUTCOME.codes)


@dataclass(frozen=True)
class Settings:
    grace_minutes: int = 15
    mismatch_share: float = 0.2  # measured and registered differ by more than this share of the registered

    @classmethod
    def of(cls, config) -> "Settings":
        values = config.get("MACHINE_TIME", {})
        return cls(**{k: type(getattr(cls, k))(v) for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Measured:
    measured_hours: Decimal | None  # None: the instrument has no terminal
    registered_hours: Decimal | None
    outcomes: tuple  # of OUTCOMES; () when there is nothing to say yet
    mismatch: bool


def measure(session, bookings, now: datetime, settings: Settings) -> dict:
    """{booking id: Measured} for self-operated bookings with a slot (two queries in all)."""
    slots = [b for b in bookings if b.mode == "self_operated" and b.scheduled_start is not None]
    if not slots:
        return {}
    grace = timedelta(minutes=settings.grace_minutes)
    instruments = {b.instrument_id for b in slots}
    networked = set(session.execute(sa.select(Instrument.id).where(
        Instrument.id.in_(instruments), Instrument.iot_terminal_id.is_not(None))).scalars())
    rows = session.execute(sa.select(UsageRecord.instrument_id, UsageRecord.booking_id, UsageRecord.source,
                                     UsageRecord.started_at, UsageRecord.ended_at, UsageRecord.hours).where(
        UsageRecord.instrument_id.in_(instruments),
        sa.or_(UsageRecord.booking_id.in_([b.id for b in slots]),
               sa.and_(UsageRecord.source == "iot", UsageRecord.started_at < max(b.scheduled_end for b in slots) + grace,
                       UsageRecord.ended_at > min(b.scheduled_start for b in slots) - grace)))).all()
    found = {}
    for b in slots:
        window = (b.scheduled_start - grace, b.scheduled_end + grace)
        runs = [(r.started_at, r.ended_at) for r in rows
                if r.source == "iot" and r.instrument_id == b.instrument_id and r.ended_at is not None
                and r.started_at < window[1] and r.ended_at > window[0]]
        registered = sum((Decimal(r.hours) for r in rows if r.booking_id == b.id and r.source == "manual"
                          and r.hours is not None), Decimal(0)) or None
        measured = clock.hours(sum((min(end, window[1]) - max(start, window[0]) for start, end in runs), timedelta(0))) \
            if b.instrument_id in networked else None
        found[b.id] = Measured(measured, registered, _outcomes(b, runs, registered, now, grace, b.instrument_id in networked),
                               _mismatch(measured, registered, settings.mismatch_share))
    return found


def _mismatch(measured, registered, share) -> bool:
    if measured is None or registered is None:
        return False
    return abs(measured - registered) > Decimal(str(share)) * registered


def _outcomes(booking, runs, registered, now, grace, networked) -> tuple:
    if booking.state == "no_show":
        return ("no_show",)
    if booking.scheduled_end + grace > now or booking.state not in ("scheduled", "completed"):
        return ()
    if not runs:
        if networked and registered is None and booking.state == "scheduled":
            return ("no_show",)
        return ()  # no terminal, or a use registered without a run: the terminal says nothing
    first, last = min(s for s, _e in runs), max(e for _s, e in runs)
    outcomes = []
    if first > booking.scheduled_start + grace:
        outcomes.append("late_start")
    if last > booking.scheduled_end + grace:
        outcomes.append("overtime")
    elif last < booking.scheduled_end - grace:
        outcomes.append("left_early")
    return tuple(outcomes) or ("on_time",)


def counts_for_user(session, user_id, now: datetime, settings: Settings) -> dict:
    """{outcome: how many} over a user's self-operated bookings whose slot has ended."""
    bookings = session.execute(sa.select(Booking).where(
        Booking.user_id == user_id, Booking.mode == "self_operated", Booking.scheduled_start.is_not(None),
        Booking.state.in_(("scheduled", "completed", "no_show")), Booking.scheduled_end < now)).scalars().all()
    counts = dict.fromkeys(OUTCOMES, 0)
    for measured in measure(session, bookings, now, settings).values():
        for outcome in measured.outcomes:
            counts[outcome] += 1
    return counts
