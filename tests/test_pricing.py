"""Pricing (issue 14): one function from the version in force on the use's Beijing start day, the
user's category and the quantity tiers, with the standard's own tier mode and rounding."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Unit
from app.services.money import pricing
from app.services.money.pricing import Item, Schedule, Tier, UseQuantities

from . import factories as f

D = Decimal


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


def schedule(*items, mode="volume", rounding="started_unit"):
    return Schedule(1, 1, 1, date(2026, 1, 1), None, mode, rounding, tuple(items))


def hourly(tiers=None, **categories):
    """An hourly item: campus tiers (low, high, price), and other categories' own tiers."""
    table = {"campus": tuple(Tier(D(lo), None if hi is None else D(hi), D(p)) for lo, hi, p in tiers or [(0, None, 100)])}
    for category, rows in categories.items():
        table[category] = tuple(Tier(D(lo), None if hi is None else D(hi), D(p)) for lo, hi, p in rows)
    return Item(11, "机时", "小时", "hours", table)


USE_START = bj(2026, 3, 2, 9, 0)


def use(hours, samples=None, start=USE_START, **kw):
    return UseQuantities(start, start + timedelta(hours=float(hours)), D(str(hours)), samples, kw.get("entered", {}))


@pytest.mark.parametrize("rounding, hours, billed", [
    ("started_unit", "1.25", "2.00"), ("started_unit", "2", "2.00"), ("started_unit", "0.1", "1.00"),
    ("started_half", "1.25", "1.50"), ("started_half", "1.5", "1.50"), ("started_half", "1.51", "2.00"),
    ("exact", "1.25", "1.25"), ("exact", "1.333", "1.33"),
])
def test_a_started_unit_rounds_as_the_standard_says(rounding, hours, billed):
    [line] = pricing.price(schedule(hourly(), rounding=rounding), "campus", use(hours))
    assert line.quantity == D(billed)
    assert line.amount == D(billed) * 100


def test_each_category_pays_its_own_price_and_one_without_pays_the_campus_price():
    item = hourly(enterprise=[(0, None, 180)])
    assert pricing.price(schedule(item), "enterprise", use(2))[0].unit_price == D(180)
    assert pricing.price(schedule(item), "campus", use(2))[0].unit_price == D(100)
    # no price of its own differentiated (fee_rules demands a reason for a different one): the campus price
    assert pricing.price(schedule(item), "academic", use(2))[0].unit_price == D(100)


VOLUME_TIERS = [(0, 10, 100), (10, 50, 80), (50, None, 60)]


# the tier is the billed quantity's: 9.5 hours bill as 10, in the second tier
@pytest.mark.parametrize("hours, unit_price", [("3", 100), ("9", 100), ("9.5", 80), ("10", 80), ("49", 80), ("50", 60), ("200", 60)])
def test_volume_tiers_price_the_whole_quantity_at_the_tier_it_falls_in(hours, unit_price):
    [line] = pricing.price(schedule(hourly(VOLUME_TIERS)), "campus", use(hours))
    assert line.unit_price == D(unit_price)
    assert line.amount == (line.quantity * D(unit_price)).quantize(D("0.01"))


def test_graduated_tiers_price_each_band_at_its_own_price():
    lines = pricing.price(schedule(hourly(VOLUME_TIERS), mode="graduated"), "campus", use(60))
    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (D("10.00"), D(100), D("1000.00")), (D("40.00"), D(80), D("3200.00")), (D("10.00"), D(60), D("600.00"))]
    assert pricing.total(lines) == D("4800.00")
    # within the first band, one line
    assert [line.amount for line in pricing.price(schedule(hourly(VOLUME_TIERS), mode="graduated"), "campus", use(4))] == [D("400.00")]


def test_quantities_follow_each_items_basis():
    table = {"campus": (Tier(D(0), None, D(50)),)}
    items = (Item(1, "测试", "样品", "samples", table), Item(2, "制样", "次", "per_use", table),
             Item(3, "场地", "天", "days", table), Item(4, "耗材", "克", "entered", table))
    across_midnight = UseQuantities(bj(2026, 3, 2, 20, 0), bj(2026, 3, 3, 2, 0), D(6), 7, {4: D("2.5")})
    lines = {line.item_id: line.quantity for line in pricing.price(schedule(*items), "campus", across_midnight)}
    # two Beijing days touched (a UTC count would say one), a started gram counts in full
    assert lines == {1: D(7), 2: D(1), 3: D(2), 4: D(3)}
    # nothing entered and no samples: those items give no line
    assert {line.item_id for line in pricing.price(schedule(*items), "campus", use(2))} == {2, 3}


