"""Report exports in the background, with their progress.

A school-wide report can take longer than a web worker may hold a request (gunicorn's 30 s), and a
page that waits without a sign of life gets clicked again. So the console starts an export (one
row in `report_export`), a thread builds it in the same process, writes how far it got into that
row (in its own short transactions, so any worker process can answer the page's polling), and
keeps the file there for the asker to download. The report itself runs exactly as for the CLI:
the same registry, context and writer.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from app.models import ReportExport, Unit
from app.models.base import utcnow

from . import registry
from .excel import write_workbook

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=1)  # a finished file is fetched at once; older ones are removed
STALE_AFTER = timedelta(hours=1)  # a running export not heard of since: its process is gone
REPORT_SHARE = 50  # percent of the bar for the queries; the writer fills the rest
MIN_UPDATE_SECONDS = 0.5


def start(app, session, account_id, rep, year, unit) -> ReportExport:
    """Record the export and start building it; returns the row (committed)."""
    session.execute(sa.delete(ReportExport).where(ReportExport.created_at < utcnow() - KEEP_FOR))
    export = ReportExport(account_id=account_id, report=rep.name, year=year, unit_id=unit.id, state="running",
                          percent=0, stage=gettext("Waiting to start…"))
    session.add(export)
    session.commit()
    threading.Thread(target=_run, args=(app, export.id, _texts()), name=f"report-export-{export.id}", daemon=True).start()
    return export


def _texts():
    """The stage texts in the asker's language (the thread has no request to translate with)."""
    return {"querying": gettext("Adding up the records…"),
            "writing": gettext("Writing sheet %(sheet)s: %(done)s of %(total)s rows"),
            "done": gettext("Done"), "failed": gettext("The workbook could not be built; please try again or ask the school administrator.")}


def _run(app, export_id, texts):
    with app.app_context():
        from app.extensions import db

        engine, last = db.engine, [0.0]

        def update(force=False, **values):
            now = time.monotonic()
            if force or now - last[0] >= MIN_UPDATE_SECONDS:
                last[0] = now
                try:
                    with engine.begin() as conn:  # its own transaction: visible to the polling page at once
                        conn.execute(sa.update(ReportExport).where(ReportExport.id == export_id).values(**values))
                except sa.exc.OperationalError:
                    if force:
                        raise
                    log.warning("report export %s: progress not recorded", export_id, exc_info=True)  # best effort

        def writing(done, total, sheet):
            update(percent=REPORT_SHARE + (99 - REPORT_SHARE) * done // total,
                   stage=texts["writing"] % {"sheet": sheet, "done": f"{done:,}", "total": f"{total:,}"})

        session = db.session
        try:
            export = session.get(ReportExport, export_id)
            rep, unit = registry.get(export.report), session.get(Unit, export.unit_id)
            ctx = registry.ReportContext(session, export.year, unit, registry.unit_subtree(session, unit), date.today(),
                                         on_progress=lambda share: update(percent=2 + int((REPORT_SHARE - 2) * share)))
            name = registry.file_name(rep, ctx)
            session.commit()
            update(force=True, percent=2, stage=texts["querying"])
            sheets = registry.build(rep, ctx)
            content = write_workbook(sheets, progress=writing)
            session.rollback()  # the report's read transaction (and its SET LOCAL) ends here
            session.execute(sa.update(ReportExport).where(ReportExport.id == export_id).values(
                state="done", percent=100, stage=texts["done"], file_name=name, content=content, finished_at=utcnow()))
            session.commit()
        except Exception:
            log.exception("report export %s failed", export_id)
            session.rollback()
            update(force=True, state="failed", stage=texts["failed"], finished_at=utcnow())
        finally:
            session.remove()


def status(export: ReportExport) -> dict:
    """What the page shows; a running export whose process is gone is reported as failed."""
    state = export.state
    if state == "running" and export.created_at < utcnow() - STALE_AFTER:
        state = "failed"
    return {"state": state, "percent": export.percent, "stage": export.stage or "", "file_name": export.file_name}
