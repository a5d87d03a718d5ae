"""Who each step of the booking flow concerns, and what it tells them (issue 13, item 8).

A step writes its messages in its own transaction, so a message exists exactly when its step does.
A message goes to the in-app message centre of the recipient's account and, when the account has an
e-mail address, is marked to be e-mailed too; once the transaction commits, the mail task on the queue
sends it (app/tasks.py wires `install`; with no MAIL_SERVER configured nothing is sent and the
message stays in the console). A scheduled slot's message carries its `.ics`.

The lab side of an instrument is its lab's administrators; a lab without one falls back to its
college's, then to the school's. The user side is the booking's service user's account.

Reminders (the day before) and respond-by warnings (one working day before) are sent by periodic
tasks, each at most once per booking and day (`dedupe_key`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.models import Booking, Instrument, Message, PlatformUser, Unit
from app.models.booking import Slot
from app.models.choices import BOOKING_MODE
from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, SCHOOL_ADMIN

from app.services import after_commit
from app.services.workdays import WorkCalendar, load_calendar


def slot_text(slot: Slot) -> str:
    """A booking's time (Booking.slot) as the offices write it: the slot, else the day (scheduled, else wished for)."""
    if slot.start is not None:
        return f"{clock.display(slot.start)}–{clock.display(slot.end, '%H:%M')}"
    return slot.day.isoformat() if slot.day else gettext("day to be set by the lab")


def time_text(booking: Booking) -> str:
    return slot_text(booking.slot)


# -- recipients ------------------------------------------------------------------------------------

def _accounts_with_role(session, role_name, unit_ids):
    role = PlatformUser.roles.property.mapper.class_
    query = (sa.select(PlatformUser).join(PlatformUser.roles).where(role.name == role_name, PlatformUser.active.is_(True))
             .order_by(PlatformUser.id))
    if unit_ids is not None:
        query = query.where(PlatformUser.unit_id.in_(unit_ids))
    return session.execute(query).scalars().unique().all()


def lab_side(session, instrument: Instrument) -> list:
    """The accounts that answer for the instrument: its lab's administrators, else its college's, else the school's."""
    return unit_side(session, instrument.unit_id)


def unit_side(session, unit_id: int) -> list:
    """The accounts that answer for a unit: its own administrators (of its level), else the nearest above's."""
    unit = session.get(Unit, unit_id)
    ancestors = [int(part) for part in unit.path.strip("/").split("/")]  # the materialised path: "/1/4/17/"
    for role_name, unit_ids in ((LAB_ADMIN, [unit.id]), (COLLEGE_ADMIN, ancestors)):
        found = _accounts_with_role(session, role_name, unit_ids)
        if found:
            return found
    return _accounts_with_role(session, SCHOOL_ADMIN, None)


def user_side(booking: Booking) -> list:
    account = booking.user.account if booking.user is not None else None
    return [account] if account is not None and account.active else []


# -- writing ---------------------------------------------------------------------------------------

def post(session, recipients, kind, subject, body, now: datetime, *, link=None, booking=None, ics=False,
         dedupe=None) -> list[Message]:
    """One message per recipient; with `dedupe`, never a second one with the same key and recipient."""
    made = []
    for account in recipients:
        key = f"{dedupe}:{account.id}"[:120] if dedupe else None
        if key and session.execute(sa.select(Message.id).where(Message.dedupe_key == key)).first():
            continue
        message = Message(recipient_id=account.id, kind=kind, subject=str(subject)[:200], body=str(body), link=link,
                          booking_id=booking.id if booking is not None else None, attach_ics=ics, dedupe_key=key,
                          created_at=now, email_to=account.email or None)
        session.add(message)
        made.append(message)
    session.flush()
    return made


def _lab_link(booking):
    return f"/bookingrecordview/show/{booking.id}"


def _user_link(booking):
    return f"/mybookingview/show/{booking.id}"


def _names(booking):
    return {"instrument": booking.instrument.name, "mode": BOOKING_MODE.label(booking.mode), "when": time_text(booking),
            "user": booking.user.name if booking.user else ""}


# -- the steps -------------------------------------------------------------------------------------

