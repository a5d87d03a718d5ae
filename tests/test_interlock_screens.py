"""The power interlock on screen (issue 14, item 3): a self-operated booking's own user presses 开始使用 /
结束使用 on its booking's page and the plug's commands appear with their state; outside the slot or
without authorisation a Chinese refusal and nothing queued; the lab sees the plug and its commands on
the booking's page and in 插座指令, scoped like everything else; a booking rule turns the interlock on
only for an instrument with a terminal."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, BookingRule, Instrument, InterlockCommand, IotTerminal, ServiceUser, Unit, UsageRecord

from . import factories as f
from .conftest import csrf_token
from .test_settlement_screens import flashed

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=clock.BEIJING)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def setup(app, uni):
    """An interlocked SEM of lab_admin's lab (a Tasmota plug), service_user authorised, a slot now and one
    this afternoon; another lab's interlocked instrument with a command of its own."""
    with app.app_context():
        ids = {}
        for key, unit, tid in (("instrument", uni.l11, "screen-plug-1"), ("other", uni.l12, "screen-plug-2")):
            inst = f.bookable_instrument(db.session.get(Unit, unit), name="联锁屏幕仪器", iot_terminal_id=tid)
            db.session.add(IotTerminal(terminal_id=tid, instrument_id=inst.id, adapter="tasmota"))
            db.session.add(BookingRule(instrument_id=inst.id, interlock=True, interlock_grace_minutes=10))
            ids[key] = inst.id
        f.authorisation(db.session.get(ServiceUser, uni.customer_service_user), db.session.get(Instrument, ids["instrument"]))
        for key, user, start in (("now", uni.customer_service_user, NOW - timedelta(minutes=5)),
                                 ("later", uni.customer_service_user, NOW + timedelta(hours=4)),
                                 ("campus", uni.customer_campus_user, NOW + timedelta(hours=2)),
                                 ("elsewhere", uni.customer_service_user, NOW - timedelta(minutes=5))):
            booking = Booking(instrument_id=ids["other" if key == "elsewhere" else "instrument"], user_id=user,
                              mode="self_operated", state="scheduled", scheduled_start=start,
                              scheduled_end=start + timedelta(hours=1, minutes=30), submitted_at=start - timedelta(days=3),
                              respond_by=date(2026, 12, 9))
            db.session.add(booking)
            db.session.flush()
            ids[key] = booking.id
        db.session.add(InterlockCommand(instrument_id=ids["other"], terminal_id="screen-plug-2", adapter="tasmota",
                                        action="off", reason="end", state="sent", attempts=1, created_at=NOW,
                                        next_attempt_at=NOW, booking_id=ids["elsewhere"]))
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        f.remove_instruments([ids["instrument"], ids["other"]])
        db.session.remove()


def queued(app, instrument_id):
    with app.app_context():
        rows = db.session.execute(sa.select(InterlockCommand.action, InterlockCommand.state)
                                  .where(InterlockCommand.instrument_id == instrument_id).order_by(InterlockCommand.id)).all()
        db.session.remove()
        return rows


def test_the_own_user_switches_the_plug_on_and_off_from_its_booking(app, login_as, setup):
    user = login_as("service_user")
    page_url = f"/mybookingview/show/{setup['now']}"
    page = user.get(page_url).get_data(as_text=True)
    assert "电源联锁" in page and "screen-plug-1" in page and "开始使用" in page
    token = csrf_token(user, page_url)
    started = user.post(f"/mybookingview/start/{setup['now']}", data={"csrf_token": token}, follow_redirects=True)
    html = started.get_data(as_text=True)
    assert "已开始使用" in flashed(html), flashed(html)
    assert queued(app, setup["instrument"]) == [("on", "pending")]
    assert "待发送" in html and "data-reload-after" in html  # waiting for the plug: the page refreshes itself
    ended = user.post(f"/mybookingview/end/{setup['now']}", data={"csrf_token": token}, follow_redirects=True)
    assert "已结束使用" in flashed(ended.get_data(as_text=True))
    assert queued(app, setup["instrument"]) == [("on", "superseded"), ("off", "pending")]
    with app.app_context():
        use = db.session.execute(sa.select(UsageRecord).where(UsageRecord.booking_id == setup["now"])).scalar_one()
        assert use.ended_at is not None and db.session.get(Booking, setup["now"]).state == "completed"
        db.session.remove()


def test_outside_its_slot_the_user_gets_a_chinese_refusal_and_nothing_is_queued(app, login_as, setup):
    user = login_as("service_user")
    token = csrf_token(user, f"/mybookingview/show/{setup['later']}")
    refused = user.post(f"/mybookingview/start/{setup['later']}", data={"csrf_token": token}, follow_redirects=True)
    assert "只能在预约时段内" in flashed(refused.get_data(as_text=True))
    assert queued(app, setup["instrument"]) == []


def test_another_users_booking_is_not_found_and_the_token_is_required(app, login_as, setup):
    user = login_as("service_user")
    token = csrf_token(user, f"/mybookingview/show/{setup['now']}")
    assert user.post(f"/mybookingview/start/{setup['campus']}", data={"csrf_token": token}).status_code == 404
    assert user.post(f"/mybookingview/start/{setup['now']}", data={}).status_code == 400
    campus = login_as("campus_user")  # not authorised on this instrument, and not its booking
    assert campus.post(f"/mybookingview/start/{setup['now']}",
                       data={"csrf_token": csrf_token(campus, "/mybookingview/list/")}).status_code == 404
    assert queued(app, setup["instrument"]) == []


def test_the_lab_sees_the_plug_and_its_commands_and_nothing_of_another_labs(app, login_as, setup):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/bookingrecordview/show/{setup['now']}")
    lab.post(f"/usagerecordview/start/{setup['now']}", data={"csrf_token": token})
    page = lab.get(f"/bookingrecordview/show/{setup['now']}").get_data(as_text=True)
    assert "电源联锁" in page and "通电" in page and "待发送" in page
    listed = lab.get("/interlockcommandview/list/").get_data(as_text=True)
    assert "screen-plug-1" in listed and "screen-plug-2" not in listed
    with app.app_context():
        foreign = db.session.execute(sa.select(InterlockCommand.id).where(InterlockCommand.terminal_id == "screen-plug-2")).scalar()
        db.session.remove()
    assert lab.get(f"/interlockcommandview/show/{foreign}").status_code == 404
    assert "screen-plug-2" in login_as("college_admin").get("/interlockcommandview/list/").get_data(as_text=True)
    assert login_as("service_user").get("/interlockcommandview/list/").status_code in (302, 403)
    # read-only: nobody adds, edits or deletes a command by hand
    school = login_as("school_admin")
    for path in ("/interlockcommandview/add", f"/interlockcommandview/edit/{foreign}"):
        assert school.get(path).status_code == 403


def test_the_lab_outside_the_slot_is_refused_too(app, login_as, setup):
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/bookingrecordview/show/{setup['later']}")
    refused = lab.post(f"/usagerecordview/start/{setup['later']}", data={"csrf_token": token}, follow_redirects=True)
    assert "只能在预约时段内" in flashed(refused.get_data(as_text=True))
    assert queued(app, setup["instrument"]) == []
