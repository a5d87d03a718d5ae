"""The fee-standard workflow per role (issue 3): every step, every out-of-chain attempt, immutability."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import ChangeLog, FeePrice, Instrument
from app.security.roles import COLLEGE_ADMIN, LAB_ADMIN
from app.services.catalogue import fees
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f

NOW = datetime(2026, 11, 25, 9, 0)


@pytest.fixture
def actors(app, session, uni):
    """Actors by name; the two outsiders are created once (a sibling lab's admin, another college's)."""
    sm = app.appbuilder.sm
    from app.models import Unit

    if sm.find_user("lab12_admin") is None:
        f.user(sm, "lab12_admin", LAB_ADMIN, session.get(Unit, uni.l12))
        f.user(sm, "college2_admin", COLLEGE_ADMIN, session.get(Unit, uni.c2))
    names = ["school_admin", "college_admin", "lab_admin", "lab12_admin", "college2_admin", "service_user"]
    return {n: fees.Actor.of(sm.find_user(n)) for n in names}


@pytest.fixture
def instrument(session, uni):
    inst = f.instrument(session.get(Instrument, uni.inst_l11).unit, name="收费测试仪器")
    yield inst
    session.rollback()


def draft(session, actors, instrument, **kw):
    standard = fees.create_draft(session, actors["lab_admin"], instrument, NOW, effective_from=kw.pop("start", date(2026, 12, 1)))
    item = f.standard_item(prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "130", "企业加收报告费")], cost="100")
    from app.models import FeeItem

    fee_item = FeeItem(name=item["name"], billing_unit=item["billing_unit"], cost_basis=Decimal(item["cost_basis"]))
    for category, low, high, price, reason in item["prices"]:
        fee_item.prices.append(FeePrice(customer_category=category, tier_min=low, tier_max=high, unit_price=Decimal(price),
                                        difference_reason=reason))
    standard.items.append(fee_item)
    standard.justification = kw.pop("justification", "企业价格含报告编制人工")
    session.flush()
    return standard


def publish(session, actors, standard):
    fees.submit(session, actors["lab_admin"], standard, NOW)
    fees.college_approve(session, actors["college_admin"], standard, NOW, "同意")
    fees.school_approve(session, actors["school_admin"], standard, NOW, "批准发布")
    session.flush()


def test_full_chain_records_who_when_why(session, actors, instrument):
    standard = draft(session, actors, instrument)
    publish(session, actors, standard)
    assert standard.state == "published"
    steps = [(e.action, e.from_state, e.to_state, e.actor.username, e.comment) for e in standard.events]
    assert steps == [
        ("create", None, "draft", "lab_admin", None),
        ("submit", "draft", "college_review", "lab_admin", None),
        ("college_approve", "college_review", "school_review", "college_admin", "同意"),
        ("school_approve", "school_review", "published", "school_admin", "批准发布"),
    ]
    assert standard.approved_by_id == actors["school_admin"].user_id and standard.approved_at == NOW
    log = session.execute(sa.select(ChangeLog).filter_by(table_name="fee_standard", record_id=standard.id, field="state")).scalars().all()
    assert [(c.old_value, c.new_value) for c in log][-1] == ("school_review", "published")
    assert log[-1].changed_by_id == actors["school_admin"].user_id


@pytest.mark.parametrize("step,who", [
    ("submit", "lab12_admin"), ("submit", "college2_admin"), ("submit", "service_user"),
    ("college_approve", "lab_admin"), ("college_approve", "college2_admin"), ("college_approve", "school_admin"),
    ("school_approve", "college_admin"), ("school_approve", "lab_admin"),
])
def test_out_of_chain_steps_are_refused(session, actors, instrument, step, who):
    standard = draft(session, actors, instrument)
    if step != "submit":
        fees.submit(session, actors["lab_admin"], standard, NOW)
    if step == "school_approve":
        fees.college_approve(session, actors["college_admin"], standard, NOW)
    before = standard.state
    with pytest.raises(PolicyDenied) as refused:
        getattr(fees, step)(session, actors[who], standard, NOW)
    assert refused.value.code == "out_of_chain"
    assert standard.state == before


def test_steps_out_of_order_are_refused(session, actors, instrument):
    standard = draft(session, actors, instrument)
    with pytest.raises(PolicyDenied):
        fees.school_approve(session, actors["school_admin"], standard, NOW)
    with pytest.raises(PolicyDenied):
        fees.college_approve(session, actors["college_admin"], standard, NOW)


def test_return_needs_a_reason_and_goes_back_to_draft(session, actors, instrument):
    standard = draft(session, actors, instrument)
    fees.submit(session, actors["lab_admin"], standard, NOW)
    with pytest.raises(RuleViolation):
        fees.return_to_lab(session, actors["college_admin"], standard, NOW, "  ")
    fees.return_to_lab(session, actors["college_admin"], standard, NOW, "机时单价请附成本测算")
    assert standard.state == "draft" and standard.events[-1].comment == "机时单价请附成本测算"


def test_submit_runs_the_rules(session, actors, instrument):
    standard = draft(session, actors, instrument, justification="")
    with pytest.raises(RuleViolation) as refused:
        fees.submit(session, actors["lab_admin"], standard, NOW)
    assert "justification" in refused.value.errors
    assert standard.state == "draft"


def test_published_standard_is_immutable(session, actors, instrument):
    standard = draft(session, actors, instrument)
    publish(session, actors, standard)
    standard.items[0].prices[0].unit_price = Decimal("1")
    with pytest.raises(PolicyDenied) as refused:
        session.flush()
    assert refused.value.code == "immutable"
    session.rollback()


def test_submitted_standard_is_immutable_too(session, actors, instrument):
    standard = draft(session, actors, instrument)
    fees.submit(session, actors["lab_admin"], standard, NOW)
    session.flush()
    standard.pricing_method = "改了"
    with pytest.raises(PolicyDenied):
        session.flush()
    session.rollback()


def test_a_change_is_a_new_version_that_supersedes_on_its_date(session, actors, instrument):
    v1 = draft(session, actors, instrument, start=date(2026, 1, 1))
    publish(session, actors, v1)
    v2 = fees.new_version(session, actors["lab_admin"], v1, NOW, effective_from=date(2027, 1, 1))
    session.flush()
    assert v2.version == 2 and v2.state == "draft" and len(v2.items) == len(v1.items)
    v2.items[0].prices[0].unit_price = Decimal("105")  # the draft may change
    session.flush()
    publish(session, actors, v2)
    assert v1.state == "retired" and v1.effective_to == date(2026, 12, 31)
    assert v1.items[0].prices[0].unit_price == Decimal("100")  # history stays readable, unchanged


def test_a_new_version_cannot_start_before_the_current_one(session, actors, instrument):
    v1 = draft(session, actors, instrument, start=date(2026, 6, 1))
    publish(session, actors, v1)
    v2 = fees.new_version(session, actors["lab_admin"], v1, NOW, effective_from=date(2026, 6, 1))
    with pytest.raises(RuleViolation) as refused:
        fees.submit(session, actors["lab_admin"], v2, NOW)
    assert "effective_from" in refused.value.errors


def test_periods_of_versions_under_review_do_not_overlap(session, actors, instrument):
    a = draft(session, actors, instrument, start=date(2027, 1, 1))
    a.effective_to = date(2027, 6, 30)
    fees.submit(session, actors["lab_admin"], a, NOW)
    b = draft(session, actors, instrument, start=date(2027, 6, 30))
    with pytest.raises(RuleViolation) as refused:
        fees.submit(session, actors["lab_admin"], b, NOW)
    assert "effective_from" in refused.value.errors
    b.effective_from = date(2027, 7, 1)
    fees.submit(session, actors["lab_admin"], b, NOW)  # the day after: fine
    assert b.state == "college_review"


def test_retire(session, actors, instrument):
    standard = draft(session, actors, instrument)
    publish(session, actors, standard)
    with pytest.raises(PolicyDenied):
        fees.retire(session, actors["college_admin"], standard, NOW)
    fees.retire(session, actors["school_admin"], standard, NOW, last_day=date(2026, 12, 31))
    assert standard.state == "retired" and standard.effective_to == date(2026, 12, 31)


@pytest.mark.parametrize("who,expected", [
    ("lab_admin", []), ("college_admin", ["college_approve", "return"]), ("school_admin", []),
    ("college2_admin", []), ("lab12_admin", []),
])
def test_possible_steps_follow_the_chain(session, actors, instrument, who, expected):
    standard = draft(session, actors, instrument)
    fees.submit(session, actors["lab_admin"], standard, NOW)
    assert fees.possible_steps(session, actors[who], standard) == expected