def submitted(session, booking: Booking, now: datetime):
    n = _names(booking)
    if booking.state == "scheduled":  # confirmed at once: the lab is told, the user gets its time
        post(session, user_side(booking), "confirmed", gettext("Booking confirmed: %(instrument)s", **n),
             gettext("Your %(mode)s booking of %(instrument)s for %(when)s is confirmed.", **n), now,
             link=_user_link(booking), booking=booking, ics=True)
        post(session, lab_side(session, booking.instrument), "confirmed",
             gettext("Booked and confirmed: %(instrument)s", **n),
             gettext("%(user)s booked %(instrument)s (%(mode)s) for %(when)s; it was confirmed at once.", **n), now,
             link=_lab_link(booking), booking=booking)
        return
    day = booking.respond_by.isoformat()
    post(session, lab_side(session, booking.instrument), "submitted", gettext("New booking to answer: %(instrument)s", **n),
         gettext("%(user)s asks for %(instrument)s (%(mode)s), %(when)s. Answer by %(day)s.", day=day, **n), now,
         link=_lab_link(booking), booking=booking)
    post(session, user_side(booking), "submitted", gettext("Booking received: %(instrument)s", **n),
         gettext("Your %(mode)s booking of %(instrument)s (%(when)s) is with the lab, which answers by %(day)s.",
                 day=day, **n), now, link=_user_link(booking), booking=booking)


def scheduled(session, booking: Booking, now: datetime):
    n = _names(booking)
    post(session, user_side(booking), "scheduled", gettext("Booking scheduled: %(instrument)s, %(when)s", **n),
         gettext("The lab scheduled your %(mode)s booking of %(instrument)s for %(when)s.", **n), now,
         link=_user_link(booking), booking=booking, ics=True)


def delayed(session, booking: Booking, now: datetime):
    n = _names(booking)
    post(session, user_side(booking), "delayed", gettext("Booking moved: %(instrument)s, now %(when)s", **n),
         gettext("The lab moved your %(mode)s booking of %(instrument)s to %(when)s. Reason: %(reason)s",
                 reason=booking.response_reason, **n), now, link=_user_link(booking), booking=booking, ics=True)


def refused(session, booking: Booking, now: datetime):
    n = _names(booking)
    offer = booking.alternative or ""
    if booking.alternative_instrument_id:
        other = session.get(Instrument, booking.alternative_instrument_id)
        offer = "；".join(filter(None, [offer, gettext("a comparable instrument: %(name)s", name=other.name)]))
    post(session, user_side(booking), "refused", gettext("Booking not accepted: %(instrument)s", **n),
         gettext("The lab could not take your %(mode)s booking of %(instrument)s (%(when)s). Reason: %(reason)s. "
                 "It offers: %(offer)s", reason=booking.response_reason, offer=offer, **n), now,
         link=_user_link(booking), booking=booking)


def cancelled(session, booking: Booking, now: datetime, by_user: bool):
    n = _names(booking)
    if by_user:
        late = gettext(" (after the cancellation deadline)") if booking.late_cancellation else ""
        post(session, lab_side(session, booking.instrument), "cancelled",
             gettext("Booking cancelled by its user: %(instrument)s", **n),
             gettext("%(user)s cancelled the %(mode)s booking of %(instrument)s for %(when)s%(late)s.", late=late, **n),
             now, link=_lab_link(booking), booking=booking)
    else:
        post(session, user_side(booking), "cancelled", gettext("Booking cancelled by the lab: %(instrument)s", **n),
             gettext("The lab cancelled your %(mode)s booking of %(instrument)s for %(when)s.", **n), now,
             link=_user_link(booking), booking=booking)


def no_show(session, booking: Booking, now: datetime):
    n = _names(booking)
    post(session, user_side(booking), "no_show", gettext("Marked as a no-show: %(instrument)s", **n),
         gettext("Nobody used %(instrument)s in your slot %(when)s, and the instrument was not off or in fault: "
                 "the booking counts as a no-show.", **n), now, link=_user_link(booking), booking=booking)


def suspended(session, user, now: datetime):
    if user.account is None:
        return
    post(session, [user.account], "suspended", gettext("Self-operated booking suspended until %(day)s",
                                                       day=user.suspended_until.isoformat()),
         gettext("Self-operated booking is suspended until %(day)s: %(reason)s. Sample testing and technical "
                 "service can still be booked.", day=user.suspended_until.isoformat(), reason=user.suspension_reason),
         now, link="/mybookingview/list/")


