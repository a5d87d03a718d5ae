"""Change history, checks, assessments, purchase reviews and the working-day overrides."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import ASSESSMENT_GRADE, CALL_RESULT, CHECK_KIND, CHECK_RESULT, CHECK_STATE, REVIEW_STATE
from .instrument import OwnedByInstrument


class ChangeLog(Model):
    __tablename__ = "change_log"
    id = sa.Column(sa.Integer, primary_key=True)
    table_name = sa.Column(sa.String(64), nullable=False)
    record_id = sa.Column(sa.Integer, nullable=False)
    field = sa.Column(sa.String(64), nullable=False)
    old_value = sa.Column(sa.Text)
    new_value = sa.Column(sa.Text)
    changed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    changed_by = relationship("PlatformUser")
    changed_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # where a change came from when not from a form: an imported ledger's file name and SHA-256
    source = sa.Column(sa.String(300))
    __table_args__ = (sa.Index("ix_change_log_record", "table_name", "record_id", "changed_at"),)


class ContactCall(OwnedByInstrument, Model):
    """A call to an instrument's published contact (notice §(三)2: no 空号 or 停机): who called, when, the number
    called as it was published then, and what the call found."""

    __tablename__ = "contact_call"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument")
    phone = sa.Column(sa.String(32))
    result = sa.Column(CALL_RESULT.column_type(), nullable=False)
    note = sa.Column(sa.String(200))
    called_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    called_by = relationship("PlatformUser")
    called_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    __table_args__ = (sa.Index("ix_contact_call_latest", "instrument_id", "called_at"),)

    def __repr__(self):
        return f"{self.instrument} {self.phone or ''}"


class CheckRecord(Model):
    """A lab's monthly self-check ("2026-06") or a college's quarterly review of its labs' checks ("2026-Q2"),
    notice §(三)3 (services/upkeep/self_checks.py)."""

    __tablename__ = "check_record"
    id = sa.Column(sa.Integer, primary_key=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    kind = sa.Column(CHECK_KIND.column_type(), nullable=False)
    period = sa.Column(sa.String(7), nullable=False)  # "2026-06" or "2026-Q2"
    state = sa.Column(CHECK_STATE.column_type(), nullable=False, default="open", server_default="signed")
    opened_at = sa.Column(UtcDateTime)
    checked_on = sa.Column(sa.Date)  # the Beijing day it was signed off
    signed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    signed_by = relationship("PlatformUser", foreign_keys=[signed_by_id])
    findings = sa.Column(sa.Text)
    # the quarterly review's decision on a monthly check
    reviewed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    reviewed_by = relationship("PlatformUser", foreign_keys=[reviewed_by_id])
    reviewed_at = sa.Column(UtcDateTime)
    remarks = sa.Column(sa.Text)
    items = relationship("CheckItem", back_populates="check", cascade="all, delete-orphan")
    __table_args__ = (sa.UniqueConstraint("unit_id", "kind", "period", name="uq_check_once_per_period"),)

    def __repr__(self):
        return f"{self.unit} {self.period}"

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)


class CheckItem(OwnedByInstrument, Model):
    """One record gone through in a monthly self-check: each checked field confirmed as it was, or corrected
    during the check (read from the change log, not claimed)."""

    __tablename__ = "check_item"
    id = sa.Column(sa.Integer, primary_key=True)
    check_id = sa.Column(sa.Integer, sa.ForeignKey("check_record.id", ondelete="CASCADE"), nullable=False)
    check = relationship("CheckRecord", back_populates="items")
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument")
    run_status = sa.Column(CHECK_RESULT.column_type(name="check_item_run_status"), nullable=False)
    location = sa.Column(CHECK_RESULT.column_type(name="check_item_location"), nullable=False)
    contact = sa.Column(CHECK_RESULT.column_type(name="check_item_contact"), nullable=False)
    fee_standard = sa.Column(CHECK_RESULT.column_type(name="check_item_fee_standard"), nullable=False)
    indicators = sa.Column(CHECK_RESULT.column_type(name="check_item_indicators"), nullable=False)
    note = sa.Column(sa.String(200))
    confirmed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    confirmed_at = sa.Column(UtcDateTime, nullable=False)
    __table_args__ = (sa.UniqueConstraint("check_id", "instrument_id", name="uq_check_item_once"),)


class Assessment(Model):
    __tablename__ = "assessment"
    id = sa.Column(sa.Integer, primary_key=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    year = sa.Column(sa.Integer, nullable=False)
    organisation_score = sa.Column(sa.Numeric(5, 2))
    operation_score = sa.Column(sa.Numeric(5, 2))
    sharing_score = sa.Column(sa.Numeric(5, 2))
    iot_score = sa.Column(sa.Numeric(5, 2))
    grade = sa.Column(ASSESSMENT_GRADE.column_type())
    __table_args__ = (sa.UniqueConstraint("unit_id", "year", name="uq_assessment_unit_year"),)

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)


class PurchaseReview(Model):
    """查重评议 (Art. 17–18) for new purchases of at least 1,000,000 CNY."""

    __tablename__ = "purchase_review"
    id = sa.Column(sa.Integer, primary_key=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    instrument_name = sa.Column(sa.String(200), nullable=False)
    model = sa.Column(sa.String(200))
    budget = sa.Column(MONEY, nullable=False)
    justification = sa.Column(sa.Text)
    state = sa.Column(REVIEW_STATE.column_type(), nullable=False, default="submitted")
    submitted_on = sa.Column(sa.Date, nullable=False)
    __table_args__ = (sa.CheckConstraint("budget >= 0", name="budget_non_negative"),)


class WorkdayOverride(Model):
    """Admin-maintained working-day calendar for years chinesecalendar does not know yet."""

    __tablename__ = "workday_override"
    day = sa.Column(sa.Date, primary_key=True)
    is_workday = sa.Column(sa.Boolean, nullable=False)
    note = sa.Column(sa.String(100))
