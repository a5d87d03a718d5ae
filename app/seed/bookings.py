"""The demo's booking state (SPEC §5), relative to the day it is seeded and kept on every later run:

- `lab_admin`'s showcase instruments take bookings by the defaults, the X-ray diffractometer confirms
  an authorised user's free slot at once, the XPS takes sample testing and technical service only,
  the NMR opens long hours, and the SEM has a calibration day next week;
- `service_user` and `campus_user` may operate the NMR, the LC-MS and the SEM themselves and not the
  XRD or the FTIR (which do take self-operation); `student_user` the FTIR;
- `service_user` has a scheduled self-operated slot that ended on the last working day, which the
  terminal measured and the lab has still to register, and a pending booking within its respond-by;
  `student_user` a pending sample booking; `campus_user` a scheduled slot on the next working day.

The bookings go through the booking service, as a user's would.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app import clock
from app.models import (Authorisation, Booking, BookingRule, Closure, Instrument, OpeningHours, PlatformUser, ServiceUser,
                        Unit, UsageRecord)
from app.services import booking as bookings
from app.services.actors import Actor
from app.services.workdays import load_calendar

from .catalog import DEMO_LAB_CODE

SHOWCASE = ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜", "X射线衍射仪", "傅里叶变换红外光谱仪",
            "X射线光电子能谱仪")
AUTHORISED = {"service_user": ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜"),
              "campus_user": ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜"),
              "student_user": ("傅里叶变换红外光谱仪",)}


def _at(day, hour, minute=0):
    return clock.aware(datetime.combine(day, time(hour, minute)))


def _working_days(calendar, start, step, count):
    """`count` Chinese working days (Monday–Friday ones) from `start` going `step` days at a time."""
    found, day = [], start
    while len(found) < count:
        day += timedelta(days=step)
        if calendar.is_workday(day)[0] and day.weekday() < 5:
            found.append(day)
    return found


def ensure_booking_demo(session, now: datetime) -> dict:
    """Create what is missing; returns counts of what was created."""
    lab = session.scalar(sa.select(Unit).where(Unit.code == DEMO_LAB_CODE))
    if lab is None:
        return {}
    showcase = {name: session.scalar(sa.select(Instrument).where(Instrument.unit_id == lab.id, Instrument.name == name,
                                                                 Instrument.bookable.is_(True)).order_by(Instrument.id))
                for name in SHOWCASE}
    if any(i is None for i in showcase.values()):
        return {}
    customers = {username: session.scalar(sa.select(ServiceUser).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                                          .where(PlatformUser.username == username)) for username in AUTHORISED}
    if any(c is None for c in customers.values()):
        return {}
    created = {"booking_rules": 0, "authorisations": 0, "bookings": 0}
    calendar = load_calendar(session)
    today = clock.local_date(now)
    previous, = _working_days(calendar, today, -1, 1)
    following = _working_days(calendar, today, 1, 4)

    rules = {"X射线衍射仪": {"auto_confirm": True},
             "X射线光电子能谱仪": {"accepts_self_operated": False}}
    for name, instrument in showcase.items():
        if session.scalar(sa.select(BookingRule.id).where(BookingRule.instrument_id == instrument.id)) is None:
            values = dict(accepts_self_operated=True, accepts_sample=True, accepts_service=True, min_slot_minutes=30,
                          max_slot_minutes=480, max_days_ahead=30, min_hours_ahead=2, auto_confirm=False,
                          cancel_hours_before=24, open_on_holidays=False)
            values.update(rules.get(name, {}))
            session.add(BookingRule(instrument_id=instrument.id, **values))
            created["booking_rules"] += 1
    nmr, sem = showcase["核磁共振波谱仪"], showcase["场发射扫描电子显微镜"]
    if session.scalar(sa.select(OpeningHours.id).where(OpeningHours.instrument_id == nmr.id)) is None:
        session.add_all([OpeningHours(instrument_id=nmr.id, weekday=d, opens=time(8, 30), closes=time(21, 0)) for d in range(5)])
        session.add(OpeningHours(instrument_id=nmr.id, weekday=5, opens=time(9, 0), closes=time(17, 0)))
    if session.scalar(sa.select(Closure.id).where(Closure.instrument_id == sem.id)) is None:
        day = following[3]
        session.add(Closure(instrument_id=sem.id, kind="calibration", starts_at=clock.start_of(day),
                            ends_at=clock.start_of(day + timedelta(days=1)), reason="年度计量校准（演示）"))
    for username, names in AUTHORISED.items():
        for name in names:
            instrument = showcase[name]
            if session.scalar(sa.select(Authorisation.id).where(Authorisation.user_id == customers[username].id,
                                                                Authorisation.instrument_id == instrument.id)) is None:
                session.add(Authorisation(user_id=customers[username].id, instrument_id=instrument.id, state="active",
                                          granted_on=today - timedelta(days=60), trainer="彭志强", last_used_on=None))
                created["authorisations"] += 1
    session.flush()

    if session.scalar(sa.select(Booking.id).where(Booking.user_id.in_([c.id for c in customers.values()]),
                                                  Booking.submitted_at >= now - timedelta(days=14))) is not None:
        return created  # this fortnight's demo bookings exist already
    settings = bookings.Settings()
    lab_admin = session.scalar(sa.select(PlatformUser).where(PlatformUser.username == "lab_admin"))
    actor = Actor.of(lab_admin)
    service, campus, student = customers["service_user"], customers["campus_user"], customers["student_user"]
    # 1. an ended slot: submitted three working days before, scheduled, measured by the terminal, not registered
    before, = _working_days(calendar, previous, -1, 3)[-1:]
    ended = bookings.submit(session, service, nmr.id, "self_operated", _at(before, 10), settings,
                            start=_at(previous, 9), end=_at(previous, 11), purpose="高分子样品 1H/13C 谱图采集（演示）",
                            calendar=calendar)
    bookings.schedule(session, actor, ended, _at(before, 15))
    if nmr.iot_terminal_id:
        session.add(UsageRecord(instrument_id=nmr.id, booking_id=ended.id, user_id=service.id, source="iot",
                                started_at=_at(previous, 9, 6), ended_at=_at(previous, 10, 52), hours=1.77,
                                service_type="external", direction="research"))
    # 2. pending, within its respond-by (submitted an hour ago)
    bookings.submit(session, service, showcase["液相色谱-质谱联用仪"].id, "self_operated", now - timedelta(hours=1), settings,
                    start=_at(following[1], 14), end=_at(following[1], 16), purpose="药物代谢物定性分析（演示）",
                    calendar=calendar)
    # 3. a student team's sample testing, and an on-campus researcher's scheduled slot
    bookings.submit(session, student, showcase["X射线光电子能谱仪"].id, "sample", now - timedelta(hours=3), settings,
                    sample_count=6, samples="薄膜样品 6 片，10 mm × 10 mm，常温保存，无毒无害", day=following[2],
                    purpose="表面元素价态分析（演示）", calendar=calendar)
    early = bookings.submit(session, campus, nmr.id, "self_operated", now - timedelta(days=1), settings,
                            start=_at(following[0], 14), end=_at(following[0], 16), purpose="课题组常规测试（演示）",
                            calendar=calendar)
    bookings.schedule(session, actor, early, now - timedelta(hours=20))
    created["bookings"] = 4
    session.flush()
    return created
