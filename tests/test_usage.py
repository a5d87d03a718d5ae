"""The usage service's rules in detail (app/services/booking/usage.py): what starting, ending and registering a use
write, column by column; every refusal with its code, its field and its Chinese message; the boundaries
(the end against the start and against now, the hours' tolerance, the samples, back-to-back uses); which
records count as an open session or an overlapping use; who may start and end a self-operated booking's use
and within which window; and what a completed use does to the authorisation and the charge."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import (Authorisation, Booking, BookingRule, InterlockCommand, IotTerminal, PlatformUser, ServiceUser,
                        Unit, UsageRecord)
from app.services.booking import bookings as booking_service, usage
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f

D = Decimal
SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


NOW = bj(2026, 12, 7, 18, 0)
SLOT = bj(2026, 12, 7, 9, 0)

# the Chinese messages (translations/zh/LC_MESSAGES/messages.po), whole
OPEN = "该仪器已有正在进行的使用，请先结束。"
OVERLAP = "该时段与该仪器已登记的其他使用重叠。"
FUTURE = "使用结束时间不能晚于当前时间。"
NOT_AUTHORISED = "该用户未获得该仪器的上机授权。"
NO_POWER = "该用户没有本仪器的有效上机资格，不予通电。"
NOT_OPEN = "该次使用已经结束。"
COUNT = "请填写不小于 0 的整数。"
RETURNED = "归还样品数不能多于接收样品数。"
TESTED = "测试样品数不能多于接收样品数。"
DIRECTION = "请选择使用方向。"
START = "请填写使用的开始和结束时间。"
OWN_ONLY = "只有自主上机预约的本人可以自行开始和结束使用，其他预约由实验室登记。"
ORDER = "结束时间须晚于开始时间。"


def hours_message(hours):
    return f"机时与开始、结束时间不符（应为 {hours} 小时）。"


@pytest.fixture
def inst(session, uni):
    """An instrument of lab_admin's lab, priced by the hour, by the sample and by what the lab enters."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="使用规则仪器")
    f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[
        f.standard_item("机时", "小时", "100", basis="hours",
                        prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")]),
        f.standard_item("耗材", "份", "7", basis="entered", prices=[("campus", 0, None, "7", None)]),
    ])
    return inst


@pytest.fixture
def user(session):
    return f.service_user(name="使用规则用户")  # an enterprise's: external


@pytest.fixture
def customer(session):
    """service_user's ServiceUser row and its account as an actor."""
    account = session.execute(sa.select(PlatformUser).filter_by(username="service_user")).scalar_one()
    return session.execute(sa.select(ServiceUser).filter_by(account_id=account.id)).scalar_one(), Actor.of(account)


def scheduled(session, inst, user, start=SLOT, hours=2, mode="self_operated", state="scheduled"):
    booking = Booking(instrument_id=inst.id, user=user, mode=mode, state=state, scheduled_start=start,
                      scheduled_end=start + timedelta(hours=hours), submitted_at=start - timedelta(days=2),
                      respond_by=date(2026, 12, 10))
    session.add(booking)
    session.flush()
    return booking


def other_instrument(session, uni, name="另一台仪器"):
    return f.bookable_instrument(session.get(Unit, uni.l11), name=name)


def walk_in(session, actor, inst, user, start, end, now=NOW, **kw):
    return usage.register(session, actor, now, SETTINGS, instrument_id=inst.id, user=user, start=start, end=end, **kw)


def columns(session, record):
    session.flush()
    session.expire(record)
    return {c: getattr(record, c) for c in (
        "instrument_id", "booking_id", "user_id", "started_at", "ended_at", "hours", "samples", "samples_received",
        "samples_returned", "operator_id", "source", "service_type", "direction", "registered_by_id", "registered_at")}


def uses_of(session, inst):
    return session.execute(sa.select(sa.func.count()).select_from(UsageRecord)
                           .where(UsageRecord.instrument_id == inst.id)).scalar()


def item_id(session, inst, name):
    from app.models import FeeItem, FeeStandard

    return session.execute(sa.select(FeeItem.id).join(FeeStandard).where(
        FeeStandard.instrument_id == inst.id, FeeItem.name == name)).scalar_one()


# -- span_hours ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, hours", [
    (450, "0.13"),  # 0.125 h: half up, not half even
    (1350, "0.38"),  # 0.375 h
    (5400, "1.50"),
    (360000, "100.00"),  # a hundred hours, to the cent
    (4 * 3600 + 18, "4.01"),  # 4.005 h
])
def test_the_hours_are_the_span_rounded_half_up_to_the_cent(seconds, hours):
    assert clock.hours_between(SLOT, SLOT + timedelta(seconds=seconds)) == D(hours)
    assert str(clock.hours_between(SLOT, SLOT + timedelta(seconds=seconds))) == hours


