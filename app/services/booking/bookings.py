"""Booking (notice §(三)1 线上预约, §(四)2 answered within 5 working days): submission in three modes,
the lab's answer — schedule, delay, refuse —, cancellation, and no-shows.

- *Self-operated* (自主上机) books a slot and needs a valid authorisation to operate; it holds the
  slot from submission until refused or cancelled. Two holding slots of one instrument never
  overlap: the database refuses it (migration 0013), whatever process tries; the check here only
  finds the clash early for a kinder message.
- *Sample testing* (送样) gives a sample count and their description, and perhaps a wished-for day;
  *technical service* (技术服务) a description. The lab schedules a day.
- Every booking's respond-by is the 5th Chinese working day after its submission's Beijing date. A
  booking confirmed at once (the instrument's rule, an authorised user, a free slot) is answered at
  submission.
- A scheduled self-operated booking with no use within the grace after its start — no running
  period from its terminal and no registered use — becomes a no-show, unless the terminal showed
  the instrument off or in fault; enough no-shows in a window suspend the user's self-operated
  booking for a while (configuration).

Services take the acting user and `now`; they flush, and the caller commits or rolls back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import Booking, DeviceEvent, DeviceStatus, Instrument, ServiceUser, UsageRecord
from app.models.base import UtcDateTime

from app.services.booking import authorisations, rules as booking_rules
from app.services.people import contracts, notifications
from app.services.actors import Actor, require_lab_side
from app.services.errors import PolicyDenied, RuleViolation
from app.services.workdays import Deadline, WorkCalendar, load_calendar

RESPONSE_WORKING_DAYS = 5  # notice §(四)2
# the slot held: the scheduled one once answered, the requested one before (the SQL of the slot index);
# a slot lies within one day's opening hours, which bounds an overlap search from below
SLOT_START = sa.type_coerce(sa.func.coalesce(Booking.scheduled_start, Booking.requested_start), UtcDateTime())
SLOT_END = sa.type_coerce(sa.func.coalesce(Booking.scheduled_end, Booking.requested_end), UtcDateTime())
LONGEST_SLOT = timedelta(days=1)
MODES = ("self_operated", "sample", "service")
ANSWERABLE = ("pending",)
RESCHEDULABLE = ("pending", "scheduled")


class SlotTaken(PolicyDenied):
    """Another holding booking has the slot (answered 409)."""

    def __init__(self):
        super().__init__("slot_taken", _("This slot is already booked; choose another time."))


@dataclass(frozen=True)
class Settings:
    """The configurable parts of the rules (config.BOOKING)."""

    no_show_grace_minutes: int = 30
    no_show_limit: int = 3
    no_show_window_days: int = 90
    no_show_suspension_days: int = 30
    authorisation_lapse_months: int = 12
    standard_terms: int = 1  # an outside user without a contract may accept the standard terms (Art. 16)

    @classmethod
    def of(cls, config) -> "Settings":
        values = config.get("BOOKING", {})
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})


MSG_NOT_BOOKABLE = _("This instrument cannot be booked: it is not open for booking, not shared, or out of service.")
MSG_MODE = _("This instrument does not take this kind of booking.")
MSG_SAMPLES = _("Give the number of samples (a whole number, at least 1).")
MSG_SLOT_NEEDED = _("Give the start and end of the slot.")
MSG_DESCRIPTION = _("Describe the service you need.")
MSG_REASON = _("Give the reason.")
MSG_ALTERNATIVE = _("Offer an alternative: another time, or a comparable instrument.")
MSG_DAY_NEEDED = _("Give the day.")
DENIED_ACCOUNT = _("Your account is not active yet: it waits for an administrator's approval.")
DENIED_NOT_AUTHORISED = _("You are not authorised to operate this instrument yourself; book sample testing or a "
                          "technical service, or ask its laboratory for training.")
DENIED_STATE = _("This booking cannot be changed in its current state.")
DENIED_IN_USE = _("This booking's use is in progress: end the use instead of cancelling.")
DENIED_NOT_YOURS = _("This is not your booking.")


def denied_suspended(until: date, reason: str):
    return PolicyDenied("suspended", _("Your self-operated booking is suspended until %(day)s: %(reason)s",
                                       day=until.isoformat(), reason=reason or ""))


# -- the clock ---------------------------------------------------------------------------------

def respond_by(calendar: WorkCalendar, submitted_at: datetime) -> Deadline:
    """The 5th Chinese working day after the submission's Beijing date (and whether official data covered it)."""
    return calendar.add_working_days(clock.local_date(submitted_at), RESPONSE_WORKING_DAYS)


def is_overdue(booking: Booking, today: date) -> bool:
    return booking.state == "pending" and booking.respond_by is not None and booking.respond_by < today


