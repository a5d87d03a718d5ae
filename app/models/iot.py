"""IoT terminals, their latest status and their state transitions (SPEC §5)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import DEVICE_STATE
from .instrument import Instrument


def _terminals_of_units(column, unit_ids):
    return column.in_(sa.select(Instrument.iot_terminal_id).where(Instrument.unit_id.in_(unit_ids)))


class IotTerminal(Model):
    __tablename__ = "iot_terminal"
    id = sa.Column(sa.Integer, primary_key=True)
    terminal_id = sa.Column(sa.String(64), unique=True, nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), unique=True)
    instrument = relationship("Instrument")
    adapter = sa.Column(sa.String(20), nullable=False, default="native")
    power_threshold_w = sa.Column(sa.Numeric(8, 1), nullable=False, default=40)
    first_seen = sa.Column(UtcDateTime, default=clock.now)
    # the instrument whose record names this terminal (Instrument.iot_terminal_id is the link the
    # bridge uses) and the terminal's latest status; both loaded with the row
    bound_instrument = relationship(
        "Instrument", primaryjoin="foreign(Instrument.iot_terminal_id) == IotTerminal.terminal_id",
        viewonly=True, uselist=False, lazy="joined")
    status = relationship(
        "DeviceStatus", primaryjoin="foreign(DeviceStatus.terminal_id) == IotTerminal.terminal_id",
        viewonly=True, uselist=False, lazy="joined")

    def __repr__(self):
        return self.terminal_id

    @classmethod
    def scope_clause(cls, unit_ids):
        """A college or lab sees the terminals its instruments name; unbound ones only the school."""
        return _terminals_of_units(cls.terminal_id, unit_ids)

    def scope_owner_unit_id(self):
        return self.bound_instrument.unit_id if self.bound_instrument is not None else None

    def device_status(self):
        """(last state reported, last heard); the lists apply the offline window (views/formatting.py)."""
        return (None, None) if self.status is None else (self.status.state, self.status.received_at)


class DeviceStatus(Model):
    """Latest status per terminal (upserted by the bridge)."""

    __tablename__ = "device_status"
    terminal_id = sa.Column(sa.String(64), primary_key=True)
    state = sa.Column(DEVICE_STATE.column_type(), nullable=False)
    power_w = sa.Column(sa.Float)
    seq = sa.Column(sa.BigInteger)
    reported_at = sa.Column(UtcDateTime, nullable=False)
    received_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # start of the running period in progress (becomes a UsageRecord when it ends)
    running_since = sa.Column(UtcDateTime)


class DeviceEvent(Model):
    __tablename__ = "device_event"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    terminal_id = sa.Column(sa.String(64), nullable=False)
    from_state = sa.Column(sa.String(16))
    to_state = sa.Column(DEVICE_STATE.column_type(), nullable=False)
    at = sa.Column(UtcDateTime, nullable=False)
    seq = sa.Column(sa.BigInteger)
    __table_args__ = (
        sa.Index("ix_device_event_terminal_at", "terminal_id", "at"),
        # a redelivered message must not add the same transition twice
        sa.UniqueConstraint("terminal_id", "at", "to_state", name="uq_device_event_once"),
    )


class IotRejection(Model):
    """Messages the bridge refused, counted per reason and terminal ('' when the topic named none)."""

    __tablename__ = "iot_rejection"

    @classmethod
    def scope_clause(cls, unit_ids):
        return _terminals_of_units(cls.terminal_id, unit_ids)

    reason = sa.Column(sa.String(20), primary_key=True)
    terminal_id = sa.Column(sa.String(64), primary_key=True, default="")
    count = sa.Column(sa.BigInteger, nullable=False, default=0)
    first_at = sa.Column(UtcDateTime, nullable=False)
    last_at = sa.Column(UtcDateTime, nullable=False)
    last_detail = sa.Column(sa.String(200))
    __table_args__ = (
        sa.CheckConstraint(
            "reason IN ('oversized', 'wrong_topic', 'not_json', 'wrong_type', 'unknown_state', 'bad_timestamp')",
            name="ck_iot_rejection_reason",
        ),
    )
