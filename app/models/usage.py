"""Usage records (使用登记 / 机时): one use of an instrument, registered by its lab, started and ended
as a session, or measured by the instrument's IoT terminal."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import SERVICE_TYPE, USAGE_DIRECTION, USAGE_SOURCE
from .instrument import OwnedByInstrument


OPEN_SESSION = "ended_at IS NULL AND hours IS NULL AND source = 'manual'"


class UsageRecord(OwnedByInstrument, Model):
    __tablename__ = "usage_record"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False)
    instrument = relationship("Instrument")
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id"), index=True)
    booking = relationship("Booking", back_populates="usage_records")
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), index=True)
    user = relationship("ServiceUser")
    started_at = sa.Column(UtcDateTime, nullable=False)
    ended_at = sa.Column(UtcDateTime)
    hours = sa.Column(sa.Numeric(10, 2))
    samples = sa.Column(sa.Integer)  # sample testing: the samples tested
    samples_received = sa.Column(sa.Integer)
    samples_returned = sa.Column(sa.Integer)
    operator_id = sa.Column(sa.Integer, sa.ForeignKey("person.id"))
    operator = relationship("Person")
    charges = relationship("Charge", back_populates="usage")
    source = sa.Column(USAGE_SOURCE.column_type(), nullable=False, default="manual")
    service_type = sa.Column(SERVICE_TYPE.column_type(), nullable=False, default="internal")
    direction = sa.Column(USAGE_DIRECTION.column_type(), nullable=False, default="research")
    registered_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    registered_at = sa.Column(UtcDateTime)
    __table_args__ = (
        sa.CheckConstraint("hours IS NULL OR hours >= 0", name="usage_hours_non_negative"),
        sa.CheckConstraint("samples_received IS NULL OR samples_received >= 0", name="usage_received_non_negative"),
        sa.CheckConstraint("samples_returned IS NULL OR samples_returned >= 0", name="usage_returned_non_negative"),
        sa.CheckConstraint("samples IS NULL OR samples >= 0", name="usage_samples_non_negative"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="usage_period_ordered"),
        # an instrument's usage by time; on PostgreSQL it also carries the columns the year's
        # figures per instrument need, so the annual report reads it alone, in instrument order,
        # without hashing a million rows (migration 0010)
        sa.Index("ix_usage_instrument_started", "instrument_id", "started_at",
                 postgresql_include=["user_id", "hours", "samples", "source", "service_type"]),
        # one machine-time record per running period: a redelivered message adds nothing
        sa.Index("uq_usage_iot_period", "instrument_id", "started_at", unique=True,
                 sqlite_where=sa.text("source = 'iot'"), postgresql_where=sa.text("source = 'iot'")),
        # at most one open session (started, not ended) per instrument, whichever process starts it
        sa.Index("uq_usage_open_session", "instrument_id", unique=True,
                 sqlite_where=sa.text(OPEN_SESSION), postgresql_where=sa.text(OPEN_SESSION)),
    )

    @property
    def is_open(self):
        return self.ended_at is None and self.hours is None

    def __repr__(self):
        name = self.instrument.name if self.instrument is not None else ""
        return f"#{self.id} {name} {clock.display(self.started_at)}" if self.started_at else f"#{self.id} {name}"

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id
