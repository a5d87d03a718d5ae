"""When an instrument can be booked (issue 13): its booking rules, opening hours, closures and the
Chinese calendar, all in Beijing time.

- An instrument without a BookingRule row books by the defaults below; without OpeningHours rows it
  is open 08:30–17:30 on working days.
- Opening hours are given per weekday. A statutory holiday (a weekday that is not a Chinese working
  day) closes the instrument unless its rule says it opens on holidays; a make-up working day (调休,
  a Saturday or Sunday worked) opens with Monday's hours. Days without official calendar data
  follow plain Monday–Friday (app/services/workdays.py says so).
- A slot lies within one opening interval of one day, clear of every closure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import BookingRule, Closure, OpeningHours
from app.models.choices import CLOSURE_KIND

from app.services.workdays import WorkCalendar

DEFAULT_HOURS = ((time(8, 30), time(17, 30)),)


@dataclass(frozen=True)
class Rules:
    accepts_self_operated: bool = True
    accepts_sample: bool = True
    accepts_service: bool = True
    min_slot_minutes: int = 30
    max_slot_minutes: int = 480
    max_days_ahead: int = 30
    min_hours_ahead: int = 2
    auto_confirm: bool = False
    cancel_hours_before: int = 24
    open_on_holidays: bool = False
    interlock: bool = False
    interlock_grace_minutes: int = 10
    interlock_cuts_running: bool = False

    def accepts(self, mode: str) -> bool:
        return {"self_operated": self.accepts_self_operated, "sample": self.accepts_sample,
                "service": self.accepts_service}.get(mode, False)


RULE_FIELDS = tuple(Rules.__dataclass_fields__)


def rules_of(session, instrument_id) -> Rules:
    row = session.execute(sa.select(BookingRule).where(BookingRule.instrument_id == instrument_id)).scalar_one_or_none()
    return Rules() if row is None else Rules(**{f: getattr(row, f) for f in RULE_FIELDS})


def weekly_hours(session, instrument_id) -> dict:
    """{weekday: ((opens, closes), …)}; the default week when the lab set none."""
    rows = session.execute(sa.select(OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes)
                           .where(OpeningHours.instrument_id == instrument_id)
                           .order_by(OpeningHours.weekday, OpeningHours.opens)).all()
    if not rows:
        return {d: DEFAULT_HOURS for d in range(5)}
    week: dict = {}
    for weekday, opens, closes in rows:
        week.setdefault(weekday, ())
        week[weekday] += ((opens, closes),)
    return week


def hours_on(day: date, week: dict, rules: Rules, calendar: WorkCalendar):
    """The opening intervals of one Beijing day: ((opens, closes), …), () when closed."""
    working, _official = calendar.is_workday(day)
    weekday = day.weekday()
    if working and weekday >= 5:  # a make-up working day (调休)
        return week.get(0, ())
    if not working and weekday < 5 and not rules.open_on_holidays:  # a statutory holiday
        return ()
    return week.get(weekday, ())


def opening_intervals(day: date, week, rules, calendar):
    """The day's opening intervals as instants [(start, end)]."""
    return [(clock.aware(datetime.combine(day, opens)), clock.aware(datetime.combine(day, closes)))
            for opens, closes in hours_on(day, week, rules, calendar)]


def closures_between(session, instrument_id, start: datetime, end: datetime):
    return session.execute(sa.select(Closure).where(Closure.instrument_id == instrument_id, Closure.starts_at < end,
                                                    Closure.ends_at > start).order_by(Closure.starts_at)).scalars().all()


MSG_ORDER = _("The end must be after the start.")
MSG_PAST = _("This time has already passed.")
MSG_CLOSED = _("The instrument is not open then; choose a time within its opening hours.")
MSG_DAY_CLOSED = _("The instrument does not take work on that day.")


def slot_problems(session, instrument_id, start: datetime, end: datetime, now: datetime, rules: Rules,
                  calendar: WorkCalendar, lab_side=False) -> dict:
    """{field: message} for a self-operated slot; empty when it can be booked. The lab itself may
    schedule outside the user's booking horizons (`lab_side`), never outside the opening hours."""
    if end <= start:
        return {"end": MSG_ORDER}
    if start < now:
        return {"start": MSG_PAST}
    problems = {}
    if not lab_side:
        if start < now + timedelta(hours=rules.min_hours_ahead):
            problems["start"] = _("Book at least %(hours)s hours ahead.", hours=rules.min_hours_ahead)
        elif clock.local_date(start) > clock.local_date(now) + timedelta(days=rules.max_days_ahead):
            problems["start"] = _("Book at most %(days)s days ahead.", days=rules.max_days_ahead)
    minutes = (end - start).total_seconds() / 60
    if minutes < rules.min_slot_minutes:
        problems["end"] = _("A slot lasts at least %(minutes)s minutes.", minutes=rules.min_slot_minutes)
    elif minutes > rules.max_slot_minutes:
        problems["end"] = _("A slot lasts at most %(minutes)s minutes.", minutes=rules.max_slot_minutes)
    if problems:
        return problems
    week = weekly_hours(session, instrument_id)
    intervals = opening_intervals(clock.local_date(start), week, rules, calendar)
    if not any(opens <= start and end <= closes for opens, closes in intervals):
        return {"start": MSG_CLOSED}
    for closure in closures_between(session, instrument_id, start, end):
        return {"start": _("The instrument is closed then (%(kind)s: %(reason)s).", kind=CLOSURE_KIND.label(closure.kind),
                           reason=closure.reason or "")}
    return {}


def day_problems(session, instrument_id, day: date, today: date, rules: Rules, calendar: WorkCalendar,
                 lab_side=False) -> dict:
    """{field: message} for a sample or service day (wished for, or scheduled by the lab)."""
    if day < today:
        return {"date": MSG_PAST}
    if not lab_side and day > today + timedelta(days=rules.max_days_ahead):
        return {"date": _("Book at most %(days)s days ahead.", days=rules.max_days_ahead)}
    if not hours_on(day, weekly_hours(session, instrument_id), rules, calendar):
        return {"date": MSG_DAY_CLOSED}
    start, end = clock.day_bounds(day)
    closures = closures_between(session, instrument_id, start, end)
    if any(c.starts_at <= start and c.ends_at >= end for c in closures):
        return {"date": MSG_DAY_CLOSED}
    return {}