# -- start ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("campus, direction", [(False, "teaching"), (True, "development"), (False, "research")])
def test_starting_writes_every_column_of_an_open_session(session, uni, lab_actor, inst, campus, direction):
    org = f.customer("本校单位", category="campus") if campus else f.customer("外单位")
    someone = f.service_user(org=org, name="开始使用用户")
    operator = f.person(session.get(Unit, uni.l11), name="操作员")
    booking = scheduled(session, inst, someone)
    at = SLOT + timedelta(minutes=7)
    opened = usage.start(session, lab_actor, at, SETTINGS, booking=booking, operator_id=operator.id, direction=direction)
    assert columns(session, opened) == {
        "instrument_id": inst.id, "booking_id": booking.id, "user_id": someone.id, "started_at": at, "ended_at": None,
        "hours": None, "samples": None, "samples_received": None, "samples_returned": None, "operator_id": operator.id,
        "source": "manual", "service_type": "internal" if campus else "external", "direction": direction,
        "registered_by_id": lab_actor.user_id, "registered_at": at}
    assert opened.is_open and booking.state == "scheduled"
    assert usage.open_session_of(session, inst.id) is opened


def test_a_second_start_on_the_instrument_is_refused_in_chinese(session, lab_actor, inst, user):
    f.authorisation(user, inst)
    first = usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=user)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, lab_actor, SLOT + timedelta(minutes=1), SETTINGS, instrument_id=inst.id, user=user)
    assert (refused.value.code, refused.value.message) == ("session_open", OPEN)
    assert usage.open_session_of(session, inst.id) is first and uses_of(session, inst) == 1


def test_a_start_with_an_unknown_direction_is_refused_on_that_field(session, lab_actor, inst, user):
    f.authorisation(user, inst)
    with pytest.raises(RuleViolation) as refused:
        usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=user, direction="fun")
    assert refused.value.errors == {"direction": DIRECTION}
    assert uses_of(session, inst) == 0


def test_a_write_the_database_refuses_otherwise_is_not_taken_for_an_open_session(session, lab_actor, inst, user):
    f.authorisation(user, inst)
    with pytest.raises(sa.exc.IntegrityError):  # no such operator: a foreign key, not the one-open-session index
        usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=user, operator_id=10 ** 9)


def _foreign_record(session, inst, kind, booking=None):
    """A record on the instrument that is not its open session."""
    values = dict(instrument_id=inst.id, booking_id=booking.id if booking else None, started_at=SLOT - timedelta(hours=3),
                  source="manual", service_type="external", direction="research")
    if kind == "iot":
        values.update(source="iot")
    elif kind == "ended_without_hours":
        values.update(ended_at=SLOT - timedelta(hours=2))
    elif kind == "hours_without_end":
        values.update(hours=D("1.00"))
    session.add(UsageRecord(**values))
    session.flush()


@pytest.mark.parametrize("kind", ["iot", "ended_without_hours", "hours_without_end", "another_instrument"])
def test_only_a_manual_record_without_end_and_hours_on_this_instrument_is_its_open_session(
        session, uni, lab_actor, inst, user, kind):
    f.authorisation(user, inst)
    if kind == "another_instrument":
        other = other_instrument(session, uni)
        f.authorisation(user, other)
        usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=other.id, user=user)
    else:
        _foreign_record(session, inst, kind)
    assert usage.open_session_of(session, inst.id) is None
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=user)
    assert usage.open_session_of(session, inst.id) is opened


@pytest.mark.parametrize("kind", ["iot", "ended_without_hours", "hours_without_end", "none"])
def test_a_bookings_open_session_is_its_own_manual_record_without_end_and_hours(session, uni, lab_actor, inst, user, kind):
    other = other_instrument(session, uni)
    mine, theirs = scheduled(session, inst, user), scheduled(session, other, user)
    quiet = scheduled(session, inst, user, start=SLOT + timedelta(hours=3))
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=mine)
    elsewhere_open = usage.start(session, lab_actor, SLOT, SETTINGS, booking=theirs)
    if kind != "none":
        _foreign_record(session, inst, kind, booking=quiet)
    assert usage.open_session_of_booking(session, mine.id) is opened
    assert usage.open_session_of_booking(session, theirs.id) is elsewhere_open
    assert usage.open_session_of_booking(session, quiet.id) is None
    usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1))
    assert usage.open_session_of_booking(session, mine.id) is None


# -- who may start, and when ------------------------------------------------------------------------------

