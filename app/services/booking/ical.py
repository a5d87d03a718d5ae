"""iCalendar (RFC 5545) for bookings (issue 13): a service user's own bookings behind a secret URL,
an instrument's bookings for its lab, and the `.ics` attached to a scheduled slot's e-mail. Times go
out in Asia/Shanghai with its VTIMEZONE, so Outlook and phones show them as the lab means them.

A slot is a timed event; a sample or service day an all-day one. A pending booking is TENTATIVE, a
scheduled or completed one CONFIRMED, a refused or cancelled one CANCELLED (so a subscribed calendar
drops it instead of keeping a stale time)."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import gettext
import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import clock
from app.models import Booking, Closure, Instrument, InstrumentFeed, ServiceUser
from app.models.choices import BOOKING_MODE, BOOKING_STATE, CLOSURE_KIND

from app.services.booking.bookings import SLOT_START

PRODID = "-//Hunan university instrument sharing platform//booking//ZH"
STATUS = {"pending": "TENTATIVE", "scheduled": "CONFIRMED", "completed": "CONFIRMED", "no_show": "CONFIRMED",
          "refused": "CANCELLED", "cancelled": "CANCELLED"}
FEED_PAST = timedelta(days=90)  # how far back a feed reaches
FEED_AHEAD = timedelta(days=180)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def personal_token(session, user: ServiceUser, renew=False) -> str:
    """The secret of the user's own feed, created on first use; `renew` replaces it (the old URL stops)."""
    if renew or not user.calendar_token:
        user.calendar_token = new_token()
        session.flush()
    return user.calendar_token


def instrument_token(session, instrument_id, actor_id=None, renew=False) -> str:
    feed = session.get(InstrumentFeed, instrument_id)
    if feed is None:
        feed = InstrumentFeed(instrument_id=instrument_id, token=new_token(), created_by_id=actor_id)
        session.add(feed)
    elif renew:
        feed.token, feed.created_at, feed.created_by_id = new_token(), clock.now(), actor_id
    session.flush()
    return feed.token


def _calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    return cal


def booking_event(booking: Booking, host: str, now: datetime, *, with_user=False) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@{host}")
    event.add("dtstamp", now.astimezone(clock.UTC))
    instrument = booking.instrument
    mode = BOOKING_MODE.label(booking.mode)
    summary = f"{instrument.name}（{mode}）"
    if with_user and booking.user is not None:
        summary = f"{booking.user.name}：{summary}"
    event.add("summary", summary)
    if booking.mode == "self_operated" and booking.slot_start is not None:
        event.add("dtstart", clock.local(booking.slot_start))
        event.add("dtend", clock.local(booking.slot_end))
    else:
        day = booking.scheduled_date or booking.requested_date
        if day is None:
            day = clock.local_date(booking.submitted_at)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
    event.add("status", STATUS.get(booking.state, "TENTATIVE"))
    if instrument.location:
        event.add("location", instrument.location)
    lines = [gettext("State: %(state)s", state=BOOKING_STATE.label(booking.state))]
    if booking.purpose:
        lines.append(booking.purpose)
    if booking.response_reason:
        lines.append(gettext("The lab's reason: %(reason)s", reason=booking.response_reason))
    event.add("description", "\n".join(lines))
    return event


def _closure_event(closure: Closure, host: str, now: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"closure-{closure.id}@{host}")
    event.add("dtstamp", now.astimezone(clock.UTC))
    event.add("summary", f"{CLOSURE_KIND.label(closure.kind)}：{closure.reason or ''}".rstrip("："))
    event.add("dtstart", clock.local(closure.starts_at))
    event.add("dtend", clock.local(closure.ends_at))
    event.add("transp", "OPAQUE")
    return event


def _finish(cal: icalendar.Calendar) -> bytes:
    cal.add_missing_timezones()
    return cal.to_ical()


def _window(query, now):
    return query.where(sa.or_(
        sa.and_(SLOT_START >= now - FEED_PAST, SLOT_START < now + FEED_AHEAD),
        sa.and_(SLOT_START.is_(None), Booking.submitted_at >= now - FEED_PAST)))


def personal_feed(session, token: str, host: str, now: datetime) -> bytes | None:
    """The user's bookings from 90 days back to 180 ahead; None for an unknown secret."""
    if not token:
        return None
    user = session.execute(sa.select(ServiceUser).where(ServiceUser.calendar_token == token)).scalar_one_or_none()
    if user is None or user.status != "active":
        return None
    cal = _calendar(gettext("My bookings"))
    rows = session.execute(_window(sa.select(Booking).where(Booking.user_id == user.id), now)
                           .options(selectinload(Booking.instrument)).order_by(Booking.id)).scalars().all()
    for booking in rows:
        cal.add_component(booking_event(booking, host, now))
    return _finish(cal)


def instrument_feed(session, token: str, host: str, now: datetime) -> bytes | None:
    """The instrument's bookings (with who booked, for its lab) and closures; None for an unknown secret."""
    if not token:
        return None
    feed = session.execute(sa.select(InstrumentFeed).where(InstrumentFeed.token == token)).scalar_one_or_none()
    if feed is None:
        return None
    instrument = session.get(Instrument, feed.instrument_id)
    cal = _calendar(gettext("Bookings: %(name)s", name=instrument.name))
    rows = session.execute(_window(sa.select(Booking).where(Booking.instrument_id == instrument.id,
                                                            Booking.state.notin_(("refused", "cancelled"))), now)
                           .options(selectinload(Booking.user)).order_by(Booking.id)).scalars().all()
    for booking in rows:
        cal.add_component(booking_event(booking, host, now, with_user=True))
    closures = session.execute(sa.select(Closure).where(Closure.instrument_id == instrument.id,
                                                        Closure.ends_at > now - FEED_PAST,
                                                        Closure.starts_at < now + FEED_AHEAD)).scalars().all()
    for closure in closures:
        cal.add_component(_closure_event(closure, host, now))
    return _finish(cal)


def single_booking(booking: Booking, host: str, now: datetime) -> bytes:
    """One booking as an .ics file (attached to the e-mail that tells its time)."""
    cal = _calendar(booking.instrument.name)
    cal.add("method", "PUBLISH")
    cal.add_component(booking_event(booking, host, now))
    return _finish(cal)
