"""Art. 15, 24 and 25 (issue 5): every cap and ratio at and around its boundary, on exact decimals."""
from decimal import Decimal as D

import pytest

from app.services.money import subsidies as s
from app.services.errors import RuleViolation

RATIOS = {"excellent": "0.20", "good": "0.15", "pass": "0.10", "poor": "0"}


@pytest.mark.parametrize("grade,ratio", [("excellent", D("0.20")), ("good", D("0.15")), ("poor", D(0)), (None, D(0)),
                                         ("unknown", D(0))])
def test_the_ratio_comes_from_the_configured_grades(grade, ratio):
    assert s.unit_ratio(grade, RATIOS) == ratio


@pytest.mark.parametrize("bad", ["0.2001", "-0.01", "0.5"])
def test_a_ratio_above_twenty_percent_is_refused(bad, app):
    with app.app_context(), pytest.raises(RuleViolation) as refused:
        s.unit_ratio("excellent", {"excellent": bad})
    assert "20%" in str(refused.value)


@pytest.mark.parametrize("income,subsidy", [
    (D("249999.95"), D("49999.99")),  # 20 % of it, rounded to the cent
    (D("250000.00"), D("50000.00")),  # exactly the per-instrument cap
    (D("250000.05"), D("50000.00")),  # above: capped
    (D("0"), D("0.00")),
])
def test_per_instrument_cap_at_fifty_thousand(income, subsidy):
    amounts, totals = s.unit_subsidies({1: ("unit", income)}, D("0.20"))
    assert amounts == {1: subsidy} and totals == {"unit": subsidy}


def test_the_unit_pool_cap_and_the_separate_pools():
    # 40 capped instruments = exactly 2,000,000: untouched
    exactly = {i: ("unit", D("250000")) for i in range(40)}
    amounts, totals = s.unit_subsidies(exactly, D("0.20"))
    assert totals == {"unit": D("2000000")} and set(amounts.values()) == {D("50000.00")}
    # one more instrument of 30,000: 2,030,000 scaled to exactly 2,000,000, in proportion
    over = {**exactly, 40: ("unit", D("150000"))}
    amounts, totals = s.unit_subsidies(over, D("0.20"))
    assert totals == {"unit": D("2000000")} and sum(amounts.values()) == D("2000000")
    assert amounts[40] == (D("30000") * D("2000000") / D("2030000")).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert amounts[0] > amounts[40] and abs(amounts[0] - D("49261.08")) <= D("0.01")
    # a provincial laboratory and a major facility are counted separately, each with its own cap
    pools = {**over, 100: ("provincial_lab:7", D("250000")), 101: ("facility:9", D("250000"))}
    amounts, totals = s.unit_subsidies(pools, D("0.20"))
    assert totals == {"facility:9": D("50000.00"), "provincial_lab:7": D("50000.00"), "unit": D("2000000")}
    assert amounts[100] == amounts[101] == D("50000.00")


@pytest.mark.parametrize("category,fees,subsidy", [
    ("enterprise", D("199999.98"), D("99999.99")),
    ("enterprise", D("200000"), D("100000.00")),  # 50 %: exactly the cap
    ("enterprise", D("200000.02"), D("100000.00")),
    ("student_startup", D("117647.05"), D("99999.99")),  # 85 %
    ("student_startup", D("117647.06"), D("100000.00")),  # 100,000.001 rounds to the cap
    ("student_startup", D("500000"), D("100000.00")),
    ("academic", D("10000"), D("0")),  # not covered by Art. 25
    ("campus", D("10000"), D("0")),
    ("enterprise", D("0"), D("0")),
])
def test_user_subsidy_ratios_and_cap(category, fees, subsidy):
    assert s.user_subsidy(category, fees) == subsidy


def test_cost_compensation_net_income_and_the_performance_pay_ceiling():
    # materials 12,000 + utilities 50,000 × (300 sharing hours of 1,200) = 24,500
    compensation = s.cost_compensation(D("12000"), D("50000"), D("300"), D("1200"))
    assert compensation == D("24500.00")
    assert s.cost_compensation(D("12000"), D("50000"), 0, 0) == D("12000.00")  # no use: no utilities share
    # registered sharing hours above the measured machine time: at most the whole utilities total
    assert s.cost_compensation(D("0"), D("50000"), D("130"), D("120")) == D("50000.00")
    assert s.sharing_share(D("119.99"), D("120")) < 1
    net = s.net_income(D("100000"), compensation)
    assert net == D("75500.00")
    assert s.performance_pay_ceiling(net) == D("52850.00")  # 70 %
    assert s.performance_pay_ceiling(D("-100")) == D("0.00")  # a loss funds no performance pay
    assert s.performance_pay_ceiling(D("0.01")) == D("0.01")


def test_half_a_cent_rounds_up_as_the_finance_office_does():
    assert s.user_subsidy("enterprise", D("0.25")) == D("0.13")  # 0.125: half up, not to the even cent
    assert s.user_subsidy("enterprise", D("1")) == D("0.50")  # one yuan of fees is subsidised too
    assert s.at_ratio(D("0.05"), D("0.10")) == D("0.01")


def test_a_refused_ratio_is_reported_on_the_ratio(app):
    with app.app_context(), pytest.raises(RuleViolation) as refused:
        s.unit_ratio("excellent", {"excellent": "0.21"})
    assert list(refused.value.errors) == ["ratio"]


def test_a_pool_at_exactly_its_cap_is_not_scaled_down():
    exactly = {i: ("school", D("250000")) for i in range(40)}
    assert s.pools_over_cap(exactly, D("0.20")) == set()
    one_cent_more = {**exactly, 40: ("school", D("0.05")), 41: ("facility:9", D("300000"))}
    assert s.pools_over_cap(one_cent_more, D("0.20")) == {"school"}
