"""Background work: a report export (who asked for what, how far it got, the file) and the record of
every failed background task, which the school sees."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import deferred

from app import clock

from .base import UtcDateTime

EXPORT_STATES = ("queued", "running", "done", "failed")


class ReportExport(Model):
    __tablename__ = "report_export"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    report = sa.Column(sa.String(20), nullable=False)
    year = sa.Column(sa.Integer, nullable=False)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False)
    state = sa.Column(sa.String(10), nullable=False, default="queued")
    percent = sa.Column(sa.SmallInteger, nullable=False, default=0)
    stage = sa.Column(sa.String(200))  # what it is doing now, in the asker's language
    file_name = sa.Column(sa.String(255))
    content = deferred(sa.Column(sa.LargeBinary))  # the workbook, kept until it is a day old
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # written every few seconds while a worker builds it: a running export not heard of lost its worker
    heartbeat_at = sa.Column(UtcDateTime)
    finished_at = sa.Column(UtcDateTime)
    __table_args__ = (
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_report_export_state"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="ck_report_export_percent"),
    )


class TaskFailure(Model):
    """One failed run of a background task (app/tasks.py): what, with which arguments, why, and
    whether the queue will try it again."""

    __tablename__ = "task_failure"
    id = sa.Column(sa.Integer, primary_key=True)
    task = sa.Column(sa.String(100), nullable=False)
    task_id = sa.Column(sa.String(64), nullable=False)
    arguments = sa.Column(sa.String(500))
    error = sa.Column(sa.Text, nullable=False)
    traceback = sa.Column(sa.Text)
    retries_left = sa.Column(sa.SmallInteger, nullable=False, default=0)
    failed_at = sa.Column(UtcDateTime, nullable=False, default=clock.now, index=True)

    @classmethod
    def scope_clause(cls, unit_ids):
        """The whole system's, not a unit's: only the school (the whole tree) sees them."""
        return sa.false()