@pytest.mark.parametrize("state, label", [("pending", "待响应"), ("refused", "已拒绝"), ("cancelled", "已取消"),
                                          ("completed", "已完成"), ("no_show", "爽约")])
def test_a_booking_that_is_not_scheduled_is_refused_with_its_state_in_chinese(session, lab_actor, inst, user, state,
                                                                             label):
    booking = scheduled(session, inst, user, state=state)
    message = f"预约状态为“{label}”，不能登记使用。"
    for act in (lambda: usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking),
                lambda: usage.register(session, lab_actor, NOW, SETTINGS, booking=booking, start=SLOT,
                                       end=SLOT + timedelta(hours=1))):
        with pytest.raises(PolicyDenied) as refused:
            act()
        assert (refused.value.code, refused.value.message) == ("booking_state", message)
    assert uses_of(session, inst) == 0 and booking.state == state


def test_a_walk_in_without_authorisation_is_refused_in_chinese(session, lab_actor, inst, user):
    for act in (lambda: usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=user),
                lambda: walk_in(session, lab_actor, inst, user, SLOT, SLOT + timedelta(hours=1)),
                lambda: usage.start(session, lab_actor, SLOT, SETTINGS, instrument_id=inst.id, user=None)):
        with pytest.raises(PolicyDenied) as refused:
            act()
        assert (refused.value.code, refused.value.message) == ("not_authorised", NOT_AUTHORISED)
    assert uses_of(session, inst) == 0


def test_the_own_user_starts_only_a_self_operated_booking(session, inst, customer):
    user, actor = customer
    f.authorisation(user, inst)
    sample = scheduled(session, inst, user, mode="sample")
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, actor, SLOT, SETTINGS, booking=sample)
    assert (refused.value.code, refused.value.message) == ("not_self_operated", OWN_ONLY)
    assert uses_of(session, inst) == 0


def test_the_own_user_never_registers_a_use_after_the_fact(session, inst, customer):
    user, actor = customer
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as refused:
        usage.register(session, actor, NOW, SETTINGS, booking=booking, start=SLOT, end=SLOT + timedelta(hours=1))
    assert refused.value.code == "out_of_chain"
    assert uses_of(session, inst) == 0 and booking.state == "scheduled"


def _ruled(session, inst, grace):
    """A booking rule without interlock, with its own grace before the slot."""
    session.add(BookingRule(instrument_id=inst.id, interlock=False, interlock_grace_minutes=grace))
    session.flush()


@pytest.mark.parametrize("minutes_before, allowed", [(25, True), (26, False), (-119, True), (-120, False)])
def test_the_own_user_starts_within_the_slot_and_the_rules_grace_before_it(session, inst, customer, minutes_before,
                                                                          allowed):
    user, actor = customer
    _ruled(session, inst, grace=25)
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    at = SLOT - timedelta(minutes=minutes_before)
    if allowed:
        opened = usage.start(session, actor, at, SETTINGS, booking=booking)
        assert (opened.started_at, opened.registered_by_id) == (at, actor.user_id)
        assert session.execute(sa.select(sa.func.count()).select_from(InterlockCommand)
                               .where(InterlockCommand.instrument_id == inst.id)).scalar() == 0
    else:
        with pytest.raises(PolicyDenied) as refused:
            usage.start(session, actor, at, SETTINGS, booking=booking)
        assert refused.value.code == "outside_slot"
        assert uses_of(session, inst) == 0


def test_the_lab_starts_a_booking_without_interlock_at_any_time(session, lab_actor, inst, user):
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT - timedelta(hours=5), SETTINGS, booking=booking)
    assert opened.started_at == SLOT - timedelta(hours=5)


@pytest.mark.parametrize("state", [None, "suspended"])
def test_the_own_user_without_a_valid_authorisation_may_not_start(session, inst, customer, state):
    user, actor = customer
    if state:
        f.authorisation(user, inst, state=state, reason="违规操作")
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, actor, SLOT, SETTINGS, booking=booking)
    assert (refused.value.code, refused.value.message) == ("not_authorised", NOT_AUTHORISED)
    assert uses_of(session, inst) == 0


def plugged(session, uni, grace=10, name="使用规则联锁仪器"):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name=name, iot_terminal_id=f"plug-{name}")
    session.add(IotTerminal(terminal_id=inst.iot_terminal_id, instrument_id=inst.id, adapter="tasmota"))
    session.add(BookingRule(instrument_id=inst.id, interlock=True, interlock_grace_minutes=grace))
    session.flush()
    return inst


