"""Instruments and facilities, their classification and the not-for-sharing filings."""
import sqlalchemy as sa
from flask_appbuilder import Model
from flask_babel import gettext
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
    duty_free = sa.Column(sa.Boolean, nullable=False, default=False)
    customs_declaration_no = sa.Column(sa.String(64))
    supervision_end = sa.Column(sa.Date)
    iot_terminal_id = sa.Column(sa.String(64), unique=True)
    updated_at = sa.Column(UtcDateTime, default=clock.now, onupdate=clock.now)
    # The public catalogue's entry, kept by app/services/public_catalogue.py: the published fee
    # standard in force today (only while the instrument is listable) and its lowest price, so
    # that /public/fees is a plain indexed list of this table. No foreign key: instrument ↔
    # fee_standard would be a cycle, and the refresh (not the user) writes these two columns.
    public_standard_id = sa.Column(sa.Integer, index=True)
    public_min_price = sa.Column(MONEY)

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

    def fee_status(self):
        """none / draft / in review / published with its effective date (models/fees.py adds the columns)."""
        rank = getattr(self, "fee_rank", 0) or 0
        if rank == 4:
            return gettext("Published (from %(date)s)", date=self.fee_published_from.isoformat())
        return [gettext("No fee standard"), gettext("Draft"), gettext("In college review"), gettext("In school review")][rank]

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
    instrument = relationship("Instrument", backref="unsuitable_filings")
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
