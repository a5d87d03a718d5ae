"""A report export running in the background: who asked for what, how far it got, and the file."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import deferred

from .base import utcnow

EXPORT_STATES = ("running", "done", "failed")


class ReportExport(Model):
    __tablename__ = "report_export"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    report = sa.Column(sa.String(20), nullable=False)
    year = sa.Column(sa.Integer, nullable=False)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False)
    state = sa.Column(sa.String(10), nullable=False, default="running")
    percent = sa.Column(sa.SmallInteger, nullable=False, default=0)
    stage = sa.Column(sa.String(200))  # what it is doing now, in the asker's language
    file_name = sa.Column(sa.String(255))
    content = deferred(sa.Column(sa.LargeBinary))  # the workbook, kept until it is a day old
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    finished_at = sa.Column(sa.DateTime)
    __table_args__ = (
        sa.CheckConstraint("state IN ('running', 'done', 'failed')", name="ck_report_export_state"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="ck_report_export_percent"),
    )
