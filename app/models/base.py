"""Shared column helpers."""
from datetime import datetime, timezone

import sqlalchemy as sa

MONEY = sa.Numeric(14, 2)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def non_negative(*columns):
    """CHECK constraints keeping money and counts at or above zero."""
    return tuple(sa.CheckConstraint(f"{c} >= 0", name=f"{c}_non_negative") for c in columns)


class OwnedByInstrument:
    """Scope of a record that belongs to an instrument (a fee standard, a filing, a yearly cost):
    the instrument's unit decides who reaches it and who may write it."""

    @classmethod
    def scope_clause(cls, unit_ids):
        from .instrument import Instrument

        return cls.instrument_id.in_(sa.select(Instrument.id).where(Instrument.unit_id.in_(unit_ids)))

    def scope_owner_unit_id(self):
        # the relationship wins over the FK column: a form sets `unit`, `unit_id` follows at flush
        instrument = self.instrument
        if instrument is None:
            return None
        return instrument.unit.id if instrument.unit is not None else instrument.unit_id
