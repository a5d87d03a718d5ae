"""Booking in Chromium (issue 13): `service_user` finds a free time on an instrument's calendar and
books it by dragging over it, `student_user` books sample testing, `campus_user` types a slot;
`lab_admin` answers from its queue within the clock; the message, the e-mail and its .ics reach
`service_user`. Against the demo served by gunicorn, with the task consumer sending the mail."""
import re
import time as time_module
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import icalendar
import sqlalchemy as sa

from app import clock

from app.models import Booking, Closure, Instrument, ServiceUser
from app.models.user import PlatformUser

from .test_flows import _flash, demo_db, lab_of  # noqa: F401  (demo_db: the fixture)

BEIJING = ZoneInfo("Asia/Shanghai")


def _instrument(engine, name):
    with engine.connect() as conn:
        return conn.execute(sa.select(Instrument.id).where(Instrument.unit_id == lab_of(engine, "lab_admin"),
                                                           Instrument.name == name, Instrument.bookable.is_(True))
                            .order_by(Instrument.id).limit(1)).scalar_one()


def _customer(engine, username):
    with engine.connect() as conn:
        return conn.execute(sa.select(ServiceUser.id).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                            .where(PlatformUser.username == username)).scalar_one()


def _free_weekday_next_week(engine, instrument_id, start_hour=10, hours=1.5):
    """A Chinese working day (Tuesday–Friday) of next week with the instrument free (no booking, no
    closure) from `start_hour` for `hours`."""
    today = clock.today()  # the servers' own clock: the real one, in Beijing
    monday = today + timedelta(days=7 - today.weekday())
    for offset in range(1, 5):
        day = monday + timedelta(days=offset)
        if not chinese_calendar.is_workday(day):
            continue
        start = datetime.combine(day, time(start_hour), BEIJING)
        end = start + timedelta(hours=hours)
        with engine.connect() as conn:
            taken = conn.execute(sa.select(sa.func.count()).select_from(Booking).where(
                Booking.instrument_id == instrument_id, Booking.state.in_(Booking.HOLDING),
                sa.func.coalesce(Booking.scheduled_start, Booking.requested_start) < end,
                sa.func.coalesce(Booking.scheduled_end, Booking.requested_end) > start)).scalar()
            taken += conn.execute(sa.select(sa.func.count()).select_from(Closure).where(
                Closure.instrument_id == instrument_id, Closure.starts_at < end, Closure.ends_at > start)).scalar()
        if not taken:
            return day
    raise AssertionError("no free weekday next week")


