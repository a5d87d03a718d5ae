"""Background work on a real task queue (Huey): report exports, and the scheduled jobs.

One queue for the site. With REDIS_URL unset it lives in SQLite (`instance/tasks.db`), so `make run`
needs nothing more and starts its consumer; with REDIS_URL set it lives in Redis, so several
machines share one queue and one schedule. The consumer is

    huey_consumer app.worker.huey --workers 2 --worker-type thread

(on several machines, periodic tasks on one of them only: the others add `--no-periodic`).

A task runs in an application context of its own (the consumer's entry point, app/worker.py, gives this
module the factory that builds its one app per process), so it has its own database session, whatever
called it. A failed task is retried; every failed run is
recorded in `task_failure`, which the school sees in the console (后台任务故障).
"""
from __future__ import annotations

import functools
import logging
import threading
import traceback

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab
from huey.signals import SIGNAL_ERROR

import config
from app import clock
from app.extensions import db
from app.models import TaskFailure
from app.reports import exports
from app.services.booking import bookings
from app.services.catalogue import entry as catalogue_entry
from app.services.iot import interlock, interlock_sweep, status as iot
from app.services.people import mail, notifications
from app.services.money import pi_approval

log = logging.getLogger(__name__)


def make_queue():
    if config.REDIS_URL:
        return RedisHuey(config.TASK_QUEUE_NAME, url=config.REDIS_URL, utc=True)
    config.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(config.TASK_QUEUE_NAME, filename=str(config.INSTANCE_DIR / "tasks.db"), utc=True)


huey = make_queue()

_consumer_app = None
_consumer_app_lock = threading.Lock()  # the consumer's worker threads build its one app once
_app_factory = None  # set by the consumer's entry point (app/worker.py): this module never imports the app


def use_app_factory(factory):
    global _app_factory
    _app_factory = factory


def _app():
    global _consumer_app
    if has_app_context():
        return current_app._get_current_object()
    with _consumer_app_lock:
        if _consumer_app is None:
            if _app_factory is None:
                raise RuntimeError("no application to run the task in: start the consumer as "
                                   "`huey_consumer app.worker.huey`")
            _consumer_app = _app_factory()
    return _consumer_app


def in_app_context(fn):
    """Run a task inside an application context of its own: its own database session and `g`."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _app().app_context():
            return fn(*args, **kwargs)
    return run


# -- report exports ------------------------------------------------------------------------------

EXPORT_RETRIES = 1


@huey.task(retries=EXPORT_RETRIES, retry_delay=5, context=True)
@in_app_context
def build_export(export_id, task=None):
    exports.build(db.session, db.engine, export_id, clock.today(), final_attempt=not task or not task.retries)


def start_export(session, account_id, rep, year, unit):
    """Record an export and put it on the queue; returns the (committed) row."""
    export = exports.create(session, account_id, rep, year, unit)
    build_export(export.id)
    return export


# -- notifications by e-mail -----------------------------------------------------------------------

@huey.task(retries=3, retry_delay=60)
@in_app_context
def send_message_mail(message_id):
    mail.deliver(db.session, message_id, mail.MailSettings.of(current_app.config), clock.now())


def _enqueue_mail(message_id):
    """After a step's transaction commits: its messages' e-mails go on the queue (with mail configured)."""
    if has_app_context() and mail.MailSettings.of(current_app.config).enabled:
        send_message_mail(message_id)


notifications.install(_enqueue_mail)


@huey.task(retries=3, retry_delay=60)
@in_app_context
def send_pi_approval_mail(approval_id):
    """The signed link to an on-campus charge's PI (app/services/money/pi_approval.py)."""
    pi_approval.deliver(db.session, approval_id, mail.MailSettings.of(current_app.config), current_app.config["SECRET_KEY"],
                        pi_approval.Settings.of(current_app.config).link_days, clock.now())


def _enqueue_pi_mail(approval_id):
    if has_app_context() and mail.MailSettings.of(current_app.config).enabled:
        send_pi_approval_mail(approval_id)


pi_approval.install(_enqueue_pi_mail)


# -- scheduled work --------------------------------------------------------------------------------

@huey.periodic_task(crontab(minute="5"), retries=2, retry_delay=60)
@in_app_context
def send_booking_reminders():
    """Every hour: a reminder, once, to whoever has a scheduled booking tomorrow (Beijing)."""
    sent = notifications.send_reminders(db.session, clock.now())
    db.session.commit()
    log.info("booking reminders: %s sent", sent)


@huey.periodic_task(crontab(minute="15"), retries=2, retry_delay=60)
@in_app_context
def warn_respond_by():
    """Every hour: the lab side of each booking unanswered one working day before its respond-by is warned, once."""
    sent = notifications.warn_respond_by(db.session, clock.now())
    db.session.commit()
    log.info("respond-by warnings: %s sent", sent)


@huey.periodic_task(crontab(minute="*/10"), retries=2, retry_delay=60)
@in_app_context
def mark_no_shows():
    """Every ten minutes: scheduled slots whose grace passed without use become no-shows."""
    marked = bookings.mark_no_shows(db.session, clock.now(), bookings.Settings.of(current_app.config))
    db.session.commit()
    log.info("no-shows: %s marked", len(marked))


@huey.periodic_task(crontab(minute="*"), retries=1, retry_delay=20)
@in_app_context
def end_interlocked_slots():
    """Every minute: the power interlock's slot ends — warn, then end the use and switch the plug off."""
    result = interlock_sweep.sweep(db.session, clock.now(), iot.offline_window(current_app.config),
                                   interlock.Settings.of(current_app.config))
    db.session.commit()
    if result.warned or result.held or result.ended or result.failures_told:
        log.info("interlock: %s warned, %s held during a run, %s ended, %s failures told", result.warned, result.held,
                 len(result.ended), result.failures_told)


@huey.periodic_task(crontab(minute="0"), retries=3, retry_delay=60)
@in_app_context
def refresh_public_catalogue():
    """Every hour (the run after midnight publishes the day's versions) and at the consumer's start."""
    changed = catalogue_entry.refresh_all(db.session, clock.today())
    log.info("public catalogue refreshed: %s entries changed", changed)


@huey.periodic_task(crontab(minute="30"), retries=3, retry_delay=60)
@in_app_context
def remove_old_exports():
    exports.purge(db.session, clock.now())


@huey.on_startup()
def _refresh_on_start():
    refresh_public_catalogue()  # enqueued once per worker; the refresh is idempotent


# -- failures, for the school ----------------------------------------------------------------------

@huey.signal(SIGNAL_ERROR)
def record_failure(signal, task, exc=None):
    """Every failed run, with whether the queue tries it again (retries left)."""
    try:
        with _app().app_context():
            with db.engine.begin() as conn:
                conn.execute(sa_insert_failure(task, exc))
    except Exception:  # the database itself may be what failed: the consumer's log still has it
        log.exception("could not record the failure of task %s", task.id)


def sa_insert_failure(task, exc):
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) if exc is not None else ""
    return TaskFailure.__table__.insert().values(
        task=task.name[:100], task_id=str(task.id)[:64], arguments=repr((task.args, task.kwargs))[:500],
        error=(f"{type(exc).__name__}: {exc}" if exc is not None else "")[:2000], traceback=detail[-8000:],
        retries_left=task.retries or 0, failed_at=clock.now())
