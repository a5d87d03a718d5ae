"""Fee standards (versioned), their items, component costs, tiers and prices."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import CUSTOMER_CATEGORY, FEE_ACTION, FEE_COMPONENT, FEE_STATE, QUANTITY_BASIS, TIER_MODE, UNIT_ROUNDING
from .instrument import OwnedByInstrument


class FeeStandard(OwnedByInstrument, Model):
    __tablename__ = "fee_standard"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument", back_populates="fee_standards")
    items = relationship("FeeItem", back_populates="standard")
    events = relationship("FeeStandardEvent", back_populates="standard", order_by="FeeStandardEvent.id")
    version = sa.Column(sa.Integer, nullable=False, default=1)
    state = sa.Column(FEE_STATE.column_type(), nullable=False, default="draft")
    effective_from = sa.Column(sa.Date)
    effective_to = sa.Column(sa.Date)
    pricing_method = sa.Column(sa.Text)
    justification = sa.Column(sa.Text)
    # how a use is priced (app/services/money/pricing.py): the tiers' mode and the rounding of a started unit
    tier_mode = sa.Column(TIER_MODE.column_type(), nullable=False, default="volume", server_default="volume")
    unit_rounding = sa.Column(UNIT_ROUNDING.column_type(), nullable=False, default="started_unit",
                              server_default="started_unit")
    approved_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    approved_at = sa.Column(UtcDateTime)
    created_at = sa.Column(UtcDateTime, default=clock.now, nullable=False)
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "version", name="uq_fee_standard_version"),
        sa.CheckConstraint("version >= 1", name="fee_version_positive"),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from",
            name="fee_period_ordered",
        ),
        # the public catalogue looks up the standard in force per instrument
        sa.Index("ix_fee_standard_state_instrument", "state", "instrument_id", "effective_from"),
    )

    def __repr__(self):
        return f"{self.instrument} v{self.version}"



class FeeItem(Model):
    __tablename__ = "fee_item"
    id = sa.Column(sa.Integer, primary_key=True)
    standard_id = sa.Column(sa.Integer, sa.ForeignKey("fee_standard.id", ondelete="CASCADE"), nullable=False, index=True)
    standard = relationship("FeeStandard", back_populates="items")
    components = relationship("FeeItemComponent", back_populates="item")
    prices = relationship("FeePrice", back_populates="item")
    name = sa.Column(sa.String(100), nullable=False)
    billing_unit = sa.Column(sa.String(20), nullable=False)
    cost_basis = sa.Column(MONEY, nullable=False, default=0)
    quantity_basis = sa.Column(QUANTITY_BASIS.column_type(), nullable=False, default="entered", server_default="entered")
    __table_args__ = (
        sa.CheckConstraint("cost_basis >= 0", name="cost_basis_non_negative"),
        # unique indexes rather than constraints: SQLite adds them without rebuilding the table
        sa.Index("uq_fee_item_name", "standard_id", "name", unique=True),
    )

    def __repr__(self):
        return f"{self.standard} · {self.name}" if self.standard is not None else self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.standard_id.in_(sa.select(FeeStandard.id).where(FeeStandard.scope_clause(unit_ids)))

    def scope_owner_unit_id(self):
        return None if self.standard is None else self.standard.scope_owner_unit_id()


class _ItemChild:
    """Rows that belong to a fee item are scoped through it."""

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.item_id.in_(sa.select(FeeItem.id).where(FeeItem.scope_clause(unit_ids)))

    def scope_owner_unit_id(self):
        return None if self.item is None else self.item.scope_owner_unit_id()


class FeeItemComponent(_ItemChild, Model):
    """The four components of the notice (§(四)1) behind one item's cost."""

    __tablename__ = "fee_item_component"
    id = sa.Column(sa.Integer, primary_key=True)
    item_id = sa.Column(sa.Integer, sa.ForeignKey("fee_item.id", ondelete="CASCADE"), nullable=False)
    item = relationship("FeeItem", back_populates="components")
    component = sa.Column(FEE_COMPONENT.column_type(), nullable=False)
    amount = sa.Column(MONEY, nullable=False, default=0)
    __table_args__ = (
        sa.UniqueConstraint("item_id", "component", name="uq_fee_item_component"),
        sa.CheckConstraint("amount >= 0", name="component_amount_non_negative"),
    )


class FeePrice(_ItemChild, Model):
    """Price of one item for one customer category within one quantity tier (档位)."""

    __tablename__ = "fee_price"
    id = sa.Column(sa.Integer, primary_key=True)
    item_id = sa.Column(sa.Integer, sa.ForeignKey("fee_item.id", ondelete="CASCADE"), nullable=False)
    item = relationship("FeeItem", back_populates="prices")
    customer_category = sa.Column(CUSTOMER_CATEGORY.column_type(), nullable=False)
    tier_min = sa.Column(sa.Numeric(12, 2), nullable=False, default=0)
    tier_max = sa.Column(sa.Numeric(12, 2))
    unit_price = sa.Column(MONEY, nullable=False)
    difference_reason = sa.Column(sa.Text)
    __table_args__ = (
        sa.CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        sa.CheckConstraint("tier_min >= 0", name="tier_min_non_negative"),
        sa.CheckConstraint("tier_max IS NULL OR tier_max > tier_min", name="tier_ordered"),
        sa.Index("uq_fee_price_tier", "item_id", "customer_category", "tier_min", unique=True),
        sa.Index("ix_fee_price_unit_price", "unit_price", "item_id"),  # price-range search
    )


class FeeStandardEvent(Model):
    """One workflow step of a fee standard: who did what, when, and why."""

    __tablename__ = "fee_standard_event"
    id = sa.Column(sa.Integer, primary_key=True)
    standard_id = sa.Column(sa.Integer, sa.ForeignKey("fee_standard.id", ondelete="CASCADE"), nullable=False, index=True)
    standard = relationship("FeeStandard", back_populates="events")
    action = sa.Column(FEE_ACTION.column_type(), nullable=False)
    from_state = sa.Column(FEE_STATE.column_type(name="fee_event_from_state"))
    to_state = sa.Column(FEE_STATE.column_type(), nullable=False)
    actor_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    actor = relationship("PlatformUser")
    at = sa.Column(UtcDateTime, nullable=False)
    comment = sa.Column(sa.Text)