def overdue_clause(today: date):
    return sa.and_(Booking.state == "pending", Booking.respond_by < today)


# -- who may book --------------------------------------------------------------------------------

def _require_active(user: ServiceUser):
    if user.status != "active":
        raise PolicyDenied("account_inactive", DENIED_ACCOUNT)


def _require_not_suspended(user: ServiceUser, today: date):
    if user.suspended_until is not None and user.suspended_until >= today:
        raise denied_suspended(user.suspended_until, user.suspension_reason)


# -- slots ---------------------------------------------------------------------------------------

def clashes(session, instrument_id, start: datetime, end: datetime, exclude_id=None):
    """Holding self-operated bookings of the instrument overlapping [start, end)."""
    query = sa.select(Booking.id).where(Booking.instrument_id == instrument_id, Booking.mode == "self_operated",
                                        Booking.state.in_(Booking.HOLDING), SLOT_START >= start - LONGEST_SLOT,
                                        SLOT_START < end, SLOT_END > start)
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    return session.execute(query).scalars().all()


def _flush_holding(session):
    """Write; the database's own overlap rule answers for two processes at once."""
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        if "booking_slot_taken" in str(error.orig) or getattr(error.orig, "sqlstate", None) == "23P01":
            raise SlotTaken() from error
        raise


# -- submission ----------------------------------------------------------------------------------

def submit(session, user: ServiceUser, instrument_id, mode, now: datetime, settings: Settings, *, start=None, end=None,
           day: date | None = None, sample_count=None, purpose=None, samples=None, hazards=None, disposal=None,
           accept_terms: bool | None = None, calendar: WorkCalendar | None = None) -> Booking:
    """A new booking by `user`; raises RuleViolation (bad input), PolicyDenied (not allowed) or SlotTaken."""
    today = clock.local_date(now)
    calendar = calendar or load_calendar(session)
    _require_active(user)
    instrument = session.get(Instrument, instrument_id) if instrument_id is not None else None
    if instrument is None or not instrument.can_be_booked:
        raise RuleViolation({"instrument_id": MSG_NOT_BOOKABLE})
    if mode not in MODES:
        raise RuleViolation({"mode": _("Must be one of: %(choices)s.", choices=", ".join(MODES))})
    rules = booking_rules.rules_of(session, instrument.id)
    if not rules.accepts(mode):
        raise RuleViolation({"mode": MSG_MODE})
    booking = Booking(instrument_id=instrument.id, user_id=user.id, mode=mode, purpose=(purpose or "").strip() or None,
                      submitted_at=now, state="pending")
    authorised = False
    if mode == "self_operated":
        if start is None or end is None:
            raise RuleViolation({"start": MSG_SLOT_NEEDED})
        problems = booking_rules.slot_problems(session, instrument.id, start, end, now, rules, calendar)
        if problems:
            raise RuleViolation(problems)
        _require_not_suspended(user, today)
        authorised = authorisations.valid_authorisation(session, user.id, instrument.id, today, settings) is not None
        if not authorised:
            raise PolicyDenied("not_authorised", DENIED_NOT_AUTHORISED)
        if clashes(session, instrument.id, start, end):
            raise SlotTaken()
        booking.requested_start, booking.requested_end = start, end
    else:
        if mode == "sample":
            if not isinstance(sample_count, int) or isinstance(sample_count, bool) or sample_count < 1:
                raise RuleViolation({"sample_count": MSG_SAMPLES})
            booking.sample_count = sample_count
        elif not booking.purpose:
            raise RuleViolation({"purpose": MSG_DESCRIPTION})
        if day is not None:
            problems = booking_rules.day_problems(session, instrument.id, day, today, rules, calendar)
            if problems:
                raise RuleViolation(problems)
            booking.requested_date = day
        booking.samples, booking.sample_hazards, booking.sample_disposal = samples, hazards, disposal
    service_day = clock.local_date(start) if start is not None else (day or today)
    contract, booking.terms_accepted_at = contracts.on_submission(session, user, instrument.id, service_day, now,
                                                                 accept_terms, bool(settings.standard_terms))
    booking.contract_id = contract.id if contract is not None else None
    deadline = respond_by(calendar, now)
    booking.respond_by, booking.respond_by_official = deadline.day, deadline.official
    if mode == "self_operated" and rules.auto_confirm and authorised and (
            contract is not None or booking.terms_accepted_at is not None or not contracts.is_outside(user)):
        booking.state, booking.responded_at = "scheduled", now  # answered at submission
        booking.scheduled_start, booking.scheduled_end = start, end
    session.add(booking)
    _flush_holding(session)
    notifications.submitted(session, booking, now)
    return booking


# -- the lab's answer ------------------------------------------------------------------------------

