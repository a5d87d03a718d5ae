"""Instruments and facilities, their classification and the not-for-sharing filings."""
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_babel import lazy_gettext
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import (
    FILING_STATE,
    FUNDING_SOURCE,
    INSTRUMENT_KIND,
    RUN_STATUS,
    SHARING_STATUS,
    UNSUITABLE_CATEGORY,
)


class InstrumentClass(Model):
    """The national 6-digit instrument classification (reference data, seeded by migration)."""

    __tablename__ = "instrument_class"
    code = sa.Column(sa.String(6), primary_key=True)
    name = sa.Column(sa.String(100), nullable=False)
    parent_code = sa.Column(sa.String(6), sa.ForeignKey("instrument_class.code"))
    __table_args__ = (sa.CheckConstraint("length(code) = 6", name="class_code_six_digits"),)

    def __repr__(self):
        return f"{self.code} {self.name}"


PUBLISHED = sa.text("public_standard_id IS NOT NULL")

# The instrument lists show each instrument's fee status and terminal status, read from two tables
# whose modules import this one (fees.py, iot.py); named here by the columns read
# (tests/test_models_whole.py holds them to the tables).
FEE_STANDARD = sa.table("fee_standard", sa.column("instrument_id", sa.Integer), sa.column("state", sa.String),
                        sa.column("effective_from", sa.Date))
DEVICE_STATUS = sa.table("device_status", sa.column("terminal_id", sa.String), sa.column("state", sa.String),
                         sa.column("received_at", UtcDateTime))
# how far a fee standard got; an instrument's fee status is the furthest of its versions
FEE_RANK = {"draft": 1, "college_review": 2, "school_review": 3, "published": 4}
FEE_STATE_OF_RANK = {0: None, **{rank: state for state, rank in FEE_RANK.items()}}


class FeeStatus(NamedTuple):
    """An instrument's fee standard: the furthest state of its versions (None: none yet) and, once one is
    published, the day the latest published version took effect."""

    state: str | None
    published_from: date | None


# (column, value) under which an instrument takes no booking whatever its switch, in the order the
# reason is told; the value is the reason's code. The one definition of "bookable" (Instrument.can_be_booked).
NOT_BOOKABLE_STATUSES = (
    ("run_status", "under_repair"),
    ("run_status", "to_scrap"),
    ("run_status", "scrapped"),
    ("sharing_status", "unsuitable"),
)
NOT_OPEN = "not_open"  # the lab's switch (Instrument.bookable) is off
NOT_BOOKABLE_MESSAGES = {
    "under_repair": lazy_gettext("This instrument is under repair and takes no bookings for now."),
    "to_scrap": lazy_gettext("This instrument is to be scrapped and takes no bookings."),
    "scrapped": lazy_gettext("This instrument has been scrapped and takes no bookings."),
    "unsuitable": lazy_gettext("This instrument is not suitable for sharing and takes no bookings."),
    NOT_OPEN: lazy_gettext("This instrument is not open for booking yet."),
}


