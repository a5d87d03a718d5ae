"""The one usage service (SPEC §6; NEMO starts and ends sessions in four places): a use of an
instrument is started and ended, or registered after the fact, here — by the lab's screens and API,
and by scheduled tasks —, per booking or as a walk-in of an authorised user.

- A use has its start, end and hours (they agree), its samples (送样: received, tested, returned), the
  operator and the direction (科研 / 技术开发 / 教学 / 其他). The service type (校内 / 对外) follows the
  user's organisation and is never typed.
- At most one open session (started, not ended) per instrument: the database refuses a second one
  (migration 0017's partial unique index), whichever process tries; the check here only finds it early.
- A booking's use may be registered once it is scheduled (never refused, cancelled or already
  completed); a walk-in needs the user's valid authorisation to operate.
- Ending a use completes its booking, counts as a use of the authorisation (its lapse clock restarts)
  and prices it (app/services/money/settlement.py).
- A self-operated booking's own user may start and end its session itself, within its slot (from the
  rule's grace before the start to its end) and with a valid authorisation; registering after the fact
  stays the lab's.
- On an interlocked instrument (app/services/iot/interlock.py) starting switches the plug on and ending
  switches it off, through the command outbox; a booking's session starts only within its slot.
- The terminals' measured machine time reaches the database here too (`record_machine_time`, which the
  IoT bridge's storer calls through app/services/iot/status.py): a use of source iot per running period.

Services take the acting administrator and `now`; they flush, and the caller commits or rolls back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import Authorisation, Booking, Charge, CustomerOrg, ServiceUser, UsageRecord
from app.models.choices import BOOKING_STATE, USAGE_DIRECTION

from app.services.booking import authorisations
from app.services.iot import interlock
from app.services.money import settlement
from app.services.actors import Actor, LabSides, require_lab_side
from app.services.batch import Batch
from app.services.iot.bulk import insert_ignoring_duplicates
from app.services.booking.rules import MSG_ORDER, rules_of
from app.services.errors import PolicyDenied, RuleViolation
from app.services.inputs import whole_number

REGISTRABLE = ("scheduled",)
HOURS_TOLERANCE = Decimal("0.01")
MSG_BOOKING_STATE = _("A use cannot be registered on a booking that is %(state)s.")
MSG_OPEN = _("This instrument already has a use in progress: end it first.")
MSG_OVERLAP = _("Another registered use of this instrument overlaps this time.")
MSG_HOURS = _("The hours do not agree with the start and end (%(hours)s hours).")
MSG_FUTURE_END = _("A use cannot end in the future.")
MSG_NOT_AUTHORISED = _("This user is not authorised to operate this instrument.")
MSG_NOT_OPEN = _("This use has already ended.")
MSG_COUNT = _("Give a whole number, at least 0.")
MSG_RETURNED = _("More samples returned than received.")
MSG_TESTED = _("More samples tested than received.")
MSG_DIRECTION = _("Choose the direction of use.")
MSG_START = _("Give the start and end of the use.")
MSG_NO_BOOKING = _("No such booking, or the same booking twice in the batch.")
MSG_OWN_SELF_OPERATED = _("Only a self-operated booking's own user starts and ends its use; the lab registers the others.")


class SessionOpen(PolicyDenied):
    def __init__(self):
        super().__init__("session_open", MSG_OPEN)


@dataclass(frozen=True)
class Completed:
    usage: UsageRecord
    charge: Charge | None


def service_type_of(user: ServiceUser | None) -> str:
    return "internal" if user is not None and user.org is not None and user.org.category == "campus" else "external"


def record_machine_time(session, periods) -> int:
    """The terminals' machine time (the IoT bridge's): one use (source iot) per running period
    (instrument id, start, end) that ended, linked to the booking in force at its start, written in one
    statement; a period already stored (a redelivered message) is skipped by its unique index. Returns how
    many were written. Core, not the ORM: the bridge writes thousands of terminals' batches."""
    rows = [{
        "instrument_id": instrument_id, "started_at": start, "ended_at": end, "hours": clock.hours_between(start, end),
        "source": "iot", "booking_id": booking[0] if booking else None, "user_id": booking[1] if booking else None,
        "service_type": "internal", "direction": "research",
    } for (instrument_id, start, end), booking in zip(periods, _bookings_in_force(session, periods))]
    return len(insert_ignoring_duplicates(session, UsageRecord, rows))