def test_an_interlocked_instrument_without_authorisation_says_the_power_stays_off(session, uni, lab_actor, user):
    inst = plugged(session, uni)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    assert (refused.value.code, refused.value.message) == ("not_authorised", NO_POWER)


@pytest.mark.parametrize("cause", ["end", "slot_end"])
def test_ending_on_an_interlocked_instrument_queues_the_off_command_of_that_use(session, uni, lab_actor, user, cause):
    inst = plugged(session, uni, grace=15)
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied):  # the plug's grace, 15 minutes
        usage.start(session, lab_actor, SLOT - timedelta(minutes=16), SETTINGS, booking=booking)
    opened = usage.start(session, lab_actor, SLOT - timedelta(minutes=15), SETTINGS, booking=booking)
    usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1), cause=cause)
    rows = session.execute(sa.select(InterlockCommand.action, InterlockCommand.reason, InterlockCommand.usage_id,
                                     InterlockCommand.booking_id, InterlockCommand.requested_by_id,
                                     InterlockCommand.created_at)
                           .where(InterlockCommand.instrument_id == inst.id).order_by(InterlockCommand.id)).all()
    assert [tuple(r) for r in rows] == [
        ("on", "start", opened.id, booking.id, lab_actor.user_id, SLOT - timedelta(minutes=15)),
        ("off", cause, opened.id, booking.id, lab_actor.user_id, SLOT + timedelta(hours=1))]


# -- end ----------------------------------------------------------------------------------------------------

def test_ending_writes_the_end_hours_and_samples_and_completes_the_booking(session, lab_actor, inst, user):
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking, direction="teaching")
    at = SLOT + timedelta(hours=1, minutes=30)
    done = usage.end(session, lab_actor, opened, at, samples="2", samples_received=3, samples_returned="1",
                     entered={item_id(session, inst, "耗材"): D(4)})
    assert done.usage is opened
    row = columns(session, opened)
    assert (row["started_at"], row["ended_at"], row["hours"], row["samples"], row["samples_received"],
            row["samples_returned"], row["direction"]) == (SLOT, at, D("1.50"), 2, 3, 1, "teaching")
    assert booking.state == "completed" and not opened.is_open
    charge = done.charge
    assert (charge.created_at, charge.created_by_id, charge.user_id, charge.state) == \
        (at, lab_actor.user_id, user.id, "pending")
    assert sorted((line.quantity, line.unit_price) for line in charge.lines) == [(D(2), D(150)), (D(4), D(7))]
    assert charge.total == D("328.00")


def test_ending_one_use_leaves_another_instruments_open_session_alone(session, uni, lab_actor, inst, user):
    other = other_instrument(session, uni)
    mine, theirs = scheduled(session, inst, user), scheduled(session, other, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=mine)
    still = usage.start(session, lab_actor, SLOT, SETTINGS, booking=theirs)
    usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1))
    session.expire_all()
    assert still.is_open and usage.open_session_of(session, other.id) is still
    assert (opened.ended_at, opened.hours) == (SLOT + timedelta(hours=1), D("1.00"))


@pytest.mark.parametrize("kw, errors", [
    ({"samples": "-1"}, {"samples": COUNT}),
    ({"samples_received": "x"}, {"samples_received": COUNT}),
    ({"samples_returned": "1.5"}, {"samples_returned": COUNT}),
    ({"samples": -1, "samples_received": -1, "samples_returned": -1},
     {"samples": COUNT, "samples_received": COUNT, "samples_returned": COUNT}),
    ({"samples": 3, "samples_received": 2}, {"samples": TESTED}),
    ({"samples_returned": 3, "samples_received": 2}, {"samples_returned": RETURNED}),
    ({"samples": 3, "samples_returned": 3, "samples_received": 2}, {"samples": TESTED, "samples_returned": RETURNED}),
    ({"at": SLOT}, {"end": ORDER}),
    ({"at": SLOT - timedelta(minutes=1), "samples": "a"}, {"end": ORDER, "samples": COUNT}),
])
def test_a_bad_end_is_refused_field_by_field_and_leaves_the_use_open(session, lab_actor, inst, user, kw, errors):
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    kw = dict(kw)  # the parameter is shared: a second run in the same process must find "at" again
    at = kw.pop("at", SLOT + timedelta(hours=1))
    with pytest.raises(RuleViolation) as refused:
        usage.end(session, lab_actor, opened, at, **kw)
    assert refused.value.errors == errors
    session.expire_all()
    assert opened.is_open and booking.state == "scheduled"