# -- the periodic ones -----------------------------------------------------------------------------

def _starts_on(day: date):
    start, end = clock.day_bounds(day)
    return sa.or_(sa.and_(Booking.mode == "self_operated", Booking.scheduled_start >= start, Booking.scheduled_start < end),
                  sa.and_(Booking.mode != "self_operated", Booking.scheduled_date == day))


def send_reminders(session, now: datetime) -> int:
    """The day before (Beijing), each scheduled booking's user is reminded once."""
    tomorrow = clock.local_date(now) + timedelta(days=1)
    due = session.execute(sa.select(Booking).where(Booking.state == "scheduled", _starts_on(tomorrow))
                          .order_by(Booking.id)).scalars().all()
    sent = 0
    for booking in due:
        n = _names(booking)
        sent += len(post(session, user_side(booking), "reminder", gettext("Tomorrow: %(instrument)s, %(when)s", **n),
                         gettext("A reminder of your %(mode)s booking of %(instrument)s tomorrow, %(when)s. "
                                 "Cancel it on the platform if you cannot come.", **n), now,
                         link=_user_link(booking), booking=booking, ics=True,
                         dedupe=f"reminder:{booking.id}:{tomorrow.isoformat()}"))
    return sent


def warn_respond_by(session, now: datetime, calendar: WorkCalendar | None = None) -> int:
    """One working day before a pending booking's respond-by, its lab side is warned once."""
    calendar = calendar or load_calendar(session)
    today = clock.local_date(now)
    next_workday = today + timedelta(days=1)
    while not calendar.is_workday(next_workday)[0]:
        next_workday += timedelta(days=1)
    due = session.execute(sa.select(Booking).where(Booking.state == "pending", Booking.respond_by > today,
                                                   Booking.respond_by <= next_workday)
                          .order_by(Booking.respond_by, Booking.id)).scalars().all()
    sent = 0
    for booking in due:
        n = _names(booking)
        day = booking.respond_by.isoformat()
        sent += len(post(session, lab_side(session, booking.instrument), "respond_by_warning",
                         gettext("Answer by %(day)s: %(instrument)s", day=day, **n),
                         gettext("%(user)s's %(mode)s booking of %(instrument)s (%(when)s) is still unanswered; "
                                 "the 5 working days end on %(day)s.", day=day, **n), now,
                         link=_lab_link(booking), booking=booking, dedupe=f"respond_by:{booking.id}:{day}"))
    return sent


def unread_count(session, account_id) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(Message).where(
        Message.recipient_id == account_id, Message.read_at.is_(None))).scalar()


def mark_read(session, message: Message, now: datetime):
    if message.read_at is None:
        message.read_at = now
        session.flush()


# -- after commit: the mail ------------------------------------------------------------------------

def _to_mail(session, obj):
    return obj.id if isinstance(obj, Message) and obj in session.new and obj.email_to else None


def install(enqueue):
    """Call `enqueue(message_id)` for each message to be e-mailed, once its transaction has committed
    (never for a rolled-back step)."""
    after_commit.install("message_mail", _to_mail, enqueue)


# -- the power interlock (app/services/iot/interlock_sweep.py) -------------------------------------------

def slot_ending(session, booking: Booking, cut_at: datetime, now: datetime):
    """The slot has ended with the session still open: the user (and the lab) learn when the power goes."""
    n = _names(booking)
    cut = clock.display(cut_at, "%H:%M")
    post(session, user_side(booking), "interlock_warning", gettext("Your slot has ended: %(instrument)s", **n),
         gettext("Your slot on %(instrument)s (%(when)s) has ended. End your use: the instrument's power is switched off "
                 "at %(cut)s.", cut=cut, **n), now, link=_user_link(booking), booking=booking,
         dedupe=f"interlock-warning:{booking.id}")
    post(session, lab_side(session, booking.instrument), "interlock_warning",
         gettext("Slot ended, use still open: %(instrument)s", **n),
         gettext("%(user)s's slot on %(instrument)s (%(when)s) has ended and the use is still open; the power is "
                 "switched off at %(cut)s.", cut=cut, **n), now, link=_lab_link(booking), booking=booking,
         dedupe=f"interlock-warning:{booking.id}")


