"""IoT terminals, their latest status and their state transitions (SPEC §5)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from .base import utcnow
from .choices import DEVICE_STATE


class IotTerminal(Model):
    __tablename__ = "iot_terminal"
    id = sa.Column(sa.Integer, primary_key=True)
    terminal_id = sa.Column(sa.String(64), unique=True, nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), unique=True)
    instrument = relationship("Instrument")
    adapter = sa.Column(sa.String(20), nullable=False, default="native")
    power_threshold_w = sa.Column(sa.Numeric(8, 1), nullable=False, default=40)
    first_seen = sa.Column(sa.DateTime, default=utcnow)


class DeviceStatus(Model):
    """Latest status per terminal (upserted by the bridge)."""

    __tablename__ = "device_status"
    terminal_id = sa.Column(sa.String(64), primary_key=True)
    state = sa.Column(DEVICE_STATE.column_type(), nullable=False)
    power_w = sa.Column(sa.Float)
    seq = sa.Column(sa.BigInteger)
    reported_at = sa.Column(sa.DateTime, nullable=False)
    received_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    # start of the running period in progress (becomes a UsageRecord when it ends)
    running_since = sa.Column(sa.DateTime)


class DeviceEvent(Model):
    __tablename__ = "device_event"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    terminal_id = sa.Column(sa.String(64), nullable=False)
    from_state = sa.Column(sa.String(16))
    to_state = sa.Column(DEVICE_STATE.column_type(), nullable=False)
    at = sa.Column(sa.DateTime, nullable=False)
    seq = sa.Column(sa.BigInteger)
    __table_args__ = (
        sa.Index("ix_device_event_terminal_at", "terminal_id", "at"),
        # a redelivered message must not add the same transition twice
        sa.UniqueConstraint("terminal_id", "at", "to_state", name="uq_device_event_once"),
    )


class IotRejection(Model):
    """Messages the bridge refused, counted per reason and terminal ('' when the topic named none)."""

    __tablename__ = "iot_rejection"
    reason = sa.Column(sa.String(20), primary_key=True)
    terminal_id = sa.Column(sa.String(64), primary_key=True, default="")
    count = sa.Column(sa.BigInteger, nullable=False, default=0)
    first_at = sa.Column(sa.DateTime, nullable=False)
    last_at = sa.Column(sa.DateTime, nullable=False)
    last_detail = sa.Column(sa.String(200))
    __table_args__ = (
        sa.CheckConstraint(
            "reason IN ('oversized', 'wrong_topic', 'not_json', 'wrong_type', 'unknown_state', 'bad_timestamp')",
            name="ck_iot_rejection_reason",
        ),
    )