def _bookings_in_force(session, periods):
    """For each (instrument, start, end) period: the scheduled (or completed) booking whose slot
    contains the start (the latest starting one), as (id, user id), or None. One query."""
    if not periods:
        return []
    instruments = {p[0] for p in periods}
    starts = [p[1] for p in periods]
    candidates = {}
    for row in session.connection().execute(
        sa.select(Booking.instrument_id, Booking.id, Booking.user_id, Booking.scheduled_start, Booking.scheduled_end)
        .where(Booking.instrument_id.in_(instruments), Booking.state.in_(("scheduled", "completed")),
               Booking.scheduled_start <= max(starts), Booking.scheduled_end >= min(starts))
        .order_by(Booking.scheduled_start.desc())
    ):
        candidates.setdefault(row.instrument_id, []).append(row)
    return [next(((b.id, b.user_id) for b in candidates.get(instrument_id, ())
                  if b.scheduled_start <= start <= b.scheduled_end), None)
            for instrument_id, start, _end in periods]


def open_session_of(session, instrument_id) -> UsageRecord | None:
    return session.execute(sa.select(UsageRecord).where(
        UsageRecord.instrument_id == instrument_id, UsageRecord.source == "manual", UsageRecord.ended_at.is_(None),
        UsageRecord.hours.is_(None))).scalars().first()


def open_session_of_booking(session, booking_id) -> UsageRecord | None:
    return session.execute(sa.select(UsageRecord).where(
        UsageRecord.booking_id == booking_id, UsageRecord.source == "manual", UsageRecord.ended_at.is_(None),
        UsageRecord.hours.is_(None))).scalars().first()


def _flush_open(session):
    """Write; the database's one-open-session index answers for two processes at once."""
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError as error:
        if "uq_usage_open_session" in str(error.orig) or "usage_record.instrument_id" in str(error.orig):
            raise SessionOpen() from error
        raise


def _count(errors, field, value):
    return whole_number(errors, field, value, MSG_COUNT)


def _is_own(actor: Actor, booking: Booking | None) -> bool:
    """The actor is the booking's own service user (its account)."""
    return (booking is not None and actor.user_id is not None and booking.user is not None
            and booking.user.account_id == actor.user_id)


def _who(session, actor, now, booking, instrument_id, user, settings, *, own_user_may=False):
    """The instrument and user of a use, checked: the booking's, or a walk-in's with authorisation.
    With `own_user_may`, the booking's own user may act on its self-operated booking."""
    if booking is not None:
        if own_user_may and _is_own(actor, booking):
            if booking.mode != "self_operated":
                raise PolicyDenied("not_self_operated", MSG_OWN_SELF_OPERATED)
        else:
            require_lab_side(session, actor, booking.instrument_id)
        if booking.state not in REGISTRABLE:
            raise PolicyDenied("booking_state", gettext(str(MSG_BOOKING_STATE), state=BOOKING_STATE.label(booking.state)))
        return booking.instrument_id, booking.user
    require_lab_side(session, actor, instrument_id)
    if user is None or authorisations.valid_authorisation(session, user.id, instrument_id, clock.local_date(now),
                                                           settings) is None:
        raise PolicyDenied("not_authorised", MSG_NOT_AUTHORISED)
    return instrument_id, user


def _may_switch_on(session, actor, now, booking, instrument_id, user, settings, plug):
    """A booking's session on an interlocked instrument, or one its own user starts: within the slot,
    and a self-operated booking's user holds a valid authorisation (a walk-in's was checked already)."""
    if booking is None or (plug is None and not _is_own(actor, booking)):
        return
    grace = plug.grace if plug is not None else timedelta(minutes=rules_of(session, instrument_id).interlock_grace_minutes)
    interlock.require_within_slot(booking, grace, now)
    if booking.mode == "self_operated" and authorisations.valid_authorisation(
            session, user.id, instrument_id, clock.local_date(now), settings) is None:
        raise PolicyDenied("not_authorised", interlock.MSG_NOT_AUTHORISED if plug is not None else MSG_NOT_AUTHORISED)


def start(session, actor: Actor, now: datetime, settings, *, booking: Booking | None = None, instrument_id=None,
          user: ServiceUser | None = None, operator_id=None, direction="research") -> UsageRecord:
    """开始使用: an open session from `now`; an interlocked instrument's plug is switched on."""
    instrument_id, user = _who(session, actor, now, booking, instrument_id, user, settings, own_user_may=True)
    if direction not in USAGE_DIRECTION.codes:
        raise RuleViolation({"direction": MSG_DIRECTION})
    plug = interlock.plug_of(session, instrument_id)
    _may_switch_on(session, actor, now, booking, instrument_id, user, settings, plug)
    if open_session_of(session, instrument_id) is not None:
        raise SessionOpen()
    usage = UsageRecord(instrument_id=instrument_id, booking=booking, user=user, started_at=now, source="manual",
                        service_type=service_type_of(user), direction=direction, operator_id=operator_id,
                        registered_by_id=actor.user_id, registered_at=now)
    session.add(usage)
    _flush_open(session)
    if plug is not None:
        interlock.request(session, plug, "on", now, reason="start", usage=usage, booking=booking, actor_id=actor.user_id)
    return usage