@pytest.mark.parametrize("tested, received, returned", [(2, 2, 2), (0, 0, 0), (None, 5, None), (1, None, 3)])
def test_as_many_samples_tested_and_returned_as_received_is_fine(session, lab_actor, inst, user, tested, received,
                                                                 returned):
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    usage.end(session, lab_actor, opened, SLOT + timedelta(minutes=1), samples=tested, samples_received=received,
              samples_returned=returned)
    row = columns(session, opened)
    assert (row["samples"], row["samples_received"], row["samples_returned"], row["hours"]) == \
        (tested, received, returned, D("0.02"))


def test_a_use_ended_already_is_not_ended_again(session, lab_actor, inst, user):
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1))
    with pytest.raises(PolicyDenied) as refused:
        usage.end(session, lab_actor, opened, SLOT + timedelta(hours=2))
    assert (refused.value.code, refused.value.message) == ("session_closed", NOT_OPEN)


@pytest.mark.parametrize("meanwhile", [{"ended_at": SLOT + timedelta(minutes=30)}, {"hours": D("0.50")},
                                       {"ended_at": SLOT + timedelta(minutes=30), "hours": D("0.50")}])
def test_a_use_someone_else_ended_meanwhile_is_not_ended_again(session, lab_actor, inst, user, meanwhile):
    """The in-memory use still looks open; the row says otherwise: the conditional UPDATE finds nothing."""
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    session.execute(sa.update(UsageRecord).where(UsageRecord.id == opened.id).values(**meanwhile)
                    .execution_options(synchronize_session=False))
    assert opened.is_open
    with pytest.raises(PolicyDenied) as refused:
        usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1))
    assert (refused.value.code, refused.value.message) == ("session_closed", NOT_OPEN)
    assert (opened.ended_at, opened.hours) == (meanwhile.get("ended_at"), meanwhile.get("hours"))


# -- register ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("campus, direction", [(False, "teaching"), (True, "other")])
def test_registering_writes_every_column_completes_the_booking_and_prices_the_use(session, uni, lab_actor, inst, campus,
                                                                                  direction):
    org = f.customer("本校单位", category="campus") if campus else f.customer("外单位")
    someone = f.service_user(org=org, name="登记用户", project_account="KY-1" if campus else None)
    operator = f.person(session.get(Unit, uni.l11), name="登记操作员")
    booking = scheduled(session, inst, someone)
    start, end = SLOT, SLOT + timedelta(hours=2, minutes=30)
    done = usage.register(session, lab_actor, NOW, SETTINGS, booking=booking, start=start, end=end, hours="2.5",
                          samples=1, samples_received="4", samples_returned=2, operator_id=operator.id,
                          direction=direction, entered={item_id(session, inst, "耗材"): 3})
    assert columns(session, done.usage) == {
        "instrument_id": inst.id, "booking_id": booking.id, "user_id": someone.id, "started_at": start, "ended_at": end,
        "hours": D("2.50"), "samples": 1, "samples_received": 4, "samples_returned": 2, "operator_id": operator.id,
        "source": "manual", "service_type": "internal" if campus else "external", "direction": direction,
        "registered_by_id": lab_actor.user_id, "registered_at": NOW}
    assert booking.state == "completed"
    charge = done.charge
    assert (charge.created_at, charge.created_by_id, charge.usage_id) == (NOW, lab_actor.user_id, done.usage.id)
    price = D(100) if campus else D(150)
    assert sorted((line.quantity, line.unit_price) for line in charge.lines) == sorted([(D(3), price), (D(3), D(7))])


SPAN = (SLOT, SLOT + timedelta(hours=2, minutes=30))


@pytest.mark.parametrize("kw, errors", [
    ({"start": None}, {"start": START}),
    ({"end": None}, {"start": START}),
    ({"start": None, "end": None}, {"start": START}),
    ({"end": SLOT}, {"end": ORDER}),
    ({"end": SLOT - timedelta(minutes=1)}, {"end": ORDER}),
    ({"start": NOW - timedelta(hours=1), "end": NOW + timedelta(minutes=5, seconds=1)}, {"end": FUTURE}),
    ({"start": NOW - timedelta(hours=1), "end": NOW + timedelta(minutes=6)}, {"end": FUTURE}),
    ({"hours": "2.52"}, {"hours": hours_message("2.50")}),
    ({"hours": "2.48"}, {"hours": hours_message("2.50")}),
    ({"hours": "lots"}, {"hours": hours_message("2.50")}),
    ({"direction": "fun"}, {"direction": DIRECTION}),
    ({"samples": "-1"}, {"samples": COUNT}),
    ({"samples_received": "x"}, {"samples_received": COUNT}),
    ({"samples_returned": "1.5"}, {"samples_returned": COUNT}),
    ({"samples": 3, "samples_received": 2}, {"samples": TESTED}),
    ({"samples_returned": 3, "samples_received": 2}, {"samples_returned": RETURNED}),
    ({"samples": -1, "samples_received": -1, "samples_returned": -1, "direction": "", "end": SLOT},
     {"samples": COUNT, "samples_received": COUNT, "samples_returned": COUNT, "direction": DIRECTION, "end": ORDER}),
])
def test_a_bad_registration_is_refused_field_by_field_with_nothing_written(session, lab_actor, inst, user, kw, errors):
    booking = scheduled(session, inst, user)
    args = dict(start=SPAN[0], end=SPAN[1]) | kw
    with pytest.raises(RuleViolation) as refused:
        usage.register(session, lab_actor, NOW, SETTINGS, booking=booking, **args)
    assert refused.value.errors == errors
    assert uses_of(session, inst) == 0 and booking.state == "scheduled"


