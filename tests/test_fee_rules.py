"""Each fee rule at its boundary (issue 3): pure checks over unsaved model objects."""
from datetime import date
from decimal import Decimal

import pytest

from app.models import FeeItem, FeePrice, FeeStandard
from app.services import fee_rules

TOLERANCE = Decimal("0.10")


def standard(*items, justification=None, start=date(2026, 1, 1)):
    s = FeeStandard(instrument_id=1, state="draft", version=1, effective_from=start, justification=justification)
    for item in items:
        s.items.append(item)
    return s


def item(cost="100", unit="样品", name="常规测试", prices=(("campus", 0, None, "100", None),)):
    i = FeeItem(name=name, billing_unit=unit, cost_basis=Decimal(cost))
    for category, low, high, price, reason in prices:
        i.prices.append(FeePrice(customer_category=category, tier_min=Decimal(low),
                                 tier_max=None if high is None else Decimal(high), unit_price=Decimal(price),
                                 difference_reason=reason))
    return i


def test_a_plain_standard_passes():
    s = standard(item())
    assert fee_rules.check_items(s) == {}
    assert fee_rules.check_submission(s, TOLERANCE) == {}


@pytest.mark.parametrize("unit", ["", "   ", None])
def test_every_item_states_its_billing_unit(unit):
    assert list(fee_rules.check_items(standard(item(unit=unit)))) == ["items-0-billing_unit"]


@pytest.mark.parametrize("tiers,bad_key", [
    ([(0, 10), (10, None)], None),            # touching tiers: fine
    ([(0, 10), (9, None)], "items-0-prices-1-tier_min"),   # one unit of overlap
    ([(0, 0)], "items-0-prices-0-tier_max"),  # a zero-quantity tier
    ([(5, 4)], "items-0-prices-0-tier_max"),  # upside down
    ([(-1, None)], "items-0-prices-0-tier_min"),  # negative start
    ([(0, None), (10, None)], "items-0-prices-0-tier_max"),  # two open-ended tiers
])
def test_tiers(tiers, bad_key):
    prices = [("campus", low, high, "100", None) for low, high in tiers]
    errors = fee_rules.check_items(standard(item(prices=prices)))
    if bad_key is None:
        assert errors == {}
    else:
        assert list(errors) == [bad_key]


def test_tiers_of_different_categories_do_not_collide():
    prices = [("campus", 0, None, "100", None), ("enterprise", 0, None, "100", None)]
    assert fee_rules.check_items(standard(item(prices=prices))) == {}


def test_negative_price_or_cost():
    errors = fee_rules.check_items(standard(item(cost="-1", prices=[("campus", 0, None, "-5", None)])))
    assert set(errors) == {"items-0-cost_basis", "items-0-prices-0-unit_price"}


@pytest.mark.parametrize("price,justification,needs", [
    ("110.00", None, False),   # exactly at the 10 % tolerance
    ("110.01", None, True),    # one cent above
    ("110.01", "进口耗材价格上涨", False),
])
def test_price_above_cost_needs_justification(price, justification, needs):
    s = standard(item(cost="100", prices=[("campus", 0, None, price, None)]), justification=justification)
    assert ("justification" in fee_rules.check_submission(s, TOLERANCE)) is needs


@pytest.mark.parametrize("enterprise,reason,needs", [
    ("100", None, False),
    ("105", None, True),
    ("105", "企业样品需额外出具检测报告", False),
])
def test_category_priced_differently_from_campus_must_say_why(enterprise, reason, needs):
    prices = [("campus", 0, None, "100", None), ("enterprise", 0, None, enterprise, reason)]
    errors = fee_rules.check_submission(standard(item(prices=prices)), TOLERANCE)
    assert ("items-0-prices-1-difference_reason" in errors) is needs


def test_submission_needs_items_a_campus_price_and_a_start_date():
    empty = standard(start=None)
    assert set(fee_rules.check_submission(empty, TOLERANCE)) == {"items", "effective_from"}
    no_campus = standard(item(prices=[("enterprise", 0, None, "100", None)]))
    assert "items-0-prices" in fee_rules.check_submission(no_campus, TOLERANCE)


def test_margins_for_the_screen():
    rows = fee_rules.margins(item(cost="80", prices=[("campus", 0, None, "100", None)]))
    (_price, over, ratio), = rows
    assert over == Decimal("20") and ratio == Decimal("0.25")
