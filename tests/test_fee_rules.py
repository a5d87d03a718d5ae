"""Each fee rule at its boundary (issue 3): pure checks over unsaved model objects."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import FeeItem, FeePrice, FeeStandard
from app.services.catalogue import fee_rules

from . import factories as f

TOLERANCE = Decimal("0.10")


def standard(*items, justification=None, start=date(2026, 1, 1)):
    s = FeeStandard(instrument_id=1, state="draft", version=1, effective_from=start, justification=justification)
    for item in items:
        s.items.append(item)
    return s


def item(cost="100", unit="样品", name="常规测试", prices=(("campus", 0, None, "100", None),)):
    i = FeeItem(name=name, billing_unit=unit, cost_basis=Decimal(cost))
    for category, low, high, price, reason in prices:
        i.prices.append(FeePrice(customer_category=category, tier_min=None if low is None else Decimal(low),
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


# Each refusal exactly: which field it names and what it says there, in Chinese (the screen shows the message
# beside that field; a message under the wrong key, or untranslated, is lost to the user).

def zh(message):
    return str(message)


def test_every_wrong_field_is_named_with_its_own_message(session):
    from app.models import FeeItemComponent

    fine = item()
    wrong = item(name=None, unit=None, cost="-1")
    wrong.components.extend([FeeItemComponent(component="labour", amount=Decimal("5")),
                             FeeItemComponent(component="consumables", amount=Decimal("-0.01")),
                             FeeItemComponent(component="depreciation", amount=None)])
    blank = item(name="  ", unit="  ")
    errors = {key: zh(message) for key, message in fee_rules.check_items(standard(fine, wrong, blank)).items()}
    assert errors == {
        "items-1-name": "请填写收费项目名称。",
        "items-1-billing_unit": zh(fee_rules.MSG_UNIT),
        "items-1-cost_basis": zh(fee_rules.MSG_NEGATIVE),
        "items-1-components-1-amount": zh(fee_rules.MSG_NEGATIVE),
        "items-2-name": "请填写收费项目名称。",
        "items-2-billing_unit": zh(fee_rules.MSG_UNIT),
    }
    assert "金额不能为负" in errors["items-1-cost_basis"] and "计费单位" in errors["items-1-billing_unit"]


@pytest.mark.parametrize("amount", ["0", "0.5"])
def test_a_cost_or_component_of_zero_or_below_one_yuan_is_no_error(amount):
    from app.models import FeeItemComponent

    free = item(cost=amount, prices=[("campus", 0, None, amount, None)])
    free.components.append(FeeItemComponent(component="labour", amount=Decimal(amount)))
    assert fee_rules.check_items(standard(free)) == {}


def test_a_submission_names_what_it_lacks_in_chinese(session):
    empty = {k: zh(v) for k, v in fee_rules.check_submission(standard(start=None), TOLERANCE).items()}
    assert empty == {"items": zh(fee_rules.MSG_NO_ITEMS), "effective_from": zh(fee_rules.MSG_NO_START)}
    assert "至少" in empty["items"] and "生效日期" in empty["effective_from"]
    no_campus = fee_rules.check_submission(standard(item(prices=[("enterprise", 0, None, "100", None)])), TOLERANCE)
    assert {k: zh(v) for k, v in no_campus.items()} == {"items-0-prices": zh(fee_rules.MSG_NO_CAMPUS_PRICE)}
    unexplained = standard(item(cost="100", prices=[("campus", 0, None, "120", None), ("enterprise", 0, None, "130", "")]))
    assert {k: zh(v) for k, v in fee_rules.check_submission(unexplained, TOLERANCE).items()} == {
        "items-0-prices-1-difference_reason": zh(fee_rules.MSG_DIFFERENCE),
        "justification": "部分价格高于成本超过 10%：请按非营利原则说明理由。",
    }
    assert "校内" in zh(fee_rules.MSG_DIFFERENCE) and "校内" in zh(fee_rules.MSG_NO_CAMPUS_PRICE)


def version(state, start, end=None):
    return FeeStandard(instrument_id=1, state=state, version=1, effective_from=start, effective_to=end)


@pytest.mark.parametrize("state,end,later_start,expected", [
    ("published", None, date(2026, 7, 1), date(2026, 6, 30)),  # an open-ended published one ends before its successor
    ("published", None, date(2026, 1, 1), None),               # a successor on the same day does not end it
    ("published", None, None, None),
    ("college_review", None, date(2026, 7, 1), None),          # only a published version is ended by a later one
    ("published", date(2026, 3, 31), date(2026, 7, 1), date(2026, 3, 31)),
])
def test_the_last_day_of_a_version(state, end, later_start, expected):
    assert fee_rules._period_end(version(state, date(2026, 1, 1), end), later_start=later_start) == expected


class TestPeriods:
    """check_period against the other versions of one instrument, in the database."""

    @pytest.fixture
    def inst(self, session, uni):
        from app.models import Unit

        yield f.instrument(session.get(Unit, uni.l11), name="有效期测试仪器")
        session.rollback()

    def other(self, session, inst, state, start, end=None, number=None):
        other = f.fee_standard(inst, state=state, version=number or 1, effective_from=start, effective_to=end)
        session.add(other)
        session.flush()
        if start is None:  # the factory fills in a missing start; the workflow guard keeps it in Python
            session.execute(sa.update(FeeStandard).where(FeeStandard.id == other.id).values(effective_from=None))
            session.expire(other)
        return other

    def check(self, session, inst, start, end=None, by_id=False):
        mine = FeeStandard(state="draft", version=9, effective_from=start, effective_to=end)
        if by_id:  # a standard read back without its relationship loaded: the id says which instrument
            mine.instrument_id = inst.id
        else:
            mine.instrument = inst
        return {k: zh(v) for k, v in fee_rules.check_period(session, mine).items()}

    def test_a_one_day_period_is_ordered_and_an_upside_down_one_is_not(self, session, inst):
        assert self.check(session, inst, date(2027, 1, 1), date(2027, 1, 1)) == {}
        assert self.check(session, inst, date(2027, 1, 2), date(2027, 1, 1)) == {
            "effective_to": "失效日期不能早于生效日期。"}

    def test_a_new_version_starts_after_the_published_open_ended_one(self, session, inst):
        self.other(session, inst, "published", date(2027, 1, 1))
        refused = {"effective_from": "新版本的生效日期必须晚于当前已发布版本的生效日期（2027-01-01）。"}
        assert self.check(session, inst, date(2027, 1, 1)) == refused
        assert self.check(session, inst, date(2027, 1, 1), by_id=True) == refused
        assert self.check(session, inst, date(2027, 1, 2)) == {}

    def test_an_overlap_names_the_version_and_its_period(self, session, inst):
        self.other(session, inst, "college_review", date(2027, 7, 1), date(2027, 12, 31), number=2)
        assert self.check(session, inst, date(2027, 1, 1), date(2027, 7, 1)) == {
            "effective_from": "该有效期与同一仪器的第 2 版（2027-07-01 至 2027-12-31）重叠。"}
        assert self.check(session, inst, date(2027, 1, 1), date(2027, 6, 30)) == {}
        assert self.check(session, inst, date(2027, 12, 31)) == {
            "effective_from": "该有效期与同一仪器的第 2 版（2027-07-01 至 2027-12-31）重叠。"}

    def test_an_open_ended_version_under_review_overlaps_everything_after_it(self, session, inst):
        self.other(session, inst, "school_review", date(2027, 7, 1), number=3)
        assert self.check(session, inst, date(2027, 3, 1)) == {
            "effective_from": "该有效期与同一仪器的第 3 版（2027-07-01 至 —）重叠。"}
        assert self.check(session, inst, date(2027, 3, 1), date(2027, 6, 30)) == {}

    def test_a_published_version_with_an_end_is_an_overlap_not_a_successor(self, session, inst):
        self.other(session, inst, "published", date(2027, 1, 1), date(2027, 6, 30), number=4)
        assert self.check(session, inst, date(2027, 1, 1), date(2027, 1, 31)) == {
            "effective_from": "该有效期与同一仪器的第 4 版（2027-01-01 至 2027-06-30）重叠。"}

    def test_drafts_retired_versions_and_other_instruments_do_not_count(self, session, inst, uni):
        from app.models import Unit

        self.other(session, inst, "draft", date(2027, 1, 1), number=5)
        self.other(session, inst, "retired", date(2027, 1, 1), number=6)
        neighbour = f.instrument(session.get(Unit, uni.l11), name="隔壁的仪器")
        self.other(session, neighbour, "published", date(2027, 1, 1))
        assert self.check(session, inst, date(2027, 1, 1)) == {}

    def test_a_version_without_a_start_is_passed_over_not_the_end_of_the_search(self, session, inst):
        self.other(session, inst, "college_review", None, number=7)
        self.other(session, inst, "college_review", date(2027, 1, 1), date(2027, 1, 31), number=8)
        assert self.check(session, inst, date(2027, 1, 15), date(2027, 2, 1)) == {
            "effective_from": "该有效期与同一仪器的第 8 版（2027-01-01 至 2027-01-31）重叠。"}


def test_each_bad_tier_is_reported_with_its_message_not_only_the_first(session):
    prices = [("campus", -1, None, "100", None),         # starts below zero
              ("campus", 5, 5, "-1", None),              # covers nothing, and a negative price
              ("enterprise", 0, None, "120", "报告"),      # open-ended ...
              ("enterprise", 0, 10, "120", "报告"),        # ... yet another tier starts at the same quantity
              ("student_startup", None, "0.5", "50", "扶持")]  # no lower bound: from zero, half a unit
    errors = {k: zh(v) for k, v in fee_rules.check_items(standard(item(prices=prices))).items()}
    assert errors == {
        "items-0-prices-0-tier_min": zh(fee_rules.MSG_TIER_START),
        "items-0-prices-1-unit_price": zh(fee_rules.MSG_NEGATIVE),
        "items-0-prices-1-tier_max": zh(fee_rules.MSG_TIER_EMPTY),
        "items-0-prices-2-tier_max": zh(fee_rules.MSG_TIER_OPEN),
    }
    overlap = [("campus", 0, 10, "100", None), ("campus", 9, None, "90", None)]
    assert {k: zh(v) for k, v in fee_rules.check_items(standard(item(prices=overlap))).items()} == {
        "items-0-prices-1-tier_min": zh(fee_rules.MSG_TIER_OVERLAP)}
    for message in (fee_rules.MSG_TIER_START, fee_rules.MSG_TIER_EMPTY, fee_rules.MSG_TIER_OPEN,
                    fee_rules.MSG_TIER_OVERLAP):
        assert "档位" in zh(message)  # translated: the lab reads Chinese


def test_a_margin_over_a_cost_of_zero_has_no_ratio():
    (_price, over, ratio), = fee_rules.margins(item(cost="0", prices=[("campus", 0, None, "10", None)]))
    assert over == Decimal("10") and ratio is None


def test_a_version_under_review_does_not_overlap_itself(session, uni):
    from app.models import Unit

    inst = f.instrument(session.get(Unit, uni.l11), name="复核中的仪器")
    under_review = f.fee_standard(inst, state="school_review", effective_from=date(2027, 1, 1))
    session.add(under_review)
    session.flush()
    try:
        assert fee_rules.check_period(session, under_review) == {}  # the school re-checks it before publishing
    finally:
        session.rollback()
