"""Shared column helpers."""
from datetime import datetime, timezone

import sqlalchemy as sa

MONEY = sa.Numeric(14, 2)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def non_negative(*columns):
    """CHECK constraints keeping money and counts at or above zero."""
    return tuple(sa.CheckConstraint(f"{c} >= 0", name=f"{c}_non_negative") for c in columns)
