"""Bookings (预约): a service user asks for an instrument — a slot to operate it, or a day for samples
or a technical service — and the lab answers within five working days (app/services/booking/bookings.py)."""
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import BOOKING_MODE, BOOKING_STATE
from .instrument import Instrument


class Slot(NamedTuple):
    """When a booking takes place: a self-operated booking's slot (start, end), else its day."""

    start: datetime | None
    end: datetime | None
    day: date | None  # the scheduled day, else the one asked for; None until the lab sets one


class RespondBy(NamedTuple):
    """A booking's respond-by as it stands: the day, whether every day on the way had official calendar
    data, and the booking's state — named as on the booking, so that the overdue rule reads it alike
    (app/services/booking/bookings.py, is_overdue)."""

    respond_by: date
    respond_by_official: bool
    state: str


class Booking(Model):
    __tablename__ = "booking"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False, index=True)
    instrument = relationship("Instrument", foreign_keys=[instrument_id])
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), nullable=False, index=True)
    user = relationship("ServiceUser")
    mode = sa.Column(BOOKING_MODE.column_type(), nullable=False)
    # a self-operated booking's slot: as asked, then as the lab scheduled it
    requested_start = sa.Column(UtcDateTime)
    requested_end = sa.Column(UtcDateTime)
    scheduled_start = sa.Column(UtcDateTime)
    scheduled_end = sa.Column(UtcDateTime)
    # sample testing and technical service: the day wished for, the day the lab scheduled
    requested_date = sa.Column(sa.Date)
    scheduled_date = sa.Column(sa.Date)
    sample_count = sa.Column(sa.Integer)
    purpose = sa.Column(sa.Text)
    samples = sa.Column(sa.Text)  # the samples' description: name, state, quantity
    sample_hazards = sa.Column(sa.Text)
    sample_disposal = sa.Column(sa.Text)
    state = sa.Column(BOOKING_STATE.column_type(), nullable=False, default="pending")
    submitted_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # notice §(四)2: answered within 5 Chinese working days of the submission's Beijing date
    respond_by = sa.Column(sa.Date)
    respond_by_official = sa.Column(sa.Boolean, nullable=False, default=True)  # False: a day on the way lacked official data
    responded_at = sa.Column(UtcDateTime)
    delayed = sa.Column(sa.Boolean, nullable=False, default=False)  # scheduled later than asked, with a reason
    response_reason = sa.Column(sa.Text)
    alternative = sa.Column(sa.Text)
    alternative_instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"))
    alternative_instrument = relationship("Instrument", foreign_keys=[alternative_instrument_id])
    cancelled_at = sa.Column(UtcDateTime)
    late_cancellation = sa.Column(sa.Boolean, nullable=False, default=False)
    no_show_at = sa.Column(UtcDateTime)
    reminded_at = sa.Column(UtcDateTime)  # the day-before reminder went out
    warned_at = sa.Column(UtcDateTime)  # the lab was warned of the respond-by
    contract_id = sa.Column(sa.Integer, sa.ForeignKey("service_contract.id"))
    contract = relationship("ServiceContract")
    usage_records = relationship("UsageRecord", back_populates="booking")
    evaluation = relationship("Evaluation", back_populates="booking", uselist=False)
    # an outside user without a contract accepted the school's standard terms, when they apply
    terms_accepted_at = sa.Column(UtcDateTime)
    __table_args__ = (
        sa.CheckConstraint("sample_count IS NULL OR sample_count >= 0", name="sample_count_non_negative"),
        sa.CheckConstraint(
            "scheduled_end IS NULL OR scheduled_start IS NULL OR scheduled_end > scheduled_start",
            name="booking_schedule_ordered",
        ),
        sa.CheckConstraint(
            "requested_end IS NULL OR requested_start IS NULL OR requested_end > requested_start",
            name="booking_request_ordered",
        ),
        # the lab's queue (by respond-by) and an instrument's calendar (by the slot's start, the
        # scheduled one or else the requested one: a week of it is one index range)
        sa.Index("ix_booking_state_respond_by", "state", "respond_by"),
        sa.Index("ix_booking_instrument_slot", "instrument_id", sa.text("coalesce(scheduled_start, requested_start)")),
    )

    # a self-operated booking holds its slot in these states (a refusal or cancellation frees it);
    # the database keeps two holding slots of one instrument from overlapping (migration 0013)
    HOLDING = ("pending", "scheduled", "completed", "no_show")

    @property
    def slot_start(self):
        return self.scheduled_start or self.requested_start

    @property
    def slot_end(self):
        return self.scheduled_end or self.requested_end

    @property
    def slot(self) -> Slot:
        """When it takes place: a self-operated booking's slot, else the day (scheduled, else wished for)."""
        if self.mode == "self_operated" and self.slot_start is not None:
            return Slot(self.slot_start, self.slot_end, None)
        return Slot(None, None, self.scheduled_date or self.requested_date)

    @property
    def respond_by_status(self) -> RespondBy | None:
        """The respond-by with what decides how it reads (official data, still pending); None without one."""
        if self.respond_by is None:
            return None
        return RespondBy(self.respond_by, self.respond_by_official, self.state)

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.instrument_id.in_(sa.select(Instrument.id).where(Instrument.unit_id.in_(unit_ids)))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id

    def scope_owner_unit_id(self):
        return self.instrument.unit_id if self.instrument is not None else None
