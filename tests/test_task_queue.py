"""The task queue end to end (issue 11, item 8): an export started from the console is built by a
real consumer process — on the suite's queue, SQLite's by default, Redis's when REDIS_URL is set
(CI's second run) — and downloaded once done."""
import io
import time

import openpyxl
import pytest

import config
from app import tasks

from .mail_server import smtp_server  # noqa: F401  (the fixture)
from .processes import task_consumer
from .test_report_exports import start

pytestmark = pytest.mark.real_clock  # a real consumer process runs the tasks, on the machine's clock


@pytest.fixture
def real_queue(database_url, tmp_path):
    """The suite's queue for real (not run at once), with a consumer process reading it."""
    tasks.huey.immediate = False
    tasks.huey.flush()
    consumer = task_consumer(database_url, tmp_path / "consumer.log").start()
    try:
        consumer.wait_for_log("consumer started")  # huey's own start line
        yield consumer
    finally:
        consumer.stop()
        tasks.huey.flush()
        tasks.huey.immediate = True


def test_an_export_is_built_by_the_consumer_process(real_queue, login_as, uni):
    backend = type(tasks.huey.storage).__name__
    assert backend == ("RedisStorage" if config.REDIS_URL else "SqliteStorage")
    lab = login_as("lab_admin")
    resp = start(lab, unit=str(uni.l11))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = resp.get_json()
    deadline, seen = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        status = lab.get(job["status_url"]).get_json()
        seen.append(status["state"])
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", (backend, status, real_queue.text()[-2000:])
    assert seen[0] in ("queued", "running")  # the request only queued it: the consumer built it
    real_queue.wait_for_log("app.tasks.build_export")
    file = lab.get(job["file_url"])
    assert file.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(file.data)).sheetnames == ["分仪器", "单位合计", "典型案例"]


@pytest.fixture
def booking_work(app, uni):
    """Relative to the real clock (the consumer runs on it): service_user's slot tomorrow, a slot that
    began two hours ago unused, and a sample booking unanswered with its respond-by on the next working day."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app import clock
    from app.extensions import db
    from app.models import Booking, Instrument, Message, ServiceUser, Unit
    from app.services.workdays import load_calendar

    from . import factories as f

    with app.app_context():
        db.session.execute(sa.delete(Message))
        instrument = f.bookable_instrument(db.session.get(Unit, uni.l11), name="队列提醒仪器")
        user = db.session.get(ServiceUser, uni.customer_service_user)
        now, today = clock.now(), clock.today()
        calendar = load_calendar(db.session)
        next_workday = today + timedelta(days=1)
        while not calendar.is_workday(next_workday)[0]:
            next_workday += timedelta(days=1)
        tomorrow = clock.start_of(today + timedelta(days=1)) + timedelta(hours=10)
        earlier = now - timedelta(hours=2)
        rows = {
            "tomorrow": Booking(mode="self_operated", state="scheduled", scheduled_start=tomorrow,
                                scheduled_end=tomorrow + timedelta(hours=1)),
            "unused": Booking(mode="self_operated", state="scheduled", scheduled_start=earlier,
                              scheduled_end=earlier + timedelta(hours=1)),
            "unanswered": Booking(mode="sample", state="pending", sample_count=1, respond_by=next_workday),
        }
        for booking in rows.values():
            booking.instrument_id, booking.user_id, booking.submitted_at = instrument.id, user.id, now - timedelta(days=5)
            booking.requested_start, booking.requested_end = booking.scheduled_start, booking.scheduled_end
            booking.respond_by = booking.respond_by or today
            booking.respond_by_official = True
            db.session.add(booking)
        db.session.commit()
        ids = {name: b.id for name, b in rows.items()}
        inst_id = instrument.id
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Message))
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id == inst_id))
        db.session.execute(sa.delete(Instrument).where(Instrument.id == inst_id))
        db.session.commit()
        db.session.remove()


def test_reminders_warnings_and_no_shows_run_in_the_consumer_and_mail_goes_out(
        app, database_url, tmp_path, booking_work, smtp_server):
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Booking, Message

    tasks.huey.immediate = False
    tasks.huey.flush()
    mail = {k: str(v) for k, v in smtp_server.settings().items() if v}
    consumer = task_consumer(database_url, tmp_path / "consumer.log", **mail).start()
    try:
        consumer.wait_for_log("consumer started")
        # as the scheduler would: each periodic task enqueued; the consumer runs them and the mail they cause
        for periodic in (tasks.send_booking_reminders, tasks.warn_respond_by, tasks.mark_no_shows):
            periodic()
        inbox = smtp_server.inbox.wait_for(3, timeout=60)
        subjects = sorted(m["message"]["Subject"] for m in inbox)
        assert len(inbox) == 3, (subjects, consumer.text()[-3000:])
        assert any(s.startswith("明日预约提醒") for s in subjects)
        assert any(s.startswith("答复期限") for s in subjects)
        assert any(s.startswith("预约记为爽约") for s in subjects)
        reminder = next(m["message"] for m in inbox if m["message"]["Subject"].startswith("明日预约提醒"))
        assert [p.get_content_type() for p in reminder.iter_attachments()] == ["text/calendar"]
        for name in ("app.tasks.send_booking_reminders", "app.tasks.warn_respond_by", "app.tasks.mark_no_shows",
                     "app.tasks.send_message_mail"):
            consumer.wait_for_log(name)
    finally:
        consumer.stop()
        tasks.huey.flush()
        tasks.huey.immediate = True
    with app.app_context():
        assert db.session.get(Booking, booking_work["unused"]).state == "no_show"
        assert db.session.get(Booking, booking_work["tomorrow"]).state == "scheduled"
        sent = db.session.execute(sa.select(Message.kind, Message.emailed_at)).all()
        db.session.remove()
    assert sorted(k for k, _ in sent) == ["no_show", "reminder", "respond_by_warning"] and all(at for _, at in sent)