def test_the_version_in_force_on_the_beijing_start_day_prices_a_use_across_a_change(session, uni):
    """A use that starts on the last day of v1 and runs past midnight into v2 is priced by v1 (its
    start decides), and the day is Beijing's: 23:30 Beijing on 31 March is 15:30 UTC."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="计价仪器")
    hours = [f.standard_item("机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None)])]
    v1 = f.fee_standard(inst, state="retired", version=1, effective_from=date(2026, 1, 1), effective_to=date(2026, 3, 31),
                        items=hours)
    v2 = f.fee_standard(inst, state="published", version=2, effective_from=date(2026, 4, 1),
                        items=[f.standard_item("机时", "小时", "120", basis="hours", prices=[("campus", 0, None, "120", None)])])
    f.fee_standard(inst, state="draft", version=3, effective_from=date(2026, 3, 1), items=hours)  # a draft never prices
    schedules = pricing.schedules_for(session, [inst.id])[inst.id]
    assert [s.standard_id for s in schedules] == [v1.id, v2.id]
    start = bj(2026, 3, 31, 23, 30)
    chosen = pricing.in_force(schedules, clock.local_date(start))
    assert chosen.standard_id == v1.id
    [line] = pricing.price(chosen, "enterprise", UseQuantities(start, start + timedelta(hours=2), D(2)))
    assert (line.unit_price, line.amount) == (D(100), D("200.00"))
    assert pricing.schedule_of(session, inst.id, date(2026, 4, 1)).standard_id == v2.id
    assert pricing.schedule_of(session, inst.id, date(2025, 12, 31)) is None


def test_a_batch_of_instruments_loads_in_three_queries(session, uni, count_queries):
    lab = session.get(Unit, uni.l11)
    ids = []
    for n in range(4):
        inst = f.bookable_instrument(lab, name=f"批量仪器{n}")
        f.fee_standard(inst, state="published", items=[f.standard_item("机时", "小时", "90", basis="hours")])
        ids.append(inst.id)
    session.expire_all()
    with count_queries() as statements:
        found = pricing.schedules_for(session, ids)
    assert sorted(found) == sorted(ids) and len(statements) == 3


def test_a_new_version_keeps_how_its_standard_prices(session, uni):
    from app.models import PlatformUser
    from app.services.catalogue import fees
    from app.services.actors import Actor
    import sqlalchemy as sa

    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="复制计价仪器")
    old = f.fee_standard(inst, state="published", tier_mode="graduated", unit_rounding="started_half",
                         items=[f.standard_item("机时", "小时", "90", basis="hours")])
    actor = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    draft = fees.new_version(session, actor, old, bj(2026, 12, 7, 9, 0), date(2027, 1, 1))
    session.flush()
    assert (draft.tier_mode, draft.unit_rounding, [i.quantity_basis for i in draft.items]) == (
        "graduated", "started_half", ["hours"])


def test_the_settlement_prices_a_use_by_its_beijing_start_day(session, uni):
    """Through the services that raise charges, one use at a time and in a batch: a use starting at 00:30
    Beijing on the first day of version 2 (16:30 UTC the day before) is priced by version 2 (issue 21, §3)."""
    from app.models import ServiceUser, UsageRecord
    from app.services.money import settlement

    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="零点计价仪器")
    f.fee_standard(inst, state="retired", version=1, effective_from=date(2026, 1, 1), effective_to=date(2026, 3, 31),
                   items=[f.standard_item("机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None)])])
    f.fee_standard(inst, state="published", version=2, effective_from=date(2026, 4, 1),
                   items=[f.standard_item("机时", "小时", "120", basis="hours", prices=[("campus", 0, None, "120", None)])])
    user = session.get(ServiceUser, uni.customer_campus_user)
    uses = []
    for _ in range(2):
        start = bj(2026, 4, 1, 0, 30)
        uses.append(UsageRecord(instrument_id=inst.id, user=user, started_at=start, ended_at=start + timedelta(hours=1),
                                hours=D(1), source="manual", service_type="internal", direction="research"))
    session.add_all(uses)
    session.flush()
    session.expire_all()  # read back as a charge's use is: in UTC
    assert uses[0].started_at.date() == date(2026, 3, 31)
    one = settlement.charge_use(session, uses[0], bj(2026, 4, 2, 9))
    assert one.total == D("120.00")
    assert settlement.charge_uses(session, [uses[1].id], bj(2026, 4, 2, 9)) == 1
    batch = session.execute(sa.select(settlement.Charge.total).where(settlement.Charge.usage_id == uses[1].id)).scalar()
    assert batch == D("120.00")


def test_half_a_cent_rounds_up_in_quantities_and_amounts():
    [line] = pricing.price(schedule(hourly([(0, None, "0.05")]), rounding="exact"), "campus", use("2.5"))
    assert (line.quantity, line.amount) == (D("2.50"), D("0.13"))  # 0.125: half up, not to the even cent
    assert pricing.round_units(D("1.125"), "exact") == D("1.13")


def test_a_use_still_running_counts_one_day():
    table = {"campus": (Tier(D(0), None, D(50)),)}
    running = UseQuantities(bj(2026, 3, 2, 20, 0))
    [line] = pricing.price(schedule(Item(3, "场地", "天", "days", table)), "campus", running)
    assert str(line.quantity) == "1.00" and line.amount == D("50.00")


@pytest.mark.parametrize("tiers, hours, unit_price", [
    ([(5, 10, 100), (10, None, 80)], "2", 100),              # below the first tier: the first tier's price
    ([(0, 5, 100), (5, 10, 90), (10, 20, 60)], "35", 60),    # beyond the last bounded tier: the last one's
    ([(0, 5, 100), (5, 10, 90), (20, 30, 60)], "15", 100),   # in a gap between tiers: below the last, the first's
    ([(0, 10, 100), (20, 30, 60)], "15", 100),
])
def test_a_quantity_outside_every_tier_takes_the_nearest_end(tiers, hours, unit_price):
    [line] = pricing.price(schedule(hourly(tiers)), "campus", use(hours))
    assert line.unit_price == D(unit_price)


def test_graduated_bands_are_labelled_and_a_quantity_on_a_boundary_opens_no_empty_band():
    lines = pricing.price(schedule(hourly(VOLUME_TIERS), mode="graduated"), "campus", use(60))
    assert [line.description for line in lines] == ["机时 (小时, 0–10)", "机时 (小时, 10–50)", "机时 (小时, 50–)"]
    [line] = pricing.price(schedule(hourly(VOLUME_TIERS), mode="graduated"), "campus", use(10))
    assert (line.description, line.quantity, line.amount) == ("机时 (小时)", D("10.00"), D("1000.00"))
    assert pricing._band_label([Tier(D(0), D(10), D(100))], D(99)) == ""


def test_a_long_item_name_is_cut_to_the_line_column():
    item = Item(11, "很长的项目名称" * 40, "小时", "hours", {"campus": (Tier(D(0), None, D(100)),)})
    [line] = pricing.price(schedule(item), "campus", use(1))
    assert len(line.description) == 200


def test_schedules_are_the_asked_instruments_only_and_one_query_when_none_is_priced(session, uni, count_queries):
    lab = session.get(Unit, uni.l11)
    priced, other, unpriced = (f.bookable_instrument(lab, name=f"范围仪器{n}") for n in range(3))
    for inst in (priced, other):
        f.fee_standard(inst, state="published", items=[f.standard_item("机时", "小时", "90", basis="hours")])
    f.fee_standard(unpriced, state="draft", items=[f.standard_item("机时", "小时", "90", basis="hours")])
    assert set(pricing.schedules_for(session, [priced.id, unpriced.id])) == {priced.id}
    unpriced_id = unpriced.id
    session.expire_all()
    with count_queries() as statements:
        assert pricing.schedules_for(session, [unpriced_id]) == {}
    assert len(statements) == 1  # no version priced: neither items nor prices are asked for


def test_a_schedule_is_read_back_whole(session, uni):
    """Every field of every version, item and tier, tiers in quantity order whatever order they were entered in;
    a version without items and an item without prices are read too (they price nothing)."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="读回仪器")
    old = f.fee_standard(inst, state="retired", version=1, effective_from=date(2025, 1, 1),
                         effective_to=date(2025, 12, 31), items=[])
    machine_time = f.standard_item("机时", "小时", "100", basis="hours", prices=[
        ("campus", 10, None, "80", None), ("campus", 0, 10, "100", None), ("enterprise", 0, None, "150", "报告")])
    report = f.standard_item("报告", "份", "50", prices=[])
    new = f.fee_standard(inst, state="published", version=2, effective_from=date(2026, 1, 1),
                         effective_to=date(2026, 12, 31), tier_mode="graduated", unit_rounding="exact",
                         items=[machine_time, report])
    first, second = new.items
    assert pricing.schedules_for(session, [inst.id]) == {inst.id: [
        Schedule(old.id, inst.id, 1, date(2025, 1, 1), date(2025, 12, 31), "volume", "started_unit", ()),
        Schedule(new.id, inst.id, 2, date(2026, 1, 1), date(2026, 12, 31), "graduated", "exact", (
            Item(first.id, "机时", "小时", "hours", {"campus": (Tier(D(0), D(10), D(100)), Tier(D(10), None, D(80))),
                                                    "enterprise": (Tier(D(0), None, D(150)),)}),
            Item(second.id, "报告", "份", "entered", {}))),
    ]}
