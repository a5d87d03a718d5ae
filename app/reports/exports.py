"""Report exports in the background, with their progress.

A school-wide report can take longer than a web worker may hold a request (gunicorn's 30 s), and a
page that waits without a sign of life gets clicked again. So the console records an export (one
row in `report_export`, state queued) and puts a task on the queue (app/tasks.py); a worker of
the task consumer builds it (`build`), writes how far it got into that row in its own short
transactions — so any web process can answer the page's polling — and keeps the file there for
the asker to download. The report itself runs exactly as for the CLI: the same registry, context
and writer.

While it builds, a heartbeat beside it stamps the row every few seconds, also during one long
statement: a running export whose heartbeat stopped lost its worker, and says so; one queued for
long says that no worker is taking the queue.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from app import clock
from app.models import ReportExport, Unit

from . import registry
from .excel import write_workbook

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=1)  # a finished file is fetched at once; older ones are removed
HEARTBEAT_SECONDS = 5
LOST_AFTER = timedelta(seconds=30)  # running, and no heartbeat for this long: its worker is gone
WAITING_NOTE_AFTER = timedelta(seconds=15)  # queued this long: say that no worker has taken it yet
GIVE_UP_AFTER = timedelta(minutes=10)  # queued this long: no consumer is running
REPORT_SHARE = 50  # percent of the bar for the queries; the writer fills the rest
MIN_UPDATE_SECONDS = 0.5


def create(session, account_id, rep, year, unit) -> ReportExport:
    """Record a queued export of `rep` for `year` and `unit` (committed); the caller enqueues it."""
    export = ReportExport(account_id=account_id, report=rep.name, year=year, unit_id=unit.id, state="queued",
                          percent=0, stage=gettext("Waiting for a background worker…"))
    session.add(export)
    session.commit()
    return export


def purge(session, now: datetime) -> int:
    """Remove exports older than a day (their files were fetched long ago); returns how many."""
    removed = session.execute(sa.delete(ReportExport).where(ReportExport.created_at < now - KEEP_FOR)).rowcount
    session.commit()
    return removed


def _texts():
    return {"querying": gettext("Adding up the records…"),
            "writing": gettext("Writing sheet %(sheet)s: %(done)s of %(total)s rows"),
            "done": gettext("Done"), "retrying": gettext("The workbook could not be built; trying again…"),
            "failed": gettext("The workbook could not be built; please try again or ask the school administrator.")}


class _Heartbeat:
    """Stamps the export every few seconds from a thread of its own, until stopped."""

    def __init__(self, engine, export_id):
        self.engine, self.export_id, self.stopped = engine, export_id, threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"export-heartbeat-{export_id}", daemon=True)

    def _beat(self):
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.update(ReportExport).where(ReportExport.id == self.export_id)
                                 .values(heartbeat_at=clock.now()))
            except sa.exc.OperationalError:
                log.warning("report export %s: heartbeat not recorded", self.export_id, exc_info=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(HEARTBEAT_SECONDS + 5)


def build(session, engine, export_id, today: date, final_attempt=True):
    """Build the export `export_id` (in a task worker, inside an application context): its report
    through the registry and the one writer, the progress in the row, then the file. A failure is
    recorded on the row — "trying again" when the queue will retry it — and raised again, so the
    queue retries it or records it as failed."""
    texts, last = _texts(), [0.0]

    def update(force=False, **values):
        now = time.monotonic()
        if force or now - last[0] >= MIN_UPDATE_SECONDS:
            last[0] = now
            try:
                with engine.begin() as conn:  # its own transaction: visible to the polling page at once
                    conn.execute(sa.update(ReportExport).where(ReportExport.id == export_id)
                                 .values(heartbeat_at=clock.now(), **values))
            except sa.exc.OperationalError:
                if force:
                    raise
                log.warning("report export %s: progress not recorded", export_id, exc_info=True)  # best effort

    def writing(done, total, sheet):
        update(percent=REPORT_SHARE + (99 - REPORT_SHARE) * done // total,
               stage=texts["writing"] % {"sheet": sheet, "done": f"{done:,}", "total": f"{total:,}"})

    export = session.get(ReportExport, export_id)
    if export is None or export.state in ("done", "failed"):
        return  # removed meanwhile, or a redelivered task of an export already finished
    try:
        rep, unit = registry.get(export.report), session.get(Unit, export.unit_id)
        ctx = registry.ReportContext(session, export.year, unit, registry.unit_subtree(session, unit), today,
                                     on_progress=lambda share: update(percent=2 + int((REPORT_SHARE - 2) * share)))
        name = registry.file_name(rep, ctx)
        session.commit()
        update(force=True, state="running", percent=2, stage=texts["querying"])
        with _Heartbeat(engine, export_id):
            sheets = registry.build(rep, ctx)
            content = write_workbook(sheets, progress=writing)
        session.rollback()  # the report's read transaction (and its SET LOCAL) ends here
        session.execute(sa.update(ReportExport).where(ReportExport.id == export_id).values(
            state="done", percent=100, stage=texts["done"], file_name=name, content=content, finished_at=clock.now(),
            heartbeat_at=clock.now()))
        session.commit()
    except Exception:
        log.exception("report export %s failed", export_id)
        session.rollback()
        if final_attempt:
            update(force=True, state="failed", stage=texts["failed"], finished_at=clock.now())
        else:
            update(force=True, state="queued", percent=0, stage=texts["retrying"])
        raise


def status(export: ReportExport, now: datetime) -> dict:
    """What the page shows. A running export whose heartbeat stopped lost its worker; one queued for
    a while says that no worker has taken it, and after GIVE_UP_AFTER that none is running."""
    state, stage = export.state, export.stage or ""
    if state == "running" and (export.heartbeat_at or export.created_at) < now - LOST_AFTER:
        state = "failed"
        stage = gettext("The background worker stopped while building this workbook. Start the export again; "
                        "if it happens again, ask the school administrator.")
    elif state == "queued" and export.created_at < now - GIVE_UP_AFTER:
        state = "failed"
        stage = gettext("No background worker took this export: the task consumer is not running. "
                        "Ask the school administrator.")
    elif state == "queued" and export.created_at < now - WAITING_NOTE_AFTER:
        stage = gettext("Still waiting for a background worker (%(seconds)s s); if this goes on, the task consumer "
                        "may be stopped.", seconds=int((now - export.created_at).total_seconds()))
    return {"state": state, "percent": export.percent, "stage": stage, "file_name": export.file_name}
