"""Shared column helpers: money, instants in UTC (app/clock.py states the rule), Beijing dates in SQL."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from app import clock

MONEY = sa.Numeric(14, 2)


class UtcDateTime(sa.types.TypeDecorator):
    """An instant, stored in UTC — `timestamptz` on PostgreSQL, UTC text on SQLite — and read back as
    an aware datetime in UTC. A naive datetime written is Beijing time (input without an offset,
    app/clock.py), so forms, API calls, search filters and code all mean the same instant."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"an instant needs a datetime, not {type(value).__name__}")
        value = clock.aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=clock.UTC) if value.tzinfo is None else value.astimezone(clock.UTC)


class beijing_date(sa.sql.functions.GenericFunction):
    """The Beijing date of an instant column, in SQL (a day as the offices count it)."""

    type = sa.Date()
    inherit_cache = True
    name = "beijing_date"


@compiles(beijing_date, "postgresql")
def _beijing_date_postgresql(element, compiler, **kw):
    return f"CAST(timezone('Asia/Shanghai', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(beijing_date, "sqlite")
def _beijing_date_sqlite(element, compiler, **kw):
    # stored as UTC text; Beijing is UTC+8 all year (no daylight saving since 1991)
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


def non_negative(*columns):
    """CHECK constraints keeping money and counts at or above zero."""
    return tuple(sa.CheckConstraint(f"{c} >= 0", name=f"{c}_non_negative") for c in columns)