def _require_state(booking, states):
    if booking.state not in states:
        raise PolicyDenied("wrong_state", DENIED_STATE)


def _place(session, booking, now, *, start=None, end=None, day=None, calendar=None, settings=None):
    """Set the slot (self-operated) or the day (sample, service) the lab gives, checked like a booking
    but from the lab's side (its opening hours and closures, not the user's horizons)."""
    calendar = calendar or load_calendar(session)
    rules = booking_rules.rules_of(session, booking.instrument_id)
    if booking.mode == "self_operated":
        start = start or booking.requested_start
        end = end or booking.requested_end
        if start is None or end is None:
            raise RuleViolation({"start": MSG_SLOT_NEEDED})
        problems = booking_rules.slot_problems(session, booking.instrument_id, start, end, now, rules, calendar, lab_side=True)
        if problems:
            raise RuleViolation(problems)
        if clashes(session, booking.instrument_id, start, end, exclude_id=booking.id):
            raise SlotTaken()
        contracts.require_cover(session, booking, clock.local_date(start), bool((settings or Settings()).standard_terms))
        booking.scheduled_start, booking.scheduled_end = start, end
    else:
        day = day or booking.requested_date
        if day is None:
            raise RuleViolation({"date": MSG_DAY_NEEDED})
        problems = booking_rules.day_problems(session, booking.instrument_id, day, clock.local_date(now), rules, calendar,
                                              lab_side=True)
        if problems:
            raise RuleViolation(problems)
        contracts.require_cover(session, booking, day, bool((settings or Settings()).standard_terms))
        booking.scheduled_date = day


def schedule(session, actor: Actor, booking: Booking, now: datetime, *, start=None, end=None, day=None,
             settings: Settings | None = None) -> Booking:
    """The lab confirms a pending booking, at the time asked or the one it gives (an outside user's
    needs a valid contract, or the standard terms accepted where they apply)."""
    require_lab_side(session, actor, booking.instrument_id)
    _require_state(booking, ANSWERABLE)
    instrument = session.get(Instrument, booking.instrument_id)
    if not instrument.can_be_booked:  # asked before it broke down, say: the answer is a delay or a refusal
        raise RuleViolation({"instrument_id": gettext("%(why)s Delay the booking or refuse it, giving the reason.",
                                                      why=instrument.not_bookable_message)})
    _place(session, booking, now, start=start, end=end, day=day, settings=settings)
    booking.state, booking.responded_at = "scheduled", booking.responded_at or now
    _flush_holding(session)
    notifications.scheduled(session, booking, now)
    return booking


def delay(session, actor: Actor, booking: Booking, now: datetime, reason, *, start=None, end=None, day=None,
          settings: Settings | None = None) -> Booking:
    """The lab gives a later time (or moves a scheduled one), with the reason (notice §(四)2)."""
    require_lab_side(session, actor, booking.instrument_id)
    _require_state(booking, RESCHEDULABLE)
    if not (reason or "").strip():
        raise RuleViolation({"reason": MSG_REASON})
    if booking.mode == "self_operated" and (start is None or end is None):
        raise RuleViolation({"start": MSG_SLOT_NEEDED})
    if booking.mode != "self_operated" and day is None:
        raise RuleViolation({"date": MSG_DAY_NEEDED})
    _place(session, booking, now, start=start, end=end, day=day, settings=settings)
    booking.state, booking.delayed, booking.response_reason = "scheduled", True, reason.strip()
    booking.responded_at = booking.responded_at or now
    _flush_holding(session)
    notifications.delayed(session, booking, now)
    return booking


def refuse(session, actor: Actor, booking: Booking, now: datetime, reason, alternative=None,
           alternative_instrument_id=None) -> Booking:
    """The lab refuses, with the reason and an alternative offered: another time, or a comparable instrument."""
    require_lab_side(session, actor, booking.instrument_id)
    _require_state(booking, RESCHEDULABLE)
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = MSG_REASON
    if not (alternative or "").strip() and alternative_instrument_id is None:
        errors["alternative"] = MSG_ALTERNATIVE
    if alternative_instrument_id is not None:
        other = session.get(Instrument, alternative_instrument_id)
        if other is None or not other.can_be_booked:
            errors["alternative_instrument_id"] = MSG_NOT_BOOKABLE
    if errors:
        raise RuleViolation(errors)
    booking.state, booking.response_reason = "refused", reason.strip()
    booking.alternative = (alternative or "").strip() or None
    booking.alternative_instrument_id = alternative_instrument_id
    booking.responded_at = booking.responded_at or now
    session.flush()
    notifications.refused(session, booking, now)
    return booking


