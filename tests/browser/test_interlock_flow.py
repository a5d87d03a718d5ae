"""The power interlock in Chromium (issue 14, item 3): `service_user`, in its slot on the demo's SEM (a
Tasmota plug, simulated as `make run` does), presses 开始使用 on its booking's page; the bridge publishes
the ON, the plug obeys and confirms, and the page shows it confirmed; 结束使用 switches it off the same
way; `lab_admin` sees both commands on the booking's page and in 插座指令."""
import time
from datetime import timedelta

from playwright.sync_api import Error as PlaywrightError
import sqlalchemy as sa

from app import clock
from sqlalchemy.orm import Session

from app.models import Booking, BookingRule, Instrument, InterlockCommand, ServiceUser
from app.models.user import PlatformUser

from .test_flows import _flash, demo_db  # noqa: F401  (demo_db: the fixture)



def _slot_now(engine):
    """service_user's scheduled self-operated booking on an interlocked instrument, its slot running now
    (the test's arrangement: a slot the lab scheduled for this very moment)."""
    with Session(engine) as session, session.begin():
        user = session.execute(sa.select(ServiceUser).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                               .where(PlatformUser.username == "service_user")).scalar_one()
        instrument = session.execute(sa.select(Instrument).join(BookingRule, BookingRule.instrument_id == Instrument.id)
                                     .where(BookingRule.interlock.is_(True), Instrument.name == "场发射扫描电子显微镜")).scalar_one()
        now = clock.local(clock.now()).replace(second=0, microsecond=0)
        booking = Booking(instrument_id=instrument.id, user_id=user.id, mode="self_operated", state="scheduled",
                          scheduled_start=now - timedelta(minutes=5), scheduled_end=now + timedelta(minutes=55),
                          requested_start=now - timedelta(minutes=5), requested_end=now + timedelta(minutes=55),
                          submitted_at=now - timedelta(days=1), responded_at=now - timedelta(hours=20),
                          respond_by=(now + timedelta(days=5)).date(), purpose="电源联锁演示（浏览器测试）")
        session.add(booking)
        session.flush()
        return booking.id, instrument.iot_terminal_id


def _commands(engine, booking_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(InterlockCommand.action, InterlockCommand.state).where(
            InterlockCommand.booking_id == booking_id).order_by(InterlockCommand.id)).all()


def _wait_confirmed(ui, count, timeout=45):
    """The page reloads itself while a command waits (nothing here reloads it); done when `count`
    commands show confirmed, which they do once the plug has said so."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ui.page.locator(".interlock-command.interlock-confirmed").count() >= count:
                break
        except PlaywrightError:  # the page was reloading just then
            pass
        assert time.monotonic() < deadline, ui.page.locator(".booking-interlock").inner_text()
        time.sleep(0.5)
    ui.page.wait_for_load_state("networkidle")


def test_service_user_switches_the_demo_plug_on_and_off_from_its_booking(ui, demo_db):
    engine, page = demo_db, ui.page
    booking_id, terminal = _slot_now(engine)
    ui.login("service_user")
    ui.goto(f"/mybookingview/show/{booking_id}")
    panel = page.locator(".booking-interlock")
    assert terminal in panel.inner_text() and "Tasmota" in panel.inner_text()
    ui.step("service-user-opens-its-booking-in-its-slot")
    page.click("form[action$='/mybookingview/start/%d'] button" % booking_id)
    page.wait_for_load_state("networkidle")
    assert "已开始使用" in _flash(ui), _flash(ui)
    ui.step("service-user-started-the-use-the-on-command-waits")
    _wait_confirmed(ui, 1)
    assert _commands(engine, booking_id) == [("on", "confirmed")]
    assert "插座已确认" in panel.inner_text()
    ui.step("the-plug-confirmed-power-on")

    page.click("form[action$='/mybookingview/end/%d'] button" % booking_id)
    page.wait_for_load_state("networkidle")
    assert "已结束使用" in _flash(ui), _flash(ui)
    _wait_confirmed(ui, 2)
    assert _commands(engine, booking_id) == [("on", "confirmed"), ("off", "confirmed")]
    ui.step("the-plug-confirmed-power-off")

    ui.logout()
    ui.login("lab_admin")
    ui.goto(f"/bookingrecordview/show/{booking_id}")
    rows = page.locator(".interlock-commands tbody tr")
    assert rows.count() == 2 and "插座已确认" in rows.nth(0).inner_text() and "插座已确认" in rows.nth(1).inner_text()
    ui.step("lab-admin-sees-both-commands-confirmed")
    ui.goto("/interlockcommandview/list/")
    assert page.locator(f"td:text-is('{terminal}')").count() >= 2  # this booking's ON and OFF at least
    ui.step("lab-admin-plug-commands-list")
