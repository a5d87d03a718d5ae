"""Charges (费用结算): what one use costs, line by line, and the credit notes (红冲) against them."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import CHARGE_STATE, CUSTOMER_CATEGORY, PAYMENT_METHOD
from .instrument import Instrument
from .usage import UsageRecord


class Charge(Model):
    """What one completed use costs (app/services/money/settlement.py), or a credit note (红冲) against one:
    pending → confirmed → invoiced → settled; a confirmed charge is never edited, a correction is a
    credit note (negative, pointing at the original) plus a new charge; a waiver (免收) needs a reason."""

    __tablename__ = "charge"
    id = sa.Column(sa.Integer, primary_key=True)
    usage_id = sa.Column(sa.Integer, sa.ForeignKey("usage_record.id"), nullable=False, index=True)
    usage = relationship("UsageRecord", back_populates="charges")
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), index=True)
    user = relationship("ServiceUser")
    customer_category = sa.Column(CUSTOMER_CATEGORY.column_type())  # the user's category when priced
    project_account = sa.Column(sa.String(64))  # on campus: the account it goes to, as it was then
    fee_standard_id = sa.Column(sa.Integer, sa.ForeignKey("fee_standard.id"))
    fee_standard = relationship("FeeStandard")
    total = sa.Column(MONEY, nullable=False, default=0)
    state = sa.Column(CHARGE_STATE.column_type(), nullable=False, default="pending")
    confirmed_at = sa.Column(UtcDateTime)
    confirmed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    invoice_number = sa.Column(sa.String(64), unique=True)
    invoice_date = sa.Column(sa.Date)
    paid_on = sa.Column(sa.Date)
    payment_method = sa.Column(PAYMENT_METHOD.column_type())
    credit_of_id = sa.Column(sa.Integer, sa.ForeignKey("charge.id"))
    credit_of = relationship("Charge", remote_side=[id], back_populates="credit_notes")
    credit_notes = relationship("Charge", back_populates="credit_of")
    lines = relationship("ChargeLine", back_populates="charge")
    approval = relationship("ChargeApproval", back_populates="charge", uselist=False)
    reason = sa.Column(sa.Text)  # a credit note's or a waiver's
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # a charge list shows each charge's instrument: computed in the list's own query, deferred so that
    # nothing else pays for it (the list view undefers it)
    instrument_name = sa.orm.column_property(
        sa.select(Instrument.name).join(UsageRecord, UsageRecord.instrument_id == Instrument.id)
        .where(UsageRecord.id == usage_id).correlate_except(Instrument, UsageRecord).scalar_subquery(),
        deferred=True,
    )
    __table_args__ = (
        # a credit note (红冲) carries a negative total; every other charge is >= 0
        sa.CheckConstraint("credit_of_id IS NOT NULL OR total >= 0", name="charge_total_non_negative"),
        sa.CheckConstraint("credit_of_id IS NULL OR total < 0", name="credit_note_negative"),
        sa.CheckConstraint("state <> 'waived' OR reason IS NOT NULL", name="waiver_has_reason"),
        sa.CheckConstraint("paid_on IS NULL OR invoice_date IS NULL OR paid_on >= invoice_date",
                           name="paid_after_invoice"),
        sa.Index("ix_charge_invoice_date", "invoice_date"),
    )

    @property
    def booking_id(self):
        return self.usage.booking_id if self.usage is not None else None

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.usage_id.in_(sa.select(UsageRecord.id).where(UsageRecord.scope_clause(unit_ids)))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id

    def scope_owner_unit_id(self):
        return self.usage.scope_owner_unit_id() if self.usage is not None else None


class ChargeLine(Model):
    __tablename__ = "charge_line"
    id = sa.Column(sa.Integer, primary_key=True)
    charge_id = sa.Column(sa.Integer, sa.ForeignKey("charge.id", ondelete="CASCADE"), nullable=False, index=True)
    charge = relationship("Charge", back_populates="lines")
    fee_item_id = sa.Column(sa.Integer, sa.ForeignKey("fee_item.id"))
    description = sa.Column(sa.String(200), nullable=False)
    quantity = sa.Column(sa.Numeric(12, 2), nullable=False)
    unit_price = sa.Column(MONEY, nullable=False)
    amount = sa.Column(MONEY, nullable=False)
