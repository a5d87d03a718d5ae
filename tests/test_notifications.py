"""Notifications (issue 13, item 8): each step of the booking flow tells whom it concerns, in the
message centre (unread count in the navbar) and by e-mail through a real SMTP server the test starts
(aiosmtpd), with the slot's .ics; a refused step tells nobody; reminders and respond-by warnings go
once. The queue runs its tasks at once here; tests/test_task_queue.py runs them in a real consumer."""
import re
from datetime import date, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa
import time_machine

from app import clock, tasks
from app.extensions import db
from app.models import Booking, Instrument, Message, PlatformUser, ServiceUser, Unit
from app.services.people import notifications

from . import factories as f
from .conftest import csrf_token
from .mail_server import mail_on, smtp_server  # noqa: F401  (fixtures)
from .mqtt_broker import free_port
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)  # Monday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def instrument(app, uni):
    with app.app_context():
        db.session.execute(sa.delete(Message))  # other modules' bookings told their accounts too
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="通知测试仪器", location="分析楼 204")
        f.authorisation(db.session.get(ServiceUser, uni.customer_service_user), inst, granted_on=date(2026, 11, 1))
        db.session.commit()
        inst_id = inst.id
        db.session.remove()
    yield inst_id
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id == inst_id))
        db.session.execute(sa.delete(Instrument).where(Instrument.id == inst_id))
        db.session.execute(sa.delete(Message))
        db.session.commit()
        db.session.remove()


def messages_of(app, username):
    with app.app_context():
        rows = db.session.execute(sa.select(Message.kind, Message.subject, Message.body, Message.emailed_at,
                                            Message.email_error).join(PlatformUser, PlatformUser.id == Message.recipient_id)
                                  .where(PlatformUser.username == username).order_by(Message.id)).all()
        db.session.remove()
        return rows


