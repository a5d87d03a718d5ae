"""Sums of money and hours come back as exact decimals on SQLite and PostgreSQL alike (SPEC §7;
the annual report crashed on make run's SQLite database adding a float to a Decimal)."""
from decimal import Decimal

import sqlalchemy as sa

from app.models import Charge
from app.models.aggregates import exact_sum


def _amounts():
    """Three stored-like money values (SQLite has no VALUES with named columns: a UNION of selects)."""
    return sa.union_all(*(sa.select(sa.literal(Decimal(v), sa.Numeric(14, 2)).label("v"))
                          for v in ("0.10", "0.20", "1234567.89"))).subquery("amounts")


def test_exact_sum_is_a_decimal_with_the_scale(session):
    amounts = _amounts()
    total = session.execute(sa.select(exact_sum(amounts.c.v))).scalar_one()
    assert isinstance(total, Decimal) and total == Decimal("1234568.19")


def test_a_case_starting_with_a_literal_zero_stays_exact(session):
    """`CASE WHEN … THEN 0 ELSE total END` types as an integer: plain SUM() then hands SQLite's float through."""
    amounts = _amounts()
    typed = exact_sum(sa.case((amounts.c.v > 1000, 0), else_=amounts.c.v))
    assert session.execute(sa.select(typed)).scalar_one() == Decimal("0.30")
    plain = session.execute(sa.select(sa.func.sum(sa.case((amounts.c.v > 1000, 0), else_=amounts.c.v)))).scalar_one()
    if session.get_bind().dialect.name == "sqlite":
        assert isinstance(plain, float)  # what the helper exists for


def test_no_rows_sum_to_null(session):
    assert session.execute(sa.select(exact_sum(Charge.total)).where(sa.false())).scalar_one() is None
