"""The power interlock's outbox (issue 14, item 3; SPEC §5 "MQTT commands"): every switching of an
instrument's plug is a row here first. The IoT bridge publishes the due rows at QoS 1 and marks them
confirmed when the plug's own status report says so; an unconfirmed row is published again."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import INTERLOCK_ACTION, INTERLOCK_REASON, INTERLOCK_STATE, TERMINAL_ADAPTER
from .instrument import OwnedByInstrument


class InterlockCommand(OwnedByInstrument, Model):
    __tablename__ = "interlock_command"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False)
    instrument = relationship("Instrument")
    terminal_id = sa.Column(sa.String(64), nullable=False)
    adapter = sa.Column(TERMINAL_ADAPTER.column_type(), nullable=False)
    action = sa.Column(INTERLOCK_ACTION.column_type(), nullable=False)
    reason = sa.Column(INTERLOCK_REASON.column_type(), nullable=False)
    state = sa.Column(INTERLOCK_STATE.column_type(), nullable=False, default="pending")
    usage_id = sa.Column(sa.Integer, sa.ForeignKey("usage_record.id", ondelete="SET NULL"))
    usage = relationship("UsageRecord")
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id", ondelete="SET NULL"))
    booking = relationship("Booking")
    requested_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))  # none: a scheduled task
    requested_by = relationship("PlatformUser")
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    first_sent_at = sa.Column(UtcDateTime)
    sent_at = sa.Column(UtcDateTime)  # the latest publication
    next_attempt_at = sa.Column(UtcDateTime, nullable=False)
    confirmed_at = sa.Column(UtcDateTime)
    detail = sa.Column(sa.String(200))  # what the plug answered when it refused
    __table_args__ = (
        sa.Index("ix_interlock_command_due", "state", "next_attempt_at"),
        sa.Index("ix_interlock_command_terminal", "terminal_id", "state"),
        sa.Index("ix_interlock_command_booking", "booking_id"),
        sa.CheckConstraint("attempts >= 0", name="interlock_attempts_non_negative"),
    )

    def __repr__(self):
        return f"#{self.id} {self.terminal_id} {self.action}"

    @property
    def unconfirmed(self) -> bool:
        return self.state in ("pending", "sent", "failed")