def cut_held(session, booking: Booking, now: datetime):
    """The slot's end passed but the instrument is measuring: the power stays on until the run ends."""
    n = _names(booking)
    post(session, lab_side(session, booking.instrument), "interlock_held",
         gettext("Power kept on during a run: %(instrument)s", **n),
         gettext("%(user)s's slot on %(instrument)s (%(when)s) is over, but the terminal reports a run in progress. "
                 "The power is switched off once the run ends.", **n), now, link=_lab_link(booking), booking=booking,
         dedupe=f"interlock-held:{booking.id}")


def command_failed(session, command, now: datetime):
    """A plug never confirmed a command: the lab must look at the plug."""
    instrument = session.get(Instrument, command.instrument_id)
    action = gettext("switch on") if command.action == "on" else gettext("switch off")
    names = {"terminal": command.terminal_id, "instrument": instrument.name, "action": action, "attempts": command.attempts}
    body = gettext("The plug %(terminal)s of %(instrument)s did not confirm the command to %(action)s after %(attempts)s "
                   "attempts. Check the plug and its network.", **names) if command.attempts else \
        gettext("The command to %(action)s the plug %(terminal)s of %(instrument)s was never sent: check that the IoT "
                "bridge is running and can reach the broker.", **names)
    return post(session, lab_side(session, instrument), "interlock_failed",
         gettext("Plug did not confirm: %(instrument)s", instrument=instrument.name), body, now,
         link=f"/bookingrecordview/show/{command.booking_id}" if command.booking_id else "/interlockcommandview/list/",
         dedupe=f"interlock-failed:{command.id}")


# -- the PI's approval of on-campus charges (app/services/money/pi_approval.py) -------------------------------

def _charge_names(approval):
    charge = approval.charge
    return {"instrument": charge.usage.instrument.name, "total": f"{charge.total:.2f}", "pi": approval.pi_name or "",
            "user": charge.user.name if charge.user else "", "account": approval.project_account or "—"}


def pi_approval_asked(session, approval, now: datetime):
    n = _charge_names(approval)
    instrument = approval.charge.usage.instrument
    link = f"/chargeview/show/{approval.charge_id}"
    if approval.email_to:
        body = gettext("The charge of %(total)s yuan for %(user)s's use of %(instrument)s goes to the project account "
                       "%(account)s; its PI %(pi)s has been asked to approve it by e-mail. It can be invoiced once approved.", **n)
    else:
        body = gettext("The charge of %(total)s yuan for %(user)s's use of %(instrument)s goes to the project account "
                       "%(account)s, whose PI has no e-mail address here: obtain the approval on paper and record it on "
                       "the charge's page.", **n)
    post(session, lab_side(session, instrument), "pi_approval_asked",
         gettext("Awaiting the PI's approval: %(instrument)s, %(total)s yuan", **n), body, now, link=link)
    account = approval.charge.user.account if approval.charge.user is not None else None
    if account is not None and account.active:
        post(session, [account], "pi_approval_asked", gettext("Awaiting your PI's approval: %(instrument)s", **n),
             gettext("The charge of %(total)s yuan for your use of %(instrument)s goes to the project account %(account)s "
                     "and waits for the approval of its PI.", **n), now, link=f"/mychargeview/show/{approval.charge_id}")


def pi_decided(session, approval, now: datetime):
    n = _charge_names(approval)
    instrument = approval.charge.usage.instrument
    if approval.state == "approved":
        subject = gettext("Approved by the PI: %(instrument)s, %(total)s yuan", **n)
        body = gettext("%(pi)s approved the charge of %(total)s yuan to the project account %(account)s; it can be invoiced.", **n)
    else:
        subject = gettext("Rejected by the PI: %(instrument)s, %(total)s yuan", **n)
        body = gettext("%(pi)s rejected the charge of %(total)s yuan to the project account %(account)s. Reason: %(reason)s",
                       reason=approval.note, **n)
    post(session, lab_side(session, instrument), "pi_decided", subject, body, now, link=f"/chargeview/show/{approval.charge_id}")
    account = approval.charge.user.account if approval.charge.user is not None else None
    if account is not None and account.active:
        post(session, [account], "pi_decided", subject, body, now, link=f"/mychargeview/show/{approval.charge_id}")