@pytest.mark.parametrize("kw, hours", [
    ({"hours": ""}, "2.50"),
    ({"hours": None}, "2.50"),
    ({"hours": "2.51"}, "2.50"),
    ({"hours": "2.49"}, "2.50"),
    ({"hours": 2.5}, "2.50"),
    ({"start": NOW - timedelta(hours=1), "end": NOW + timedelta(minutes=5)}, "1.08"),
    ({"start": NOW - timedelta(hours=1), "end": NOW}, "1.00"),
    ({"start": NOW - timedelta(hours=1), "end": NOW - timedelta(minutes=3)}, "0.95"),
    ({"end": SLOT + timedelta(seconds=1)}, "0.00"),
])
def test_a_registration_at_the_edges_is_taken(session, lab_actor, inst, user, kw, hours):
    booking = scheduled(session, inst, user)
    args = dict(start=SPAN[0], end=SPAN[1]) | kw
    done = usage.register(session, lab_actor, NOW, SETTINGS, booking=booking, **args)
    assert (done.usage.started_at, done.usage.ended_at, done.usage.hours) == (args["start"], args["end"], D(hours))
    assert booking.state == "completed"


@pytest.mark.parametrize("start, end, overlaps", [
    (bj(2026, 12, 7, 11, 0), bj(2026, 12, 7, 13, 0), True),
    (bj(2026, 12, 7, 9, 0), bj(2026, 12, 7, 10, 1), True),
    (bj(2026, 12, 7, 10, 30), bj(2026, 12, 7, 11, 30), True),
    (bj(2026, 12, 7, 9, 0), bj(2026, 12, 7, 13, 0), True),
    (bj(2026, 12, 7, 12, 0), bj(2026, 12, 7, 13, 0), False),  # back to back, after
    (bj(2026, 12, 7, 9, 0), bj(2026, 12, 7, 10, 0), False),  # back to back, before
    (bj(2026, 12, 7, 8, 0), bj(2026, 12, 7, 9, 0), False),  # wholly before
    (bj(2026, 12, 7, 13, 0), bj(2026, 12, 7, 14, 0), False),  # wholly after
    (bj(2026, 12, 7, 15, 0), bj(2026, 12, 7, 16, 1), True),  # over the open session from 16:00
    (bj(2026, 12, 7, 17, 0), bj(2026, 12, 7, 17, 30), True),  # within it
    (bj(2026, 12, 7, 15, 0), bj(2026, 12, 7, 16, 0), False),  # up to its start
])
def test_a_registration_over_another_use_of_the_instrument_is_refused(session, uni, lab_actor, inst, user, start, end,
                                                                      overlaps):
    other = other_instrument(session, uni)
    someone = f.service_user(name="占用者")
    for i in (inst, other):
        f.authorisation(user, i)
        f.authorisation(someone, i)
    walk_in(session, lab_actor, inst, someone, bj(2026, 12, 7, 10, 0), bj(2026, 12, 7, 12, 0))
    usage.start(session, lab_actor, bj(2026, 12, 7, 16, 0), SETTINGS, instrument_id=inst.id, user=someone)
    # another instrument's uses at the very same times are no obstacle
    walk_in(session, lab_actor, other, someone, start, end)
    if overlaps:
        with pytest.raises(PolicyDenied) as refused:
            walk_in(session, lab_actor, inst, user, start, end)
        assert (refused.value.code, refused.value.message) == ("usage_overlap", OVERLAP)
        assert uses_of(session, inst) == 2
    else:
        done = walk_in(session, lab_actor, inst, user, start, end)
        assert (done.usage.started_at, done.usage.ended_at, done.usage.booking_id) == (start, end, None)
        assert uses_of(session, inst) == 3


# -- a completed use and the authorisation ----------------------------------------------------------------------