def _starts_at(booking: Booking):
    if booking.mode == "self_operated":
        return booking.slot_start
    day = booking.scheduled_date or booking.requested_date
    return clock.start_of(day) if day else None


def cancel(session, booking: Booking, now: datetime, *, user: ServiceUser | None = None, actor: Actor | None = None) -> Booking:
    """Cancelled by its own user (after the instrument's deadline it counts as late) or by its lab."""
    if user is not None:
        if booking.user_id != user.id:
            raise PolicyDenied("not_yours", DENIED_NOT_YOURS)
    else:
        require_lab_side(session, actor, booking.instrument_id)
    _require_state(booking, RESCHEDULABLE)
    if session.execute(sa.select(UsageRecord.id).where(UsageRecord.booking_id == booking.id, UsageRecord.source == "manual",
                                                       UsageRecord.ended_at.is_(None))).first():
        raise PolicyDenied("in_use", DENIED_IN_USE)
    rules = booking_rules.rules_of(session, booking.instrument_id)
    starts = _starts_at(booking)
    booking.late_cancellation = bool(user is not None and booking.state == "scheduled" and starts is not None
                                     and now > starts - timedelta(hours=rules.cancel_hours_before))
    booking.state, booking.cancelled_at = "cancelled", now
    session.flush()
    notifications.cancelled(session, booking, now, by_user=user is not None)
    return booking


# -- no-shows --------------------------------------------------------------------------------------

def _excused(session, instrument: Instrument, start: datetime, until: datetime) -> bool:
    """The terminal showed the instrument off or in fault when the slot began: not the user's doing."""
    if not instrument.iot_terminal_id:
        return False
    last_before = session.execute(sa.select(DeviceEvent.to_state).where(
        DeviceEvent.terminal_id == instrument.iot_terminal_id, DeviceEvent.at <= start)
        .order_by(DeviceEvent.at.desc()).limit(1)).scalar()
    if last_before in ("off", "fault"):
        return True
    return session.execute(sa.select(sa.func.count()).select_from(DeviceEvent).where(
        DeviceEvent.terminal_id == instrument.iot_terminal_id, DeviceEvent.at > start, DeviceEvent.at <= until,
        DeviceEvent.to_state.in_(("off", "fault")))).scalar() > 0


def _used(session, booking: Booking, until: datetime) -> bool:
    """A registered use of the booking, or a running period of its instrument's terminal that began
    before the grace ran out and had not ended before the slot."""
    return session.execute(sa.select(sa.func.count()).select_from(UsageRecord).where(
        sa.or_(UsageRecord.booking_id == booking.id,
               sa.and_(UsageRecord.instrument_id == booking.instrument_id, UsageRecord.source == "iot",
                       UsageRecord.started_at <= until,
                       sa.func.coalesce(UsageRecord.ended_at, until) >= booking.scheduled_start)))).scalar() > 0 \
        or _running_now(session, booking.instrument, until)


def _running_now(session, instrument: Instrument, until: datetime) -> bool:
    if not instrument.iot_terminal_id:
        return False
    status = session.get(DeviceStatus, instrument.iot_terminal_id)
    return status is not None and status.running_since is not None and status.running_since <= until


def mark_no_shows(session, now: datetime, settings: Settings) -> list:
    """Mark the scheduled self-operated bookings whose grace has passed without use; suspend users
    over the limit. Returns the bookings marked."""
    grace = timedelta(minutes=settings.no_show_grace_minutes)
    due = session.execute(sa.select(Booking).where(
        Booking.mode == "self_operated", Booking.state == "scheduled", Booking.scheduled_start <= now - grace)
        .order_by(Booking.scheduled_start)).scalars().all()
    marked = []
    for booking in due:
        until = booking.scheduled_start + grace
        if _used(session, booking, until) or _excused(session, booking.instrument, booking.scheduled_start, until):
            continue
        booking.state, booking.no_show_at = "no_show", now
        notifications.no_show(session, booking, now)
        marked.append(booking)
    session.flush()
    today = clock.local_date(now)
    for user_id in {b.user_id for b in marked}:
        _suspend_if_over_limit(session, session.get(ServiceUser, user_id), now, today, settings)
    return marked


def _suspend_if_over_limit(session, user: ServiceUser, now, today, settings):
    since = now - timedelta(days=settings.no_show_window_days)
    count = session.execute(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.user_id == user.id, Booking.state == "no_show", Booking.no_show_at >= since)).scalar()
    if count >= settings.no_show_limit and (user.suspended_until is None or user.suspended_until < today):
        user.suspended_until = today + timedelta(days=settings.no_show_suspension_days)
        user.suspension_reason = str(_("%(count)s no-shows within %(days)s days", count=count,
                                       days=settings.no_show_window_days))
        session.flush()
        notifications.suspended(session, user, now)
