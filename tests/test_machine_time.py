"""Measured against registered (issue 14): the terminal's machine time in a booking's slot beside the
registered hours, flagged past the configured share, and the booking's outcome — on time, late start,
overtime, left early, no-show — counted per user."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
import sqlalchemy as sa

from app import clock
from app.models import Booking, PlatformUser, Unit, UsageRecord
from app.services.booking import bookings as booking_service, usage
from app.services.iot import machine_time
from app.services.actors import Actor

from . import factories as f

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=clock.BEIJING)
SETTINGS = machine_time.Settings(grace_minutes=15, mismatch_share=0.2)


def bj(hour, minute=0, day=7):
    return datetime(2026, 12, day, hour, minute, tzinfo=clock.BEIJING)


@pytest.fixture
def world(session, uni):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="计量仪器", iot_terminal_id="mt-plug-1")
    bare = f.bookable_instrument(session.get(Unit, uni.l11), name="无终端仪器")
    user = f.service_user(name="计量用户")
    actor = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    return inst, bare, user, actor


def slot(session, inst, user, start, end, state="scheduled"):
    b = Booking(instrument_id=inst.id, user=user, mode="self_operated", state=state, scheduled_start=start,
                scheduled_end=end, submitted_at=start - timedelta(days=2), respond_by=date(2026, 12, 9))
    session.add(b)
    session.flush()
    return b


def run(session, inst, start, end):
    """A running period as the bridge stores it."""
    session.add(UsageRecord(instrument_id=inst.id, started_at=start, ended_at=end, source="iot", service_type="internal",
                            direction="research", hours=clock.hours_between(start, end)))
    session.flush()


def test_measured_beside_registered_and_flagged_past_the_share(session, world):
    inst, _bare, user, actor = world
    b = slot(session, inst, user, bj(9), bj(11))
    run(session, inst, bj(9, 5), bj(10, 35))   # 1.5 h measured
    run(session, inst, bj(12, 0), bj(13, 0))   # after the slot and its grace: not this booking's
    usage.register(session, actor, NOW, booking_service.Settings(), booking=b, start=bj(9), end=bj(11))
    m = machine_time.measure(session, [b], NOW, SETTINGS)[b.id]
    assert (m.measured_hours, m.registered_hours, m.mismatch) == (Decimal("1.50"), Decimal("2.00"), True)  # 25 % off
    assert machine_time.measure(session, [b], NOW, machine_time.Settings(mismatch_share=0.3))[b.id].mismatch is False
    assert m.outcomes == ("left_early",)  # the last run ended 25 minutes before the end, past the grace


@pytest.mark.parametrize("runs, outcomes", [
    ([(9, 5, 10, 58)], ("on_time",)),
    ([(9, 30, 11, 0)], ("late_start",)),
    ([(9, 0, 11, 30)], ("overtime",)),
    ([(9, 40, 11, 40)], ("late_start", "overtime")),
    ([(9, 0, 9, 30), (10, 0, 10, 20)], ("left_early",)),
    ([], ("no_show",)),
])
def test_the_outcome_from_the_terminal(session, world, runs, outcomes):
    inst, _bare, user, _actor = world
    b = slot(session, inst, user, bj(9), bj(11))
    for h1, m1, h2, m2 in runs:
        run(session, inst, bj(h1, m1), bj(h2, m2))
    assert machine_time.measure(session, [b], NOW, SETTINGS)[b.id].outcomes == outcomes


def test_nothing_to_say_before_the_end_or_without_a_terminal(session, world):
    inst, bare, user, _actor = world
    later = slot(session, inst, user, bj(19, 30), bj(21))
    assert machine_time.measure(session, [later], NOW, SETTINGS)[later.id].outcomes == ()
    unmeasured = slot(session, bare, user, bj(9), bj(11))
    m = machine_time.measure(session, [unmeasured], NOW, SETTINGS)[unmeasured.id]
    assert (m.measured_hours, m.outcomes, m.mismatch) == (None, (), False)


def test_counted_per_user(session, world):
    inst, _bare, user, _actor = world
    for day, (h1, m1, h2, m2) in zip((1, 2, 3), ((9, 0, 11, 0), (9, 40, 11, 0), (9, 0, 11, 45))):
        slot(session, inst, user, bj(9, day=day), bj(11, day=day))
        run(session, inst, bj(h1, m1, day=day), bj(h2, m2, day=day))
    slot(session, inst, user, bj(9, day=4), bj(11, day=4), state="no_show")
    other = f.service_user(name="另一位")
    slot(session, inst, other, bj(14, day=4), bj(15, day=4))
    counts = machine_time.counts_for_user(session, user.id, NOW, SETTINGS)
    assert counts == {"on_time": 1, "late_start": 1, "overtime": 1, "left_early": 0, "no_show": 1}


def test_the_lab_sees_it_on_the_booking_and_the_users_page(app, uni, login_as):
    """On screen, a week after the slot (the pages measure slots that have ended by their clock)."""
    from app.extensions import db

    with time_machine.travel(NOW, tick=True):
        _the_lab_sees_it(app, uni, login_as, db)


def _the_lab_sees_it(app, uni, login_as, db):

    with app.app_context():
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="计量屏幕仪器", iot_terminal_id="mt-plug-2")
        user = f.service_user(name="计量屏幕用户")
        b = slot(db.session, inst, user, bj(9, day=1), bj(11, day=1))
        run(db.session, inst, bj(9, 30, day=1), bj(11, 0, day=1))
        db.session.commit()
        booking_id, user_id, inst_id = b.id, user.id, inst.id
        db.session.remove()
    try:
        lab = login_as("lab_admin")
        page = lab.get(f"/bookingrecordview/show/{booking_id}").get_data(as_text=True)
        assert "终端计量机时 1.50 小时" in page and "迟到" in page
        assert "迟到 1" in lab.get(f"/serviceuserview/show/{user_id}").get_data(as_text=True)
    finally:
        with app.app_context():
            f.remove_instruments([inst_id])
            db.session.remove()