def end(session, actor: Actor, usage: UsageRecord, now: datetime, *, samples=None, samples_received=None,
        samples_returned=None, entered=None, cause="end") -> Completed:
    """结束使用: the open session ends at `now`, and is priced; an interlocked instrument's plug is
    switched off (`cause`: "end", or "slot_end" when the slot's end ended it)."""
    if not (_is_own(actor, usage.booking) and usage.booking.mode == "self_operated"):
        require_lab_side(session, actor, usage.instrument_id)
    if not usage.is_open:
        raise PolicyDenied("session_closed", MSG_NOT_OPEN)
    errors = {}
    counts = _samples(errors, samples, samples_received, samples_returned)
    if now <= usage.started_at:
        errors["end"] = MSG_ORDER
    if errors:
        raise RuleViolation(errors)
    # only if it is still open: the user's 结束使用, the lab's and the slot's end may race; one of them ends it
    session.flush()
    ended = session.execute(sa.update(UsageRecord).where(
        UsageRecord.id == usage.id, UsageRecord.ended_at.is_(None), UsageRecord.hours.is_(None))
        .values(ended_at=now, hours=clock.hours_between(usage.started_at, now), samples=counts[0], samples_received=counts[1],
                samples_returned=counts[2]).execution_options(synchronize_session=False))
    session.refresh(usage)
    if ended.rowcount != 1:
        raise PolicyDenied("session_closed", MSG_NOT_OPEN)
    plug = interlock.plug_of(session, usage.instrument_id)
    if plug is not None:
        interlock.request(session, plug, "off", now, reason=cause, usage=usage, booking=usage.booking,
                          actor_id=actor.user_id)
    return _completed(session, actor, usage, now, entered)


def _samples(errors, samples, received, returned):
    tested, got, back = _count(errors, "samples", samples), _count(errors, "samples_received", received), \
        _count(errors, "samples_returned", returned)
    if got is not None and back is not None and back > got:
        errors["samples_returned"] = MSG_RETURNED
    if got is not None and tested is not None and tested > got:
        errors["samples"] = MSG_TESTED
    return tested, got, back


def register(session, actor: Actor, now: datetime, settings, *, start: datetime | None, end: datetime | None,
             booking: Booking | None = None, instrument_id=None, user: ServiceUser | None = None, hours=None,
             samples=None, samples_received=None, samples_returned=None, operator_id=None, direction="research",
             entered=None) -> Completed:
    """A use registered after the fact (使用登记): per booking, or a walk-in."""
    instrument_id, user = _who(session, actor, now, booking, instrument_id, user, settings)
    errors, counts, span = _registration_errors(now, start, end, hours, samples, samples_received, samples_returned,
                                                direction)
    if errors:
        raise RuleViolation(errors)
    if _overlapping(session, instrument_id, start, end):
        raise PolicyDenied("usage_overlap", MSG_OVERLAP)
    usage = UsageRecord(instrument_id=instrument_id, booking=booking, user=user, started_at=start, ended_at=end,
                        hours=span, samples=counts[0], samples_received=counts[1], samples_returned=counts[2],
                        source="manual", service_type=service_type_of(user), direction=direction,
                        operator_id=operator_id, registered_by_id=actor.user_id, registered_at=now)
    session.add(usage)
    return _completed(session, actor, usage, now, entered)


def _registration_errors(now, start, end, hours, samples, samples_received, samples_returned, direction):
    """({field: message}, (tested, received, returned), hours) of a use registered after the fact."""
    errors, span = {}, None
    counts = _samples(errors, samples, samples_received, samples_returned)
    if direction not in USAGE_DIRECTION.codes:
        errors["direction"] = MSG_DIRECTION
    if start is None or end is None:
        errors["start"] = MSG_START
    elif end <= start:
        errors["end"] = MSG_ORDER
    elif end > now + timedelta(minutes=5):
        errors["end"] = MSG_FUTURE_END
    else:
        span = clock.hours_between(start, end)
        if hours not in (None, ""):
            try:
                given = Decimal(str(hours))
            except ArithmeticError:
                given = None
            if given is None or not given.is_finite() or abs(given - span) > HOURS_TOLERANCE:  # "NaN" parses
                errors["hours"] = gettext(str(MSG_HOURS), hours=f"{span:.2f}")
    return errors, counts, span


@dataclass(frozen=True)
class Registration:
    """One use of a scheduled booking, registered after the fact (a row of register_batch)."""

    booking_id: int
    start: datetime
    end: datetime
    samples: int | None = None
    samples_received: int | None = None
    samples_returned: int | None = None
    direction: str = "research"
    operator_id: int | None = None