@pytest.mark.parametrize("last_used, after", [(None, date(2026, 12, 5)), (date(2026, 12, 1), date(2026, 12, 5)),
                                              (date(2026, 12, 5), date(2026, 12, 5)),
                                              (date(2026, 12, 6), date(2026, 12, 6))])
def test_a_use_restarts_only_its_own_authorisations_lapse_clock_never_backwards(session, uni, lab_actor, inst, user,
                                                                               last_used, after):
    other = other_instrument(session, uni)
    someone = f.service_user(name="旁人")
    mine = f.authorisation(user, inst, last_used_on=last_used)
    mine_elsewhere = f.authorisation(user, other, last_used_on=date(2026, 11, 1))
    theirs = f.authorisation(someone, inst, last_used_on=date(2026, 11, 1))
    # 00:30 on 5 December in Beijing is still 4 December in UTC: the day is Beijing's
    walk_in(session, lab_actor, inst, user, bj(2026, 12, 5, 0, 30), bj(2026, 12, 5, 2, 0))
    assert mine.last_used_on == after  # the session's own object, kept in step
    session.expire_all()
    assert (mine.last_used_on, mine_elsewhere.last_used_on, theirs.last_used_on) == \
        (after, date(2026, 11, 1), date(2026, 11, 1))
    assert session.execute(sa.select(sa.func.count()).select_from(Authorisation)
                           .where(Authorisation.instrument_id.in_([inst.id, other.id]))).scalar() == 3


@pytest.mark.parametrize("hours", ["NaN", "sNaN", "Infinity", "-inf"])
def test_hours_that_are_not_a_number_are_a_field_error(session, lab_actor, inst, user, hours):
    """Decimal() reads them; the comparison with the measured span then raised (a 500 from the screen and the API)."""
    booking = scheduled(session, inst, user)
    with pytest.raises(RuleViolation) as refused:
        usage.register(session, lab_actor, NOW, SETTINGS, booking=booking, start=SPAN[0], end=SPAN[1], hours=hours)
    assert refused.value.errors == {"hours": hours_message("2.50")}


