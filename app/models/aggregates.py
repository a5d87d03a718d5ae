"""SQL sums that come back as exact decimals on every database (SPEC §7).

SQLite keeps NUMERIC values as REAL or INTEGER and returns SUM() of them as a float; PostgreSQL
returns a Decimal. SQLAlchemy converts a result to Decimal only when the expression is typed
NUMERIC, and an aggregate takes its type from its argument, a CASE from its first branch: so
`SUM(CASE WHEN inside THEN 0 ELSE total END)` is an integer sum to SQLAlchemy, and SQLite's float
comes through unconverted (the annual report then added floats to Decimals and crashed). Every sum
of money or hours is written with `exact_sum`: a CAST to NUMERIC in SQL, whose result processor
gives a Decimal of the stated scale on both databases, whatever the argument's type.
"""
import sqlalchemy as sa

# wide enough for a school's yearly totals; the scale is the stored columns' (cents, hundredths of hours)
SUM_PRECISION = 18


def exact_sum(expression, scale: int = 2):
    """SUM(expression) as an exact decimal with `scale` places (NULL when no rows, like SUM)."""
    return sa.cast(sa.func.sum(expression), sa.Numeric(SUM_PRECISION, scale))