def book(client, instrument_id, start="2026-12-08T10:00", end="2026-12-08T12:00"):
    resp = client.post("/api/v1/booking/", headers=jwt_headers(client, "service_user"),
                       json={"instrument_id": instrument_id, "mode": "self_operated", "start": start, "end": end,
                             "purpose": "表征"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def test_a_submission_tells_the_lab_and_the_user(app, client, login_as, instrument):
    booking_id = book(client, instrument)
    lab = messages_of(app, "lab_admin")
    assert [m.kind for m in lab] == ["submitted"]
    assert "通知测试仪器" in lab[0].subject and "2026-12-14" in lab[0].body and "2026-12-08 10:00–12:00" in lab[0].body
    assert [m.kind for m in messages_of(app, "service_user")] == ["submitted"]
    assert messages_of(app, "college_admin") == []  # the lab has an administrator: the college is not bothered
    page = login_as("lab_admin").get("/").get_data(as_text=True)
    assert re.search(r'badge message-count">1<', page)
    lab_client = login_as("lab_admin")
    listed = lab_client.get("/messageview/list/").get_data(as_text=True)
    pk = re.search(r"/messageview/show/(\d+)", listed).group(1)
    shown = lab_client.get(f"/messageview/show/{pk}").get_data(as_text=True)
    assert f'href="/bookingrecordview/show/{booking_id}"' in shown
    assert "message-count" not in lab_client.get("/").get_data(as_text=True)  # read now


def test_a_refused_step_tells_nobody(app, client, instrument):
    book(client, instrument)
    before = len(messages_of(app, "service_user"))
    clash = client.post("/api/v1/booking/", headers=jwt_headers(client, "service_user"),
                        json={"instrument_id": instrument, "mode": "self_operated", "start": "2026-12-08T11:00",
                              "end": "2026-12-08T12:00"})
    assert clash.status_code == 409
    assert len(messages_of(app, "service_user")) == before
    assert len(messages_of(app, "lab_admin")) == 1


def test_scheduling_mails_the_user_its_slot_with_an_ics(app, client, login_as, instrument, mail_on):
    booking_id = book(client, instrument)
    lab = login_as("lab_admin")
    token = csrf_token(lab, f"/bookingrecordview/show/{booking_id}")
    assert lab.post(f"/bookingrecordview/answer/{booking_id}/schedule", data={"csrf_token": token}).status_code == 302
    mails = mail_on.wait_for(3)  # submitted (to the lab, to the user), scheduled (to the user)
    scheduled = [m for m in mail_on.to("service_user@example.edu.cn") if "已安排" in m["Subject"]]
    assert len(scheduled) == 1, [(m["to"], m["message"]["Subject"]) for m in mails]
    message = scheduled[0]
    assert "通知测试仪器" in message["Subject"] and message["From"].addresses[0].addr_spec == "platform@example.edu.cn"
    text = message.get_body(("plain",)).get_content()
    assert "2026-12-08 10:00–12:00" in text and f"/mybookingview/show/{booking_id}" in text
    ics = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert len(ics) == 1 and ics[0].get_filename() == f"booking-{booking_id}.ics"
    event = icalendar.Calendar.from_ical(ics[0].get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 12, 8, 10, 0, tzinfo=clock.BEIJING)
    assert str(event["status"]) == "CONFIRMED" and str(event["location"]) == "分析楼 204"
    sent = [m for m in messages_of(app, "service_user") if m.kind == "scheduled"]
    assert sent[0].emailed_at is not None and sent[0].email_error is None


def test_without_mail_configured_messages_stay_in_the_console(app, client, instrument, smtp_server):
    """Everything of the mail configured but MAIL_SERVER: nothing is sent (SMTP would take "" for this host, where
    the test's server listens) and nothing is tried (no error recorded): in-app messages only."""
    unset = {**smtp_server.settings(), "MAIL_SERVER": ""}
    saved = {k: app.config.get(k) for k in unset}
    app.config.update(unset)
    try:
        book(client, instrument)
    finally:
        app.config.update(saved)
    lab = messages_of(app, "lab_admin")
    assert [m.kind for m in lab] == ["submitted"] and smtp_server.inbox.messages == []
    assert all(m.emailed_at is None and m.email_error is None for m in lab)


def test_a_mail_server_that_is_down_is_recorded_on_the_message(app, client, instrument):
    nothing_listens = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port(), "MAIL_DEFAULT_SENDER": "platform@example.edu.cn"}
    saved = {k: app.config.get(k) for k in nothing_listens}
    app.config.update(nothing_listens)
    try:
        book(client, instrument)
    finally:
        app.config.update(saved)
        tasks.huey.flush()  # the mail task's retry, which the queue scheduled
    lab = messages_of(app, "lab_admin")
    assert [m.kind for m in lab] == ["submitted"]  # the booking and its message stand
    assert lab[0].emailed_at is None and "ConnectionRefusedError" in lab[0].email_error


def test_refusal_delay_and_cancellation_tell_the_other_side(app, client, instrument):
    lab = jwt_headers(client, "lab_admin")
    first, second = book(client, instrument), book(client, instrument, "2026-12-09T10:00", "2026-12-09T11:00")
    assert client.post(f"/api/v1/booking/{first}/delay", headers=lab,
                       json={"start": "2026-12-10T14:00", "end": "2026-12-10T16:00", "reason": "灯丝更换"}).status_code == 200
    assert client.post(f"/api/v1/booking/{second}/refuse", headers=lab,
                       json={"reason": "检修", "alternative": "下周同一时间"}).status_code == 200
    user = {m.kind: m for m in messages_of(app, "service_user")}
    assert "2026-12-10 14:00–16:00" in user["delayed"].body and "灯丝更换" in user["delayed"].body
    assert "检修" in user["refused"].body and "下周同一时间" in user["refused"].body
    assert client.post(f"/api/v1/booking/{first}/cancel", headers=jwt_headers(client, "service_user")).status_code == 200
    assert [m.kind for m in messages_of(app, "lab_admin")] == ["submitted", "submitted", "cancelled"]


def test_a_reminder_the_day_before_goes_once(app, session, uni, instrument):
    user = session.get(ServiceUser, uni.customer_service_user)
    booking = Booking(instrument_id=instrument, user_id=user.id, mode="self_operated", state="scheduled",
                      requested_start=clock.aware(datetime(2026, 12, 8, 10)), requested_end=clock.aware(datetime(2026, 12, 8, 11)),
                      scheduled_start=clock.aware(datetime(2026, 12, 8, 10)), scheduled_end=clock.aware(datetime(2026, 12, 8, 11)),
                      submitted_at=NOW, respond_by=date(2026, 12, 14), respond_by_official=True)
    session.add(booking)
    session.commit()
    assert notifications.send_reminders(session, NOW) == 1
    assert notifications.send_reminders(session, NOW.replace(hour=20)) == 0  # once, however often it runs
    with time_machine.travel(datetime(2026, 12, 8, 9, 0, tzinfo=clock.BEIJING)):
        assert notifications.send_reminders(session, clock.now()) == 0  # the day itself: none
    session.commit()
    assert [m.kind for m in messages_of(app, "service_user")] == ["reminder"]


def test_the_lab_is_warned_one_working_day_before_the_respond_by(app, session, uni, instrument):
    user = session.get(ServiceUser, uni.customer_service_user)
    # submitted Monday 30 November: respond by Monday 7 December; warned on Friday 4 December
    booking = Booking(instrument_id=instrument, user_id=user.id, mode="sample", state="pending", sample_count=1,
                      submitted_at=clock.aware(datetime(2026, 11, 30, 9)), respond_by=date(2026, 12, 7),
                      respond_by_official=True)
    session.add(booking)
    session.commit()
    thursday, friday = (clock.aware(datetime(2026, 12, d, 10)) for d in (3, 4))
    assert notifications.warn_respond_by(session, thursday) == 0
    assert notifications.warn_respond_by(session, friday) == 1
    assert notifications.warn_respond_by(session, friday + timedelta(hours=6)) == 0
    session.commit()
    warned = messages_of(app, "lab_admin")
    assert [m.kind for m in warned] == ["respond_by_warning"] and "2026-12-07" in warned[0].subject


def test_each_account_reads_only_its_own_messages(app, client, login_as, instrument):
    book(client, instrument)
    with app.app_context():
        lab_message = db.session.execute(sa.select(Message.id).join(PlatformUser, PlatformUser.id == Message.recipient_id)
                                         .where(PlatformUser.username == "lab_admin")).scalar_one()
        db.session.remove()
    for who in ("service_user", "school_admin", "college_admin"):
        other = login_as(who)
        assert other.get(f"/messageview/show/{lab_message}").status_code in (302, 404), who
        assert f"/messageview/show/{lab_message}\"" not in other.get("/messageview/list/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Message, lab_message).read_at is None  # nobody else's opening marked it read
        db.session.remove()