def test_a_batch_registers_each_row_as_register_would_and_answers_each_refusal_by_index(session, lab_actor, inst,
                                                                                        user, uni):
    """register_batch (the ledger import, the demo's history): each row checked on its own — the booking, the lab
    side, its state, the times and samples, overlaps with the database and with the batch's own rows (touching
    is fine) — and the accepted rows written column by column, their bookings completed and their uses priced."""
    from app.models import Charge
    from app.services.actors import DENIED_LAB

    campus = f.service_user(org=f.customer("批量校内", category="campus"), name="批量校内用户", project_account="KY-9")
    in_db = scheduled(session, inst, user, start=bj(2026, 12, 7, 14, 0), hours=1)
    usage.register(session, lab_actor, NOW, SETTINGS, booking=in_db, start=bj(2026, 12, 7, 14, 0),
                   end=bj(2026, 12, 7, 15, 0))
    first, touching_after, touching_before, overlapping_db, bad_counts, too_many_back = (
        scheduled(session, inst, user if n != 1 else campus, start=bj(2026, 12, 7, 8 + n, 0), hours=1) for n in range(6))
    cancelled = scheduled(session, inst, user, start=bj(2026, 12, 6, 9, 0), state="cancelled")
    elsewhere_lab = scheduled(session, f.bookable_instrument(session.get(Unit, uni.l21), name="别的学院仪器"), user)
    missing = session.execute(sa.select(sa.func.max(Booking.id))).scalar() + 1000
    R = usage.Registration
    entries = [
        R(first.id, bj(2026, 12, 7, 9, 0), bj(2026, 12, 7, 10, 30), 2, 3, 1, "research", lab_actor.user_id),  # 0
        R(touching_after.id, bj(2026, 12, 7, 10, 30), bj(2026, 12, 7, 11, 0), direction="teaching"),        # 1
        R(touching_before.id, bj(2026, 12, 7, 8, 0), bj(2026, 12, 7, 9, 0)),                                # 2
        R(first.id, bj(2026, 12, 7, 16, 0), bj(2026, 12, 7, 17, 0)),                                        # 3: twice
        R(missing, bj(2026, 12, 7, 16, 0), bj(2026, 12, 7, 17, 0)),                                         # 4
        R(cancelled.id, bj(2026, 12, 6, 9, 0), bj(2026, 12, 6, 10, 0)),                                     # 5
        R(overlapping_db.id, bj(2026, 12, 7, 14, 59), bj(2026, 12, 7, 15, 30)),                             # 6
        R(bad_counts.id, bj(2026, 12, 7, 16, 0), bj(2026, 12, 7, 16, 0), samples=-1),                       # 7
        R(elsewhere_lab.id, bj(2026, 12, 7, 16, 0), bj(2026, 12, 7, 17, 0)),                                # 8
        R(too_many_back.id, bj(2026, 12, 7, 16, 0), bj(2026, 12, 7, 17, 0), 1, 1, 2),                       # 9
    ]
    result = usage.register_batch(session, lab_actor, NOW, entries)
    assert result.refused == {
        3: "没有该预约，或同一预约在本批中出现了两次。", 4: "没有该预约，或同一预约在本批中出现了两次。",
        5: "预约状态为“已取消”，不能登记使用。", 6: OVERLAP, 7: f"{COUNT}；{ORDER}", 8: str(DENIED_LAB), 9: RETURNED}
    assert sorted(result.done) == [0, 1, 2]
    columns = ("instrument_id", "booking_id", "user_id", "started_at", "ended_at", "hours", "samples",
               "samples_received", "samples_returned", "source", "service_type", "direction", "operator_id",
               "registered_by_id", "registered_at")

    def written(index):
        row = session.execute(sa.select(*(getattr(UsageRecord, c) for c in columns))
                              .where(UsageRecord.id == result.done[index])).one()
        return dict(zip(columns, row))

    common = dict(instrument_id=inst.id, source="manual", registered_by_id=lab_actor.user_id)
    assert written(0) == dict(common, booking_id=first.id, user_id=user.id, started_at=bj(2026, 12, 7, 9, 0),
                              ended_at=bj(2026, 12, 7, 10, 30), hours=D("1.50"), samples=2, samples_received=3,
                              samples_returned=1, service_type="external", direction="research",
                              operator_id=lab_actor.user_id, registered_at=NOW)
    assert written(1) == dict(common, booking_id=touching_after.id, user_id=campus.id, started_at=bj(2026, 12, 7, 10, 30),
                              ended_at=bj(2026, 12, 7, 11, 0), hours=D("0.50"), samples=None, samples_received=None,
                              samples_returned=None, service_type="internal", direction="teaching", operator_id=None,
                              registered_at=NOW)
    states = dict(session.execute(sa.select(Booking.id, Booking.state).where(Booking.id.in_(
        [first.id, touching_after.id, touching_before.id, overlapping_db.id, cancelled.id]))).all())
    assert states == {first.id: "completed", touching_after.id: "completed", touching_before.id: "completed",
                      overlapping_db.id: "scheduled", cancelled.id: "cancelled"}
    charged = session.execute(sa.select(Charge.usage_id, Charge.created_at, Charge.created_by_id)
                              .where(Charge.usage_id.in_(result.done.values()))).all()
    assert sorted(charged) == sorted((use_id, NOW, lab_actor.user_id) for use_id in result.done.values())


def test_an_empty_batch_writes_nothing(session, lab_actor):
    assert usage.register_batch(session, lab_actor, NOW, []) == usage.Batch()


def test_a_batch_row_is_weighed_against_manual_uses_ended_or_still_open_not_the_terminals_records(session, lab_actor,
                                                                                                 inst, user):
    """Machine time a terminal measured is not a registered use; a manual use still open holds the instrument from
    its start on; an ended one holds it until its end, not to the batch's last hour."""
    ended = scheduled(session, inst, user, start=bj(2026, 12, 7, 14, 0), hours=1)
    usage.register(session, lab_actor, NOW, SETTINGS, booking=ended, start=bj(2026, 12, 7, 14, 0),
                   end=bj(2026, 12, 7, 15, 0))
    session.add_all([UsageRecord(instrument_id=inst.id, started_at=bj(2026, 12, 7, 11, 0), ended_at=bj(2026, 12, 7, 12, 0),
                                 hours=D(1), source="iot"),
                     UsageRecord(instrument_id=inst.id, user_id=user.id, started_at=bj(2026, 12, 7, 16, 0),
                                 source="manual")])
    session.flush()
    after_ended, over_terminal, in_open = (
        scheduled(session, inst, user, start=bj(2026, 12, 7, 8 + n, 0), hours=1) for n in range(3))
    R = usage.Registration
    result = usage.register_batch(session, lab_actor, NOW, [
        R(after_ended.id, bj(2026, 12, 7, 15, 0), bj(2026, 12, 7, 15, 30)),
        R(over_terminal.id, bj(2026, 12, 7, 11, 0), bj(2026, 12, 7, 12, 0)),
        R(in_open.id, bj(2026, 12, 7, 16, 30), bj(2026, 12, 7, 17, 0))])
    assert (sorted(result.done), result.refused) == ([0, 1], {2: OVERLAP})