def _drag(page, day: date, start="10:00:00", last="11:00:00"):
    """Drag over the calendar from `start` to the end of the half hour `last` in the column of `day`."""
    column = page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").bounding_box()
    top = page.locator(f"td.fc-timegrid-slot-lane[data-time='{start}']").bounding_box()
    bottom = page.locator(f"td.fc-timegrid-slot-lane[data-time='{last}']").bounding_box()
    x = column["x"] + column["width"] / 2
    page.mouse.move(x, top["y"] + top["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, bottom["y"] + bottom["height"] / 2, steps=12)
    page.mouse.up()


def _messages(ui):
    ui.goto("/messageview/list/")
    return ui.page.locator("table.table-hover tbody, .table-responsive table tbody").last.inner_text()


def test_service_user_books_on_the_calendar_and_lab_admin_answers(ui, stack, demo_db):
    engine, page = demo_db, ui.page
    nmr = _instrument(engine, "核磁共振波谱仪")
    day = _free_weekday_next_week(engine, nmr)
    # service_user: from the public page of the instrument to its calendar
    ui.login("service_user")
    ui.goto(f"/public/instruments/{nmr}")
    assert page.locator(".free-slots li").count() >= 1
    ui.step("public-page-next-free-times")
    page.click("a:has-text('预约该仪器')")
    page.wait_for_selector(".fc-timegrid-col")
    page.wait_for_load_state("networkidle")
    while not page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").count():
        page.click(".fc-next-button")
        page.wait_for_load_state("networkidle")
    _drag(page, day)
    assert page.input_value("#start") == f"{day.isoformat()}T10:00"
    assert page.input_value("#end") == f"{day.isoformat()}T11:30"
    assert page.locator(".fc-highlight, .fc-event-mirror").count() >= 1  # the dragged time is shown
    page.fill("#purpose", "聚合物样品 1H 谱（浏览器测试）")
    ui.step("service-user-drags-a-free-time")
    page.click("button:has-text('提交预约')")
    page.wait_for_load_state("networkidle")
    assert "预约已提交" in _flash(ui), _flash(ui)
    assert f"{day.isoformat()} 10:00–11:30" in page.locator("body").inner_text()
    booking_id = int(re.search(r"/mybookingview/show/(\d+)", page.url).group(1))
    ui.step("service-user-booked")
    ui.goto(f"/bookings/book/{nmr}")
    page.wait_for_selector(".fc-timegrid-col")
    while not page.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']").count():
        page.click(".fc-next-button")
        page.wait_for_load_state("networkidle")
    page.wait_for_selector(".fc-event.booking-mine", timeout=10000)  # its own booking shows as its own
    ui.step("service-user-sees-its-booking")
    ui.logout()

    # lab_admin: the home page counts it, the queue lists it, the record answers it
    ui.login("lab_admin")
    assert "待答复预约" in page.locator(".dashboard").first.inner_text()
    ui.step("lab-admin-home")
    ui.goto("/bookingqueueview/list/")
    page.click(f"a.booking-open[href='/bookingrecordview/show/{booking_id}']")
    page.wait_for_load_state("networkidle")
    ui.step("lab-admin-opens-the-booking")
    page.click("button:has-text('按申请时段安排')")
    page.wait_for_load_state("networkidle")
    assert "已完成：已安排" in _flash(ui), _flash(ui)
    with engine.connect() as conn:
        row = conn.execute(sa.select(Booking.state, Booking.responded_at, Booking.respond_by).where(Booking.id == booking_id)).one()
    assert row.state == "scheduled" and row.responded_at.astimezone(BEIJING).date() <= row.respond_by
    ui.step("lab-admin-scheduled")
    ui.logout()

    # service_user: the message, the mail with its .ics, the personal calendar feed
    ui.login("service_user")
    assert int(page.locator(".message-count").inner_text()) >= 1
    listed = _messages(ui)
    assert "预约已安排" in listed
    page.locator("tr:has-text('预约已安排') a[href*='/messageview/show/']").first.click()
    page.wait_for_load_state("networkidle")
    assert f"{day.isoformat()} 10:00–11:30" in page.locator("body").inner_text()
    ui.step("service-user-reads-the-message")
    with engine.connect() as conn:
        address = conn.execute(sa.select(PlatformUser.email).where(PlatformUser.username == "service_user")).scalar_one()
    inbox = stack.smtp.inbox
    deadline = time_module.monotonic() + 60
    while not [m for m in inbox.to(address) if "预约已安排" in m["Subject"]] and time_module.monotonic() < deadline:
        page.wait_for_timeout(250)
    mail = [m for m in inbox.to(address) if "预约已安排" in m["Subject"]]
    assert mail, (address, [m["message"]["Subject"] for m in inbox.messages], stack.consumer.text()[-2000:])
    ics = [p for p in mail[0].iter_attachments() if p.get_content_type() == "text/calendar"][0]
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime.combine(day, time(10), BEIJING)
    ui.goto("/mybookingview/list/")
    feed = page.locator(".feed-url").input_value()
    body = page.request.get(feed)  # as a calendar application subscribes to it
    assert body.ok and f"booking-{booking_id}@" in body.text()
    ui.step("service-user-feed")


def test_student_user_books_sample_testing_and_campus_user_types_a_slot(ui, demo_db):
    engine, page = demo_db, ui.page
    xps, sem = _instrument(engine, "X射线光电子能谱仪"), _instrument(engine, "场发射扫描电子显微镜")
    ui.login("student_user")
    ui.goto(f"/bookings/book/{xps}")
    assert page.locator("#mode option").all_inner_texts() == ["送样检测", "技术服务"]  # this one takes no self-operation
    assert not page.locator("#start").is_visible() and page.locator("#sample_count").is_visible()
    day = _free_weekday_next_week(engine, xps)
    page.fill("#date", day.isoformat())
    page.fill("#sample_count", "0")
    page.fill("#samples", "薄膜 4 片")
    ui.step("student-user-zero-samples")
    page.click("button:has-text('提交预约')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".has-error #sample_count, .has-error").count() >= 1
    assert page.input_value("#samples") == "薄膜 4 片"  # kept
    page.fill("#sample_count", "4")
    page.click("button:has-text('提交预约')")
    page.wait_for_load_state("networkidle")
    assert "预约已提交" in _flash(ui), _flash(ui)
    ui.step("student-user-booked-sample-testing")
    ui.logout()

    ui.login("campus_user")
    ui.goto(f"/bookings/book/{sem}")
    day = _free_weekday_next_week(engine, sem, start_hour=14, hours=1)
    page.fill("#start", f"{day.isoformat()}T14:00")
    page.fill("#end", f"{day.isoformat()}T15:00")
    page.fill("#purpose", "断口形貌观察（浏览器测试）")
    page.click("button:has-text('提交预约')")
    page.wait_for_load_state("networkidle")
    assert "预约已提交" in _flash(ui), _flash(ui)
    ui.step("campus-user-booked")
    ui.goto("/")
    assert "等待实验室答复的预约" in page.locator(".dashboard").first.inner_text()
    ui.step("campus-user-home")
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(Booking.mode).where(Booking.user_id.in_(
            [_customer(engine, "student_user"), _customer(engine, "campus_user")]), Booking.state == "pending")).scalars().all()
    assert {"sample", "self_operated"} <= set(kinds)
