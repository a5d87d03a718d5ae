"""What booking rests on, per instrument: who may operate it (上机资格), its booking rules and
opening hours, the times it is closed, and the secret of its calendar feed (the bookings themselves:
booking.py)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import AUTHORISATION_STATE, CLOSURE_KIND
from .instrument import OwnedByInstrument


class Authorisation(OwnedByInstrument, Model):
    """A user's qualification to operate one instrument, granted by its lab after training; suspended
    or revoked with a reason; it lapses after a configured number of months without use."""

    __tablename__ = "authorisation"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id", ondelete="CASCADE"), nullable=False, index=True)
    user = relationship("ServiceUser", back_populates="authorisations")
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument")
    state = sa.Column(AUTHORISATION_STATE.column_type(), nullable=False, default="active")
    granted_on = sa.Column(sa.Date, nullable=False)
    trainer = sa.Column(sa.String(64))
    training_id = sa.Column(sa.Integer, sa.ForeignKey("training_session.id", ondelete="SET NULL"))
    training = relationship("TrainingSession")
    granted_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    reason = sa.Column(sa.Text)  # why it was suspended or revoked
    last_used_on = sa.Column(sa.Date)
    changed_at = sa.Column(UtcDateTime, default=clock.now, onupdate=clock.now)
    __table_args__ = (sa.UniqueConstraint("user_id", "instrument_id", name="uq_authorisation_user_instrument"),)

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id

    def __repr__(self):
        return f"{self.user} · {self.instrument}"


class BookingRule(OwnedByInstrument, Model):
    """How one instrument may be booked; kept by its lab. An instrument without a row books by the
    defaults (app/services/booking/rules.py)."""

    __tablename__ = "booking_rule"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, unique=True)
    instrument = relationship("Instrument", back_populates="booking_rule")
    accepts_self_operated = sa.Column(sa.Boolean, nullable=False, default=True)
    accepts_sample = sa.Column(sa.Boolean, nullable=False, default=True)
    accepts_service = sa.Column(sa.Boolean, nullable=False, default=True)
    min_slot_minutes = sa.Column(sa.Integer, nullable=False, default=30)
    max_slot_minutes = sa.Column(sa.Integer, nullable=False, default=480)
    max_days_ahead = sa.Column(sa.Integer, nullable=False, default=30)  # how far ahead one may book
    min_hours_ahead = sa.Column(sa.Integer, nullable=False, default=2)  # how late one may still book
    auto_confirm = sa.Column(sa.Boolean, nullable=False, default=False)  # an authorised user's free slot is confirmed at once
    cancel_hours_before = sa.Column(sa.Integer, nullable=False, default=24)  # later counts as a late cancellation
    open_on_holidays = sa.Column(sa.Boolean, nullable=False, default=False)
    # the power interlock (issue 14, item 3): the instrument's plug is on only during an authorised use
    interlock = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    interlock_grace_minutes = sa.Column(sa.Integer, nullable=False, default=10, server_default="10")
    interlock_cuts_running = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    __table_args__ = (
        sa.CheckConstraint("interlock_grace_minutes BETWEEN 0 AND 240", name="interlock_grace_range"),
        sa.CheckConstraint("min_slot_minutes > 0 AND max_slot_minutes >= min_slot_minutes", name="booking_slot_range"),
        sa.CheckConstraint("max_days_ahead >= 0 AND min_hours_ahead >= 0 AND cancel_hours_before >= 0",
                           name="booking_horizons_non_negative"),
    )

    def __repr__(self):
        return str(self.instrument)


class OpeningHours(OwnedByInstrument, Model):
    """One opening interval of an instrument on a weekday (0 = Monday), Beijing time."""

    __tablename__ = "opening_hours"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument", back_populates="opening_hours")
    weekday = sa.Column(sa.SmallInteger, nullable=False)
    opens = sa.Column(sa.Time, nullable=False)
    closes = sa.Column(sa.Time, nullable=False)
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="opening_weekday"),
        sa.CheckConstraint("closes > opens", name="opening_ordered"),
    )


class Closure(OwnedByInstrument, Model):
    """A time an instrument cannot be booked: maintenance, calibration… (holidays come from the
    Chinese calendar)."""

    __tablename__ = "closure"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument")
    kind = sa.Column(CLOSURE_KIND.column_type(), nullable=False, default="maintenance")
    starts_at = sa.Column(UtcDateTime, nullable=False)
    ends_at = sa.Column(UtcDateTime, nullable=False)
    reason = sa.Column(sa.Text)
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="closure_ordered"),
        sa.Index("ix_closure_instrument_start", "instrument_id", "starts_at"),
    )


class InstrumentFeed(OwnedByInstrument, Model):
    """The secret of an instrument's iCalendar feed, for its lab's phones and Outlook (which cannot
    sign in): whoever holds the URL reads the instrument's bookings with the users' names, so the lab
    can replace the secret at any time. Kept apart from the instrument, out of its API and reports."""

    __tablename__ = "instrument_feed"
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), primary_key=True)
    instrument = relationship("Instrument")
    token = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
