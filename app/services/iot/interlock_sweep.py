"""The slot's end of the power interlock (issue 14, item 3), run every minute by a scheduled task.

For each open session of a booking on an interlocked instrument:
- at the end of the slot, its user and the lab are warned (once) of when the power goes;
- at the end plus the rule's grace, the one usage service ends the session (app/services/booking/usage.py),
  which prices it and queues the plug's OFF — unless the terminal reports a run in progress and the
  rule does not allow cutting one: then the lab is told (once) and the power goes once the run ends.

It also gives up the commands no plug confirmed within the time their attempts take — the bridge may be
down and have sent nothing — and tells the lab of each command left unconfirmed (once per command).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.models import Booking, DeviceStatus, InterlockCommand, UsageRecord

from app.services.iot import interlock, status as iot
from app.services.people import notifications
from app.services.booking import usage
from app.services.actors import Actor


@dataclass
class SweepResult:
    warned: int = 0
    held: int = 0
    ended: list = None
    failures_told: int = 0


def _running(session, terminal_id, now, offline_after: timedelta) -> bool:
    status = session.execute(sa.select(DeviceStatus.state, DeviceStatus.received_at)
                             .where(DeviceStatus.terminal_id == terminal_id)).first()
    return status is not None and iot.shown_state(status.state, status.received_at, now, offline_after) == iot.RUNNING


def sweep(session, now: datetime, offline_after: timedelta = timedelta(minutes=10),
          settings: interlock.Settings | None = None) -> SweepResult:
    if settings is None:
        settings = interlock.Settings()
    result = SweepResult(ended=[])
    open_uses = session.execute(
        sa.select(UsageRecord).join(Booking, Booking.id == UsageRecord.booking_id)
        .where(UsageRecord.source == "manual", UsageRecord.ended_at.is_(None), UsageRecord.hours.is_(None),
               Booking.scheduled_end.is_not(None), Booking.scheduled_end <= now)
        .order_by(UsageRecord.id)).scalars().all()
    for use in open_uses:
        plug = interlock.plug_of(session, use.instrument_id)
        if plug is None:
            continue
        booking = use.booking
        cut_at = booking.scheduled_end + plug.grace
        if now < cut_at:
            notifications.slot_ending(session, booking, cut_at, now)
            result.warned += 1
            continue
        if not plug.cuts_running and _running(session, plug.terminal_id, now, offline_after):
            notifications.cut_held(session, booking, now)
            result.held += 1
            continue
        usage.end(session, Actor.scheduled_task(), use, now, cause="slot_end")
        result.ended.append(use.id)
    interlock.give_up_unsent(session, now, settings)
    for command in session.execute(sa.select(InterlockCommand).where(
            InterlockCommand.state == "failed", InterlockCommand.created_at >= now - timedelta(days=1))
            .order_by(InterlockCommand.id)).scalars():
        result.failures_told += len(notifications.command_failed(session, command, now))
    session.flush()
    return result
