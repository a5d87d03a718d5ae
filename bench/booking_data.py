"""The booking benchmark's data on our side: one lab with 20 bookable instruments of one class (the
first is the calendar's, NEMO's one tool), 20 on-campus service users authorised on all of them, the
lab's administrator, a week of about 80 scheduled slots on the first instrument, and its historical
bookings (1,000, then 100,000) — the same instrument, users and week NEMO gets."""
from __future__ import annotations

import time as clock_time
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app import clock

PASSWORD = "bench-1234"
USERS = 20
INSTRUMENTS = 20
CLASS_CODE = "010101"
INSERT_BATCH = 5000


def seed(app, week_start: date, week_bookings=80) -> dict:
    """Units, instruments, rules, users and the week; returns their ids."""
    from app.extensions import db
    from app.models import Authorisation, BookingRule, CustomerOrg, Instrument, OpeningHours, ServiceUser, Unit

    session, sm = db.session, app.appbuilder.sm
    school = Unit(code="BB-S", name="基准大学", level="school")
    college = Unit(code="BB-C1", name="基准学院", level="college", parent=school)
    lab = Unit(code="BB-C1-L1", name="基准测试中心", level="lab", parent=college)
    session.add_all([school, college, lab])
    session.flush()
    instruments = []
    for n in range(INSTRUMENTS):
        instrument = Instrument(kind="instrument", asset_number=f"BB-{n:04d}", name="核磁共振波谱仪" if n == 0 else f"基准仪器{n:02d}",
                                model="AVANCE NEO 600", class_code=CLASS_CODE, unit_id=lab.id, bookable=True,
                                sharing_status="external", run_status="normal", funding_source="fiscal_full",
                                original_value=1_500_000, purchase_date=date(2020, 1, 1), location="基准楼 101")
        session.add(instrument)
        instruments.append(instrument)
    session.flush()
    for instrument in instruments:  # open around the clock, bookable at once, as NEMO's tool is
        session.add(BookingRule(instrument_id=instrument.id, accepts_self_operated=True, accepts_sample=True,
                                accepts_service=True, min_slot_minutes=30, max_slot_minutes=480, max_days_ahead=30,
                                min_hours_ahead=0, auto_confirm=False, cancel_hours_before=24, open_on_holidays=True))
        session.add_all([OpeningHours(instrument_id=instrument.id, weekday=d, opens=time(0, 0), closes=time(23, 59))
                         for d in range(7)])
    org = CustomerOrg(name="基准校内课题组", category="campus", affiliated=True)
    session.add(org)
    session.flush()
    users = []
    role = sm.find_role("ServiceUser")
    for n in range(1, USERS + 1):
        account = sm.add_user(f"bench_user_{n}", "用户", f"基准{n}", f"bench_user_{n}@example.edu.cn", role, password=PASSWORD)
        user = ServiceUser(name=f"基准用户{n}", org_id=org.id, account_id=account.id, unit_id=lab.id, status="active")
        session.add(user)
        session.flush()
        users.append(user)
        for instrument in instruments:
            session.add(Authorisation(user_id=user.id, instrument_id=instrument.id, state="active",
                                      granted_on=date(2026, 1, 1), trainer="基准"))
    admin = sm.add_user("bench_lab", "管理员", "基准", "bench_lab@example.edu.cn", sm.find_role("LabAdmin"), password=PASSWORD)
    admin.unit_id = lab.id
    session.commit()
    week = _week_rows(instruments[0].id, [u.id for u in users], week_start, week_bookings)
    with db.engine.begin() as conn:
        conn.execute(_table().insert(), week)
    return {"lab": lab.id, "instrument": instruments[0].id, "instruments": [i.id for i in instruments],
            "users": [u.id for u in users], "week_start": week_start.isoformat(), "week_bookings": len(week)}


def _table():
    from app.models import Booking

    return Booking.__table__


def _week_rows(instrument_id, user_ids, week_start, count):
    """`count` scheduled slots, 16 a weekday, 30 minutes each from 08:00 Beijing (as NEMO's seed)."""
    rows, now = [], clock.now()
    for n in range(count):
        day = week_start + timedelta(days=(n // 16) % 5)
        start = clock.aware(datetime.combine(day, time(8, 0))) + timedelta(minutes=30 * (n % 16))
        rows.append(_row(instrument_id, user_ids[n % len(user_ids)], "scheduled", start, start + timedelta(minutes=30), now))
    return rows


def _row(instrument_id, user_id, state, start, end, submitted):
    return dict(instrument_id=instrument_id, user_id=user_id, mode="self_operated", state=state,
                requested_start=start, requested_end=end, scheduled_start=start, scheduled_end=end,
                submitted_at=submitted, responded_at=submitted, respond_by=clock.local_date(submitted) + timedelta(days=7),
                respond_by_official=True, delayed=False, late_cancellation=False)


def add_history(engine, instrument_id, user_ids, count, before: datetime) -> float:
    """`count` completed one-hour slots going back from `before`, bulk-inserted; returns the seconds."""
    started, batch, table = clock_time.perf_counter(), [], _table()
    existing = _history_count(engine, instrument_id)
    with engine.begin() as conn:
        for n in range(existing, existing + count):
            start = before - timedelta(hours=n + 1)
            batch.append(_row(instrument_id, user_ids[n % len(user_ids)], "completed", start, start + timedelta(hours=1),
                              start - timedelta(days=3)))
            if len(batch) >= INSERT_BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE booking") if engine.dialect.name == "postgresql" else sa.text("ANALYZE"))
    return clock_time.perf_counter() - started


def _history_count(engine, instrument_id):
    table = _table()
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.instrument_id == instrument_id, table.c.state == "completed")).scalar()


def add_pending(engine, instrument_ids, user_ids, count, first_day: date):
    """`count` pending slots for the lab's queue, one an hour over the instruments from `first_day`."""
    rows, now = [], clock.now()
    for n in range(count):
        start = clock.aware(datetime.combine(first_day, time(18, 0))) + timedelta(hours=n // len(instrument_ids))
        row = _row(instrument_ids[n % len(instrument_ids)], user_ids[n % len(user_ids)], "pending", start,
                   start + timedelta(hours=1), now)
        row.update(scheduled_start=None, scheduled_end=None, responded_at=None)
        rows.append(row)
    with engine.begin() as conn:
        conn.execute(_table().insert(), rows)