def register_batch(session, actor: Actor, now: datetime, entries: list[Registration]) -> Batch:
    """The uses of scheduled bookings registered after the fact, in one batch (a ledger of services rendered,
    the demo's history): each checked as `register` checks one — the lab side of the booking's instrument,
    a booking that is scheduled, start before end and not in the future, the samples, the direction, no
    overlap with another registered use (in the database or the batch) — then written with a few
    statements, the bookings completed and the uses priced (settlement.charge_uses). Refused rows write
    nothing and are answered by index."""
    result = Batch()
    bookings = {b.id: b for b in session.execute(
        sa.select(Booking.id, Booking.instrument_id, Booking.user_id, Booking.state)
        .where(Booking.id.in_({e.booking_id for e in entries}))).all()}
    categories = dict(session.execute(sa.select(ServiceUser.id, CustomerOrg.category).join(CustomerOrg).where(
        ServiceUser.id.in_({b.user_id for b in bookings.values()}))).all())
    taken = {}  # instrument → [(start, end)] registered, in the database and in this batch
    if entries:
        low, high = min(e.start for e in entries if e.start), max(e.end for e in entries if e.end)
        for row in session.execute(sa.select(UsageRecord.instrument_id, UsageRecord.started_at, UsageRecord.ended_at).where(
                UsageRecord.instrument_id.in_({b.instrument_id for b in bookings.values()}), UsageRecord.source == "manual",
                UsageRecord.started_at < high, sa.func.coalesce(UsageRecord.ended_at, high) > low)):
            taken.setdefault(row.instrument_id, []).append((row.started_at, row.ended_at or high))
    sides, rows, kept, used = LabSides(session, actor), [], [], set()
    for index, e in enumerate(entries):
        booking = bookings.get(e.booking_id)
        if booking is None or e.booking_id in used:
            result.refuse(index, MSG_NO_BOOKING)
            continue
        denied = sides.refusal(booking.instrument_id)
        if denied is not None:
            result.refuse(index, denied)
            continue
        if booking.state not in REGISTRABLE:
            result.refuse(index, gettext(str(MSG_BOOKING_STATE), state=BOOKING_STATE.label(booking.state)))
            continue
        errors, counts, span = _registration_errors(now, e.start, e.end, None, e.samples, e.samples_received,
                                                    e.samples_returned, e.direction)
        if errors:
            result.refuse(index, "；".join(str(m) for m in errors.values()))
            continue
        spans = taken.setdefault(booking.instrument_id, [])
        if any(s < e.end and t > e.start for s, t in spans):
            result.refuse(index, MSG_OVERLAP)
            continue
        spans.append((e.start, e.end))
        used.add(e.booking_id)
        user_type = "internal" if categories.get(booking.user_id) == "campus" else "external"
        rows.append({"instrument_id": booking.instrument_id, "booking_id": booking.id, "user_id": booking.user_id,
                     "started_at": e.start, "ended_at": e.end, "hours": span, "samples": counts[0],
                     "samples_received": counts[1], "samples_returned": counts[2], "source": "manual",
                     "service_type": user_type, "direction": e.direction, "operator_id": e.operator_id,
                     "registered_by_id": actor.user_id, "registered_at": now})
        kept.append(index)
    if rows:
        table = UsageRecord.__table__
        id_of = dict(session.connection().execute(sa.insert(table).returning(table.c.booking_id, table.c.id), rows).all())
        session.connection().execute(sa.update(Booking.__table__).where(Booking.__table__.c.id == sa.bindparam("b_id"))
                                     .values(state="completed"), [{"b_id": r["booking_id"]} for r in rows])
        for index, row in zip(kept, rows):
            result.done[index] = id_of[row["booking_id"]]
        settlement.charge_uses(session, sa.select(UsageRecord.id).where(UsageRecord.id.in_(list(id_of.values()))), now,
                               actor.user_id)
    session.expire_all()
    return result


def _overlapping(session, instrument_id, start, end) -> bool:
    return session.execute(sa.select(UsageRecord.id).where(
        UsageRecord.instrument_id == instrument_id, UsageRecord.source == "manual", UsageRecord.started_at < end,
        sa.func.coalesce(UsageRecord.ended_at, end) > start).limit(1)).first() is not None


def _completed(session, actor: Actor, usage: UsageRecord, now: datetime, entered) -> Completed:
    booking = usage.booking
    if booking is not None:
        booking.state = "completed"
    if usage.user is not None:
        session.execute(sa.update(Authorisation).where(
            Authorisation.user_id == usage.user.id, Authorisation.instrument_id == usage.instrument_id,
            sa.or_(Authorisation.last_used_on.is_(None), Authorisation.last_used_on < clock.local_date(usage.started_at)))
            .values(last_used_on=clock.local_date(usage.started_at)).execution_options(synchronize_session="fetch"))
    session.flush()
    return Completed(usage, settlement.charge_use(session, usage, now, actor.user_id, entered))