class Instrument(Model):
    __tablename__ = "instrument"
    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(INSTRUMENT_KIND.column_type(), nullable=False, default="instrument")
    asset_number = sa.Column(sa.String(64), nullable=False, unique=True)
    name = sa.Column(sa.String(200), nullable=False, index=True)
    name_en = sa.Column(sa.String(200))
    model = sa.Column(sa.String(200))
    manufacturer = sa.Column(sa.String(200))
    country = sa.Column(sa.String(64))
    class_code = sa.Column(sa.String(6), sa.ForeignKey("instrument_class.code"), index=True)
    instrument_class = relationship("InstrumentClass")
    discipline = sa.Column(sa.String(100))
    original_value = sa.Column(MONEY, nullable=False)
    funding_source = sa.Column(FUNDING_SOURCE.column_type(), nullable=False, default="fiscal_full")
    purchase_date = sa.Column(sa.Date)
    acceptance_date = sa.Column(sa.Date)
    technical_indicators = sa.Column(sa.Text)
    main_functions = sa.Column(sa.Text)
    service_scope = sa.Column(sa.Text)
    location = sa.Column(sa.String(200))
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    platform_id = sa.Column(sa.Integer, sa.ForeignKey("innovation_platform.id"), index=True)
    platform = relationship("InnovationPlatform")
    responsible_person_id = sa.Column(sa.Integer, sa.ForeignKey("person.id"), index=True)
    responsible_person = relationship("Person", foreign_keys=[responsible_person_id])
    # what belongs to an instrument, defined with it (the other side names it back)
    fee_standards = relationship("FeeStandard", back_populates="instrument")
    unsuitable_filings = relationship("UnsuitableFiling", back_populates="instrument")
    booking_rule = relationship("BookingRule", back_populates="instrument", uselist=False)
    opening_hours = relationship("OpeningHours", back_populates="instrument")
    contact_phone = sa.Column(sa.String(32))
    contact_email = sa.Column(sa.String(120))
    contact_verified_on = sa.Column(sa.Date)
    run_status = sa.Column(RUN_STATUS.column_type(), nullable=False, default="normal")
    sharing_status = sa.Column(SHARING_STATUS.column_type(), nullable=False, default="external")
    bookable = sa.Column(sa.Boolean, nullable=False, default=False)
    networked = sa.Column(sa.Boolean, nullable=False, default=False)
    provincial_ref = sa.Column(sa.String(64))
    networked_on = sa.Column(sa.Date)
    sync_fingerprint = sa.Column(sa.String(64))
    # the first change to the record's provincial data since it was last sent: the 5-working-day clock's start
    # (app/services/upkeep/change_clock.py); none while the province holds what the record says
    province_changed_at = sa.Column(UtcDateTime)
    duty_free = sa.Column(sa.Boolean, nullable=False, default=False)
    customs_declaration_no = sa.Column(sa.String(64))
    supervision_end = sa.Column(sa.Date)
    iot_terminal_id = sa.Column(sa.String(64), unique=True)
    updated_at = sa.Column(UtcDateTime, default=clock.now, onupdate=clock.now)
    # The public catalogue's entry, kept by app/services/catalogue/public.py: the published fee
    # standard in force today (only while the instrument is listable) and its lowest price, so
    # that /public/fees is a plain indexed list of this table. No foreign key: instrument ↔
    # fee_standard would be a cycle, and the refresh (not the user) writes these two columns.
    public_standard_id = sa.Column(sa.Integer, index=True)
    public_min_price = sa.Column(MONEY)
    # The lists' fee status and terminal status, computed in the list's own query (a correlated subquery
    # per row: no extra statement). Deferred, so that no other query of instruments pays for them; the
    # list views undefer them.
    fee_rank = sa.orm.column_property(
        sa.select(sa.func.coalesce(sa.func.max(sa.case(
            *((FEE_STANDARD.c.state == state, rank) for state, rank in FEE_RANK.items()), else_=0)), 0))
        .where(FEE_STANDARD.c.instrument_id == id).correlate_except(FEE_STANDARD).scalar_subquery(),
        deferred=True,
    )
    fee_published_from = sa.orm.column_property(
        sa.select(sa.func.max(FEE_STANDARD.c.effective_from))
        .where(FEE_STANDARD.c.instrument_id == id, FEE_STANDARD.c.state == "published")
        .correlate_except(FEE_STANDARD).scalar_subquery(),
        deferred=True,
    )
    device_state = sa.orm.column_property(
        sa.select(DEVICE_STATUS.c.state).where(DEVICE_STATUS.c.terminal_id == iot_terminal_id)
        .correlate_except(DEVICE_STATUS).scalar_subquery(),
        deferred=True,
    )
    device_seen_at = sa.orm.column_property(
        sa.select(DEVICE_STATUS.c.received_at).where(DEVICE_STATUS.c.terminal_id == iot_terminal_id)
        .correlate_except(DEVICE_STATUS).scalar_subquery(),
        deferred=True,
    )

    __table_args__ = (
        sa.CheckConstraint("original_value >= 0", name="original_value_non_negative"),
        sa.CheckConstraint(
            "acceptance_date IS NULL OR purchase_date IS NULL OR acceptance_date >= purchase_date",
            name="acceptance_not_before_purchase",
        ),
        sa.Index("ix_instrument_unit_name", "unit_id", "name"),
        # the public catalogue searches names and models by substring: trigram indexes on
        # PostgreSQL (pg_trgm, migration 0004); elsewhere a plain index
        sa.Index("ix_instrument_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        sa.Index("ix_instrument_model_trgm", "model", postgresql_using="gin", postgresql_ops={"model": "gin_trgm_ops"}),
        # the catalogue's two orders, over the published instruments only (migration 0005)
        sa.Index("ix_instrument_public_name", "name", "id", sqlite_where=PUBLISHED, postgresql_where=PUBLISHED),
        sa.Index("ix_instrument_public_price", "public_min_price", "id", sqlite_where=PUBLISHED, postgresql_where=PUBLISHED),
    )

    def __repr__(self):
        return f"{self.name}（{self.asset_number}）"

    @hybrid_property
    def in_service(self) -> bool:
        """Not scrapped: it still counts in the records, the networking duty, the reports and the assessment."""
        return self.run_status != "scrapped"

    @hybrid_property
    def listable(self) -> bool:
        """On the public catalogue (with a fee standard in force): shared and in service."""
        return self.sharing_status != "unsuitable" and self.in_service

    @listable.inplace.expression
    @classmethod
    def _listable_expression(cls):
        return sa.and_(cls.sharing_status != "unsuitable", cls.in_service)

    @hybrid_property
    def can_be_booked(self) -> bool:
        """Open for booking (the lab's switch), shared, and in service: every booking path asks this."""
        return self.not_bookable_reason is None

    @can_be_booked.inplace.expression
    @classmethod
    def _can_be_booked_expression(cls):
        return sa.and_(cls.bookable.is_(True), *(getattr(cls, column) != value for column, value in NOT_BOOKABLE_STATUSES))

    @property
    def not_bookable_reason(self) -> str | None:
        """Why it cannot be booked: a status value of NOT_BOOKABLE_STATUSES, or NOT_OPEN; None when it can."""
        for column, value in NOT_BOOKABLE_STATUSES:
            if getattr(self, column) == value:
                return value
        return None if self.bookable else NOT_OPEN

    @property
    def not_bookable_message(self):
        reason = self.not_bookable_reason
        return None if reason is None else NOT_BOOKABLE_MESSAGES[reason]

    def fee_status(self) -> FeeStatus:
        """How far its fee standard got (from fee_rank and fee_published_from: the list undefers them)."""
        state = FEE_STATE_OF_RANK[self.fee_rank or 0]
        return FeeStatus(state, self.fee_published_from if state == "published" else None)

    def device_status(self):
        """(last state reported, last heard); the lists apply the offline window (views/formatting.py)."""
        return self.device_state, self.device_seen_at

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)


