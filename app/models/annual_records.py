"""Records a lab keeps once a year: an instrument's cost basis (Art. 15) and the typical cases of
its sharing service (Art. 14's annual report)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from .base import MONEY
from .instrument import OwnedByInstrument


class InstrumentYearCost(OwnedByInstrument, Model):
    """Art. 15's cost basis of one instrument and year, entered by its lab: the materials consumed
    by sharing services and the year's utilities and running total (water, power, gas…), from
    which the sharing share of use is pro-rated."""

    __tablename__ = "instrument_year_cost"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False, index=True)
    instrument = relationship("Instrument")
    year = sa.Column(sa.Integer, nullable=False)
    materials_cost = sa.Column(MONEY, nullable=False, default=0)
    utilities_total = sa.Column(MONEY, nullable=False, default=0)
    remarks = sa.Column(sa.Text)
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "year", name="uq_instrument_year_cost"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="cost_year_in_range"),
        sa.CheckConstraint("materials_cost >= 0", name="materials_cost_non_negative"),
        sa.CheckConstraint("utilities_total >= 0", name="utilities_total_non_negative"),
    )


class TypicalCase(Model):
    """A typical case of the year's sharing service (Art. 14's annual report), written by a lab."""

    __tablename__ = "typical_case"
    id = sa.Column(sa.Integer, primary_key=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    year = sa.Column(sa.Integer, nullable=False)
    title = sa.Column(sa.String(200), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), index=True)
    instrument = relationship("Instrument")
    served = sa.Column(sa.String(200))  # whom the service supported
    summary = sa.Column(sa.Text, nullable=False)  # what was done and what it achieved
    __table_args__ = (sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="case_year_in_range"),)

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)
