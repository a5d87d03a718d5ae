"""Bookings the lab took and scheduled, in one batch (the booking step of a ledger of services rendered:
how a school brings its past year onto the platform, and how the demo builds its history).

Each entry is a sample-testing booking (送样检测: the lab operates, so no authorisation to operate is
involved) checked as `booking.submit` and `booking.schedule` check one: the instrument bookable and
taking sample testing, the user active, a sample count, the scheduled day open on the instrument's own
calendar (its opening hours, the Chinese calendar, its closures) and not before the submission, the
answer after the submission; its respond-by is counted by the Chinese calendar from the submission (the
5-working-day rule). No messages are written: they were exchanged when it happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import Booking, Closure, Instrument, ServiceUser

from app.services.booking import bookings as booking_service, rules as booking_rules
from app.services.actors import Actor, LabSides
from app.services.batch import Batch
from app.services.workdays import WorkCalendar

MSG_ANSWER_BEFORE = _("The answer cannot come before the submission.")
MSG_DAY_BEFORE = _("The scheduled day cannot be before the submission.")
MSG_TWICE = _("The same booking (instrument, user and submission time) is in the batch twice.")


@dataclass(frozen=True)
class Served:
    instrument_id: int
    user_id: int
    submitted_at: datetime
    answered_at: datetime
    day: date
    sample_count: int
    purpose: str | None = None


def record_served(session, actor: Actor, entries: list[Served], calendar: WorkCalendar) -> Batch:
    result = Batch()
    instruments = {i.id: i for i in session.execute(sa.select(Instrument).where(
        Instrument.id.in_({e.instrument_id for e in entries}))).scalars()}
    users = {u.id: u for u in session.execute(sa.select(ServiceUser).where(
        ServiceUser.id.in_({e.user_id for e in entries}))).scalars()}
    closures = {}
    for c in session.execute(sa.select(Closure.instrument_id, Closure.starts_at, Closure.ends_at)
                             .where(Closure.instrument_id.in_(list(instruments)))):
        closures.setdefault(c.instrument_id, []).append(c)
    sides, rules, weeks, rows, kept, keys = LabSides(session, actor), {}, {}, [], [], set()
    for index, e in enumerate(entries):
        instrument, user = instruments.get(e.instrument_id), users.get(e.user_id)
        if (e.instrument_id, e.user_id, e.submitted_at) in keys:
            result.refuse(index, MSG_TWICE)
            continue
        denied = sides.refusal(e.instrument_id)
        if denied is not None:
            result.refuse(index, denied)
            continue
        if instrument is None or not instrument.can_be_booked:
            result.refuse(index, booking_service.MSG_NOT_BOOKABLE)
            continue
        if user is None or user.status != "active":
            result.refuse(index, booking_service.DENIED_ACCOUNT)
            continue
        if e.instrument_id not in rules:
            rules[e.instrument_id] = booking_rules.rules_of(session, e.instrument_id)
            weeks[e.instrument_id] = booking_rules.weekly_hours(session, e.instrument_id)
        if not rules[e.instrument_id].accepts("sample"):
            result.refuse(index, booking_service.MSG_MODE)
            continue
        if not isinstance(e.sample_count, int) or e.sample_count < 1:
            result.refuse(index, booking_service.MSG_SAMPLES)
            continue
        if e.answered_at < e.submitted_at:
            result.refuse(index, MSG_ANSWER_BEFORE)
            continue
        if e.day < clock.local_date(e.submitted_at):
            result.refuse(index, MSG_DAY_BEFORE)
            continue
        start, end = clock.day_bounds(e.day)
        if not booking_rules.hours_on(e.day, weeks[e.instrument_id], rules[e.instrument_id], calendar) or any(
                c.starts_at <= start and c.ends_at >= end for c in closures.get(e.instrument_id, ())):
            result.refuse(index, booking_rules.MSG_DAY_CLOSED)
            continue
        deadline = booking_service.respond_by(calendar, e.submitted_at)
        rows.append({"instrument_id": e.instrument_id, "user_id": e.user_id, "mode": "sample", "state": "scheduled",
                     "sample_count": e.sample_count, "purpose": e.purpose, "submitted_at": e.submitted_at,
                     "requested_date": e.day, "scheduled_date": e.day, "responded_at": e.answered_at,
                     "respond_by": deadline.day, "respond_by_official": deadline.official, "delayed": False,
                     "late_cancellation": False})
        kept.append(index)
        keys.add((e.instrument_id, e.user_id, e.submitted_at))
    if rows:
        # multi-row INSERT … RETURNING; the rows' keys tell which id is whose (asking for the parameters'
        # order would cost one INSERT per row on SQLite)
        table = Booking.__table__
        returned = session.connection().execute(sa.insert(table).returning(
            table.c.instrument_id, table.c.user_id, table.c.submitted_at, table.c.id), rows).all()
        id_of = {(r.instrument_id, r.user_id, r.submitted_at): r.id for r in returned}
        for index, row in zip(kept, rows):
            result.done[index] = id_of[(row["instrument_id"], row["user_id"], row["submitted_at"])]
    session.expire_all()
    return result