class OwnedByInstrument:
    """Scope of a record that belongs to an instrument (a fee standard, a filing, a yearly cost):
    the instrument's unit decides who reaches it and who may write it."""

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.instrument_id.in_(sa.select(Instrument.id).where(Instrument.unit_id.in_(unit_ids)))

    def scope_owner_unit_id(self):
        # the relationship wins over the FK column: a form sets `unit`, `unit_id` follows at flush
        instrument = self.instrument
        if instrument is None:
            return None
        return instrument.unit.id if instrument.unit is not None else instrument.unit_id


class UnsuitableFiling(OwnedByInstrument, Model):
    """不适合开放共享备案 (Art. 14; notice annex 2)."""

    __tablename__ = "unsuitable_filing"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument", back_populates="unsuitable_filings")
    category = sa.Column(UNSUITABLE_CATEGORY.column_type(), nullable=False)
    reason = sa.Column(sa.Text, nullable=False)
    networked_at_filing = sa.Column(sa.Boolean, nullable=False, default=False)
    state = sa.Column(FILING_STATE.column_type(), nullable=False, default="draft")
    remarks = sa.Column(sa.Text)
    created_at = sa.Column(UtcDateTime, default=clock.now, nullable=False)
    decided_at = sa.Column(UtcDateTime)
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))

    def __repr__(self):
        return str(self.instrument)
