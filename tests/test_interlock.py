"""The power interlock's rules (issue 14, item 3): who may switch an instrument's plug on and when, the
outbox the bridge publishes from (supersede, retry, give up and tell the lab), the plugs' confirmations,
and the slot's end (warn, then end the use and switch off — never during a run unless the rule says so).
The bridge and the plugs against Mosquitto are in test_interlock_bridge.py."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import (Booking, BookingRule, DeviceStatus, InterlockCommand, IotTerminal, Message, PlatformUser,
                        ServiceUser, Unit, UsageRecord)
from app.services.booking import bookings as booking_service, setup as booking_setup, usage
from app.services.iot import interlock, interlock_sweep
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f

SETTINGS = booking_service.Settings()
OUTBOX = interlock.Settings(retry_seconds=30, max_attempts=3)


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


SLOT = bj(2026, 12, 7, 9, 0)


@pytest.fixture
def customer(session):
    """service_user's ServiceUser row and its account as an actor."""
    account = session.execute(sa.select(PlatformUser).filter_by(username="service_user")).scalar_one()
    return session.execute(sa.select(ServiceUser).filter_by(account_id=account.id)).scalar_one(), Actor.of(account)


def plugged(session, uni, adapter="tasmota", cuts_running=False, grace=10, name="联锁测试仪器"):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name=name, iot_terminal_id=f"plug-{name}-{adapter}")
    session.add(IotTerminal(terminal_id=inst.iot_terminal_id, instrument_id=inst.id, adapter=adapter))
    session.add(BookingRule(instrument_id=inst.id, interlock=True, interlock_grace_minutes=grace,
                            interlock_cuts_running=cuts_running))
    session.flush()
    return inst


def scheduled(session, inst, user, start=SLOT, hours=2, mode="self_operated"):
    booking = Booking(instrument_id=inst.id, user=user, mode=mode, state="scheduled", scheduled_start=start,
                      scheduled_end=start + timedelta(hours=hours), submitted_at=start - timedelta(days=2),
                      respond_by=date(2026, 12, 10))
    session.add(booking)
    session.flush()
    return booking


def commands(session, inst):
    return session.execute(sa.select(InterlockCommand.action, InterlockCommand.reason, InterlockCommand.state)
                           .where(InterlockCommand.instrument_id == inst.id).order_by(InterlockCommand.id)).all()


def test_starting_within_the_slot_switches_the_plug_on_and_ending_switches_it_off(session, uni, lab_actor, customer):
    inst, user = plugged(session, uni), customer[0]
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    opened = usage.start(session, lab_actor, SLOT - timedelta(minutes=10), SETTINGS, booking=booking)
    assert commands(session, inst) == [("on", "start", "pending")]
    command = session.execute(sa.select(InterlockCommand)).scalars().first()
    assert (command.terminal_id, command.adapter, command.booking_id, command.usage_id, command.requested_by_id) == \
        (inst.iot_terminal_id, "tasmota", booking.id, opened.id, lab_actor.user_id)
    usage.end(session, lab_actor, opened, SLOT + timedelta(minutes=95))
    # the ON never confirmed is superseded: a plug never gets a stale ON after its OFF
    assert commands(session, inst) == [("on", "start", "superseded"), ("off", "end", "pending")]


@pytest.mark.parametrize("at", [SLOT - timedelta(minutes=11), SLOT + timedelta(hours=2), SLOT + timedelta(hours=5)])
def test_outside_the_slot_and_its_grace_nothing_is_switched(session, uni, lab_actor, customer, at):
    inst, user = plugged(session, uni), customer[0]
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, lab_actor, at, SETTINGS, booking=booking)
    assert refused.value.code == "outside_slot" and "预约时段" in refused.value.message
    assert commands(session, inst) == [] and usage.open_session_of(session, inst.id) is None


@pytest.mark.parametrize("state", ["suspended", "revoked", None])
def test_a_user_without_a_valid_authorisation_gets_no_power(session, uni, lab_actor, customer, state):
    inst, user = plugged(session, uni), customer[0]
    if state:
        f.authorisation(user, inst, state=state, reason="违规操作")
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)
    assert refused.value.code == "not_authorised" and "不予通电" in refused.value.message
    assert commands(session, inst) == [] and usage.open_session_of(session, inst.id) is None


def test_the_bookings_own_user_starts_and_ends_its_use_within_its_slot(session, uni, customer):
    inst, (user, actor) = plugged(session, uni, adapter="shelly"), customer
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied):
        usage.start(session, actor, SLOT - timedelta(hours=1), SETTINGS, booking=booking)
    opened = usage.start(session, actor, SLOT + timedelta(minutes=3), SETTINGS, booking=booking)
    assert opened.registered_by_id == actor.user_id and commands(session, inst) == [("on", "start", "pending")]
    done = usage.end(session, actor, opened, SLOT + timedelta(minutes=63))
    assert done.usage.hours == 1 and booking.state == "completed" and done.charge is None  # no standard: the lab sees it
    assert commands(session, inst)[-1] == ("off", "end", "pending")


def test_another_users_booking_and_the_lab_side_only_steps_stay_refused(session, uni, customer):
    inst, (user, actor) = plugged(session, uni), customer
    other = f.service_user(name="另一用户")
    f.authorisation(other, inst)
    booking = scheduled(session, inst, other)
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, actor, SLOT, SETTINGS, booking=booking)
    assert refused.value.code == "out_of_chain"
    sample = scheduled(session, inst, user, start=SLOT + timedelta(hours=3), mode="sample")
    with pytest.raises(PolicyDenied) as refused:
        usage.start(session, actor, SLOT + timedelta(hours=3), SETTINGS, booking=sample)
    assert refused.value.code == "not_self_operated"
    assert commands(session, inst) == []


def test_an_instrument_without_interlock_switches_nothing(session, uni, lab_actor, customer):
    user = customer[0]
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="无联锁仪器", iot_terminal_id="plain-1")
    f.authorisation(user, inst)
    opened = usage.start(session, lab_actor, SLOT + timedelta(hours=8), SETTINGS, booking=scheduled(session, inst, user))
    usage.end(session, lab_actor, opened, SLOT + timedelta(hours=9))
    assert commands(session, inst) == []


def test_the_interlock_needs_a_terminal_the_bridge_can_command(session, uni):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="无终端仪器")
    with pytest.raises(RuleViolation) as refused:
        booking_setup.validate_rule(session, BookingRule(instrument_id=inst.id, interlock=True, accepts_self_operated=True,
                                                         interlock_grace_minutes=10))
    assert "物联网终端" in refused.value.errors["interlock"]
    with pytest.raises(RuleViolation) as refused:
        booking_setup.validate_rule(session, BookingRule(instrument_id=inst.id, accepts_self_operated=True,
                                                         interlock_grace_minutes=300))
    assert "240" in refused.value.errors["interlock_grace_minutes"]


def _request(session, inst, action="on", at=SLOT):
    plug = interlock.plug_of(session, inst.id)
    return interlock.request(session, plug, action, at, reason="start" if action == "on" else "end")


def test_the_outbox_hands_a_command_out_retries_it_unconfirmed_and_gives_up(session, uni):
    inst = plugged(session, uni)
    command = _request(session, inst)
    first = interlock.take_due(session, SLOT, OUTBOX)
    assert [(d.id, d.terminal_id, d.adapter, d.action, d.attempt) for d in first] == \
        [(command.id, inst.iot_terminal_id, "tasmota", "on", 1)]
    assert command.state == "sent" and command.unconfirmed
    assert interlock.take_due(session, SLOT + timedelta(seconds=29), OUTBOX) == []  # not yet due again
    assert [d.attempt for d in interlock.take_due(session, SLOT + timedelta(seconds=30), OUTBOX)] == [2]
    assert [d.attempt for d in interlock.take_due(session, SLOT + timedelta(seconds=60), OUTBOX)] == [3]
    assert interlock.take_due(session, SLOT + timedelta(seconds=90), OUTBOX) == []
    assert (command.state, command.attempts) == ("failed", 3)
    # the lab is told, once
    for minute in (2, 3):
        result = interlock_sweep.sweep(session, SLOT + timedelta(minutes=minute))
    assert result.failures_told == 0
    told = session.execute(sa.select(Message.subject, Message.body).where(Message.kind == "interlock_failed")).all()
    assert len(told) == 1 and "插座未确认指令" in told[0].subject and "3 次" in told[0].body


@pytest.mark.parametrize("adapter, report, confirms", [
    ("native", {"command_id": "{id}"}, True),
    ("shelly", {"command_id": "{id}"}, True),
    ("shelly", {"command_id": "{id}", "error": "relay busy"}, False),
    ("tasmota", {"output": "on"}, True),
    ("tasmota", {"output": "off"}, False),  # the relay says the opposite: not confirmed
    ("native", {"command_id": "999999"}, False),  # another command's id
])
def test_the_plugs_report_confirms_its_command(session, uni, adapter, report, confirms):
    inst = plugged(session, uni, adapter=adapter)
    command = _request(session, inst)
    interlock.take_due(session, SLOT, OUTBOX)
    values = {k: v.format(id=command.id) for k, v in report.items()}
    done = interlock.confirm(session, [interlock.Report(inst.iot_terminal_id, values.get("command_id"), values.get("output"),
                                                        values.get("error"))], SLOT + timedelta(seconds=2))
    assert done == int(confirms)
    assert command.state == ("confirmed" if confirms else "sent")
    if "error" in report:
        assert command.detail == "relay busy"
    # another terminal's report confirms nothing of this one
    assert interlock.confirm(session, [interlock.Report("someone-else", str(command.id), "on")], SLOT) == 0


def test_a_report_does_not_confirm_a_command_never_sent(session, uni):
    inst = plugged(session, uni)
    command = _request(session, inst)
    assert interlock.confirm(session, [interlock.Report(inst.iot_terminal_id, output="on")], SLOT) == 0
    assert command.state == "pending"


def _open_use(session, uni, customer, lab_actor, **rule):
    inst, user = plugged(session, uni, **rule), customer[0]
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    return inst, booking, usage.start(session, lab_actor, SLOT, SETTINGS, booking=booking)


def _report_state(session, inst, state, at):
    session.merge(DeviceStatus(terminal_id=inst.iot_terminal_id, state=state, reported_at=at, received_at=at))
    session.flush()


def test_the_slots_end_warns_then_ends_the_use_and_switches_off(session, uni, customer, lab_actor):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor)
    end = booking.scheduled_end
    assert interlock_sweep.sweep(session, end - timedelta(minutes=1)).warned == 0  # the slot goes on
    for minute in (0, 5):  # within the grace: warned, once each
        result = interlock_sweep.sweep(session, end + timedelta(minutes=minute))
        assert (result.warned, result.ended) == (1, [])
    warnings = session.execute(sa.select(Message.body).where(Message.kind == "interlock_warning")).scalars().all()
    assert len(warnings) == 2 and any("11:10 断开" in w for w in warnings), warnings  # the user and the lab
    result = interlock_sweep.sweep(session, end + timedelta(minutes=10))
    assert result.ended == [opened.id]
    assert opened.ended_at == end + timedelta(minutes=10) and booking.state == "completed"
    assert commands(session, inst)[-1] == ("off", "slot_end", "pending")
    assert interlock_sweep.sweep(session, end + timedelta(minutes=11)).ended == []  # nothing open any more


def test_the_slots_end_never_cuts_a_run_unless_the_rule_says_so(session, uni, customer, lab_actor):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor)
    cut = booking.scheduled_end + timedelta(minutes=10)
    _report_state(session, inst, "running", cut - timedelta(minutes=1))
    result = interlock_sweep.sweep(session, cut)
    assert (result.held, result.ended) == (1, []) and opened.is_open
    held = session.execute(sa.select(Message.body).where(Message.kind == "interlock_held")).scalars().all()
    assert held and "运行结束后再断电" in held[0]
    _report_state(session, inst, "idle", cut + timedelta(minutes=4))  # the run ended
    assert interlock_sweep.sweep(session, cut + timedelta(minutes=5)).ended == [opened.id]


def test_a_rule_that_cuts_runs_cuts_at_the_slots_end_plus_grace(session, uni, customer, lab_actor):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor, cuts_running=True, grace=0)
    _report_state(session, inst, "running", booking.scheduled_end)
    assert interlock_sweep.sweep(session, booking.scheduled_end).ended == [opened.id]
    assert commands(session, inst)[-1] == ("off", "slot_end", "pending")


def test_a_stale_running_report_does_not_hold_the_power(session, uni, customer, lab_actor):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor)
    cut = booking.scheduled_end + timedelta(minutes=10)
    _report_state(session, inst, "running", cut - timedelta(minutes=30))  # silent for 30 min: offline
    assert interlock_sweep.sweep(session, cut).ended == [opened.id]


def test_a_booking_in_use_cannot_be_cancelled(session, uni, customer, lab_actor):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor)
    for kwargs in ({"user": customer[0]}, {"actor": lab_actor}):
        with pytest.raises(PolicyDenied) as refused:
            booking_service.cancel(session, booking, SLOT + timedelta(minutes=5), **kwargs)
        assert refused.value.code == "in_use" and "结束使用" in refused.value.message
    assert booking.state == "scheduled" and opened.is_open


def test_a_command_the_bridge_never_sent_is_given_up_and_the_lab_told(session, uni):
    inst = plugged(session, uni)
    command = _request(session, inst)  # the bridge is down: nothing takes it
    patience = timedelta(seconds=OUTBOX.retry_seconds * OUTBOX.max_attempts + 60)
    interlock_sweep.sweep(session, SLOT + patience - timedelta(seconds=1), settings=OUTBOX)
    session.refresh(command)
    assert command.state == "pending"
    result = interlock_sweep.sweep(session, SLOT + patience + timedelta(seconds=1), settings=OUTBOX)
    session.refresh(command)
    assert command.state == "failed" and command.attempts == 0 and result.failures_told == 1
    body = session.execute(sa.select(Message.body).where(Message.kind == "interlock_failed")).scalar()
    assert "始终未发出" in body and "桥接程序" in body


def test_a_relay_report_confirms_only_the_latest_command_and_only_after_it_was_sent(session, uni):
    inst = plugged(session, uni)
    old = _request(session, inst)
    for at in (SLOT, SLOT + timedelta(seconds=30), SLOT + timedelta(seconds=60)):
        interlock.take_due(session, at, OUTBOX)
    interlock.take_due(session, SLOT + timedelta(seconds=90), OUTBOX)
    session.refresh(old)
    assert old.state == "failed"
    new = _request(session, inst, at=SLOT + timedelta(minutes=5))
    interlock.take_due(session, SLOT + timedelta(minutes=5), OUTBOX)
    report = interlock.Report(inst.iot_terminal_id, output="on", at=SLOT + timedelta(minutes=4))  # from before it went
    assert interlock.confirm(session, [report], SLOT + timedelta(minutes=5)) == 0
    report = interlock.Report(inst.iot_terminal_id, output="on", at=SLOT + timedelta(minutes=5, seconds=2))
    assert interlock.confirm(session, [report], SLOT + timedelta(minutes=5, seconds=2)) == 1
    session.refresh(old), session.refresh(new)
    assert (old.state, new.state) == ("failed", "confirmed")  # the old one stays as it was: never confirmed


@pytest.mark.parametrize("command_id", ["99999999999999999999999", "-1", "0", "abc"])
def test_a_report_naming_an_impossible_command_confirms_nothing(session, uni, command_id):
    inst = plugged(session, uni, adapter="native")
    _request(session, inst)
    interlock.take_due(session, SLOT, OUTBOX)
    assert interlock.confirm(session, [interlock.Report(inst.iot_terminal_id, command_id)], SLOT) == 0


def test_a_command_superseded_while_the_bridge_takes_it_is_never_published(session, uni, elsewhere):
    """Right after the bridge's storer read the due commands, the lab's OFF supersedes this ON in a request of
    its own. PostgreSQL: the storer's row lock keeps the other writer out until the storer is done. SQLite, which
    takes no lock on a read: the storer's write is conditional on the row still being unconfirmed, so the
    superseded ON is not handed out (a plain write would publish a stale ON after the OFF)."""
    inst = plugged(session, uni, name="出队竞争仪器")
    command = _request(session, inst)
    session.commit()
    try:  # committed: removed whatever happens, or later outbox tests see its command
        engine, seen = session.get_bind(), []
        supersede = sa.update(InterlockCommand).where(InterlockCommand.id == command.id).values(state="superseded")

        def meanwhile(_conn, _cursor, statement, *_args):
            if not seen and statement.lstrip().upper().startswith("SELECT") and "interlock_command" in statement:
                try:
                    seen.append(elsewhere(supersede, lock_timeout_ms=300))
                except sa.exc.OperationalError:
                    seen.append("locked")

        sa.event.listen(engine, "after_cursor_execute", meanwhile)
        try:
            due = interlock.take_due(session, SLOT, OUTBOX)
        finally:
            sa.event.remove(engine, "after_cursor_execute", meanwhile)
        session.commit()
        state = session.execute(sa.select(InterlockCommand.state).where(InterlockCommand.id == command.id)).scalar()
        if engine.dialect.name == "postgresql":
            assert seen == ["locked"] and [d.id for d in due] == [command.id] and state == "sent"
        else:
            assert seen == [1] and due == [] and state == "superseded"
    finally:
        session.rollback()
        f.remove_instruments([inst.id])


def test_two_ends_of_one_use_end_it_once(session, uni, customer, lab_actor, elsewhere):
    inst, booking, opened = _open_use(session, uni, customer, lab_actor)
    session.commit()
    try:
        assert opened.is_open  # this session holds the open use
        # someone else (the sweep, the user) ends it meanwhile, in a request of its own
        assert elsewhere(sa.update(UsageRecord).where(UsageRecord.id == opened.id).values(
            ended_at=SLOT + timedelta(hours=1), hours=1)) == 1
        assert opened.is_open  # still, as this session read it
        with pytest.raises(PolicyDenied) as refused:
            usage.end(session, lab_actor, opened, SLOT + timedelta(hours=1, minutes=5))
        assert refused.value.code == "session_closed"
        session.rollback()
        assert session.get(UsageRecord, opened.id).ended_at == SLOT + timedelta(hours=1)  # the first end stands
    finally:
        session.rollback()
        f.remove_instruments([inst.id])


@pytest.mark.parametrize("terminal_id", ["plug/1", "plug+", "plug#", "plug 1"])
def test_a_terminal_id_that_is_not_one_topic_level_cannot_be_interlocked(session, uni, terminal_id):
    from iot_bridge import commands

    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="编号不当仪器", iot_terminal_id=terminal_id)
    with pytest.raises(RuleViolation) as refused:
        booking_setup.validate_rule(session, BookingRule(instrument_id=inst.id, interlock=True, accepts_self_operated=True,
                                                         interlock_grace_minutes=10))
    assert "终端编号" in refused.value.errors["interlock"]
    with pytest.raises(ValueError):
        commands.encode(interlock.Due(1, terminal_id, "tasmota", "on", 1), "iot-bridge")


def test_two_starts_at_once_open_one_session(session, uni, customer, lab_actor, just_before):
    """开始使用 pressed twice at once (the lab, and the user on its booking's page): both pass the "already in use?"
    check; the partial unique index keeps one open session and the other is refused "in use" (issue 21, §3)."""
    from sqlalchemy.orm import Session

    inst, user = plugged(session, uni, name="并发开始仪器"), customer[0]
    f.authorisation(user, inst)
    booking = scheduled(session, inst, user)
    session.commit()
    other = Session(session.get_bind())

    def the_other_request():
        usage.start(other, lab_actor, SLOT, SETTINGS, booking=other.get(Booking, booking.id))
        other.commit()

    try:
        with just_before("INSERT INTO usage_record", the_other_request), pytest.raises(PolicyDenied) as refused:
            usage.start(session, customer[1], SLOT + timedelta(seconds=1), SETTINGS, booking=booking)
        assert refused.value.code == "session_open"
        session.rollback()
        open_sessions = session.execute(sa.select(sa.func.count()).select_from(UsageRecord).where(
            UsageRecord.instrument_id == inst.id, UsageRecord.ended_at.is_(None))).scalar()
        assert open_sessions == 1
    finally:
        other.close()
        session.rollback()
        f.remove_instruments([inst.id])


# -- the rules in detail (what a mutation of interlock.py would change) --------------------------------

def _bound(session, uni, name, adapter=None):
    """An instrument bound to terminal `name`; its IotTerminal row says `adapter` (None: no row at all)."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name=name, iot_terminal_id=name)
    if adapter is not None:
        session.add(IotTerminal(terminal_id=name, instrument_id=inst.id, adapter=adapter))
    session.flush()
    return inst


def test_a_terminal_the_bridge_can_command_passes_the_interlock_check(session, uni):
    unknown = _bound(session, uni, "zigbee-plug_1", adapter="zigbee")  # the first row: a wrong lookup finds it
    for adapter in ("tasmota", "shelly", "native"):
        assert interlock.check_terminal(session, _bound(session, uni, f"plug-{adapter}_1", adapter).id) is None
    # a terminal id bound without a terminal row yet: a native terminal, which the bridge commands
    assert interlock.check_terminal(session, _bound(session, uni, "plug-unregistered").id) is None
    assert str(interlock.check_terminal(session, unknown.id)) == \
        "桥接程序无法控制该终端：电源联锁需要 Tasmota 或 Shelly Gen2 插座，或原生终端。"


def test_starting_outside_the_slot_says_the_slot_and_its_grace_in_chinese(session):
    booking = Booking(scheduled_start=SLOT, scheduled_end=SLOT + timedelta(hours=2))
    with pytest.raises(PolicyDenied) as refused:
        interlock.require_within_slot(booking, timedelta(minutes=10), SLOT - timedelta(minutes=10, seconds=1))
    assert refused.value.code == "outside_slot"
    assert refused.value.message == "只能在预约时段内（2026-12-07 09:00–11:00，可提前 10 分钟）开始使用并通电。"


def test_a_use_without_a_scheduled_slot_has_no_start_window(session):
    # no booking, or one without a slot (a sample booking not yet scheduled): no slot restricts the start
    for booking in (None, Booking(scheduled_start=None, scheduled_end=None)):
        assert interlock.start_window(booking, timedelta(minutes=10)) is None
        interlock.require_within_slot(booking, timedelta(minutes=10), SLOT)  # not refused
    booking = Booking(scheduled_start=SLOT, scheduled_end=SLOT + timedelta(hours=2))
    assert interlock.start_window(booking, timedelta(minutes=10)) == (SLOT - timedelta(minutes=10), SLOT + timedelta(hours=2))


def _command(session, inst, terminal_id, state="pending", at=SLOT, action="on", attempts=0, booking=None):
    """A command written straight into the outbox (as many as a test needs, on terminals of its choosing)."""
    command = InterlockCommand(instrument_id=inst.id, terminal_id=terminal_id, adapter="tasmota", action=action,
                               reason="start", state=state, created_at=at, attempts=attempts, next_attempt_at=at,
                               booking=booking)
    session.add(command)
    return command


def test_the_outbox_takes_at_most_200_due_commands_at_a_time_in_queue_order(session, uni):
    inst = plugged(session, uni)
    # the later a command was queued, the earlier it fell due: the order is the queue's, not the due time's
    queued = [_command(session, inst, f"bulk-{n}", at=SLOT - timedelta(seconds=n)) for n in range(201)]
    session.flush()
    due = interlock.take_due(session, SLOT, OUTBOX)
    assert [d.id for d in due] == [c.id for c in queued[:200]]
    assert (queued[200].state, queued[200].attempts) == ("pending", 0)  # the next round takes it
    assert [d.id for d in interlock.take_due(session, SLOT, OUTBOX)] == [queued[200].id]


def test_the_outbox_takes_every_due_command_of_every_plug_once(session, uni):
    inst = plugged(session, uni)
    first, second = _command(session, inst, "plug-a"), _command(session, inst, "plug-b")
    later = _command(session, inst, "plug-c", at=SLOT + timedelta(seconds=1))  # not yet due
    session.flush()
    due = interlock.take_due(session, SLOT, OUTBOX)
    assert [(d.id, d.terminal_id, d.attempt) for d in due] == [(first.id, "plug-a", 1), (second.id, "plug-b", 1)]
    assert (first.state, second.state, later.state, later.attempts) == ("sent", "sent", "pending", 0)


def test_the_outbox_counts_its_batch_over_unconfirmed_commands_only(session, uni):
    inst = plugged(session, uni)
    for state in ("superseded", "confirmed", "failed"):  # queued first, but never to be published
        _command(session, inst, f"plug-{state}", state=state)
    pending = _command(session, inst, "plug-pending")
    session.flush()
    assert [d.id for d in interlock.take_due(session, SLOT, OUTBOX, limit=1)] == [pending.id]


def test_a_command_past_its_attempts_does_not_hold_up_the_ones_after_it(session, uni):
    inst = plugged(session, uni)
    exhausted = _command(session, inst, "plug-exhausted", attempts=OUTBOX.max_attempts, state="sent")
    fresh = _command(session, inst, "plug-fresh")
    session.flush()
    assert [d.id for d in interlock.take_due(session, SLOT, OUTBOX)] == [fresh.id]
    assert (exhausted.state, exhausted.attempts, fresh.state) == ("failed", OUTBOX.max_attempts, "sent")


def test_each_publication_records_when_it_went_and_when_the_next_is_due(session, uni):
    inst = plugged(session, uni)
    command = _request(session, inst)
    interlock.take_due(session, SLOT, OUTBOX)
    assert (command.first_sent_at, command.sent_at, command.next_attempt_at) == \
        (SLOT, SLOT, SLOT + timedelta(seconds=30))
    interlock.take_due(session, SLOT + timedelta(seconds=31), OUTBOX)
    assert (command.first_sent_at, command.sent_at, command.next_attempt_at, command.attempts) == \
        (SLOT, SLOT + timedelta(seconds=31), SLOT + timedelta(seconds=61), 2)


def test_a_command_another_bridge_took_meanwhile_is_not_published_twice(session, uni, elsewhere):
    """Right after this bridge instance read the due commands, another one (SQLite takes no lock on the read)
    publishes the same command: this one's write, conditional on the attempts it read, takes nothing."""
    inst = plugged(session, uni, name="双桥竞争仪器")
    command = _request(session, inst)
    session.commit()
    try:  # committed: removed whatever happens, or later outbox tests see its command
        engine, seen = session.get_bind(), []
        taken = sa.update(InterlockCommand).where(InterlockCommand.id == command.id).values(
            state="sent", attempts=1, sent_at=SLOT, first_sent_at=SLOT, next_attempt_at=SLOT + timedelta(seconds=30))

        def meanwhile(_conn, _cursor, statement, *_args):
            if not seen and statement.lstrip().upper().startswith("SELECT") and "interlock_command" in statement:
                try:
                    seen.append(elsewhere(taken, lock_timeout_ms=300))
                except sa.exc.OperationalError:
                    seen.append("locked")

        sa.event.listen(engine, "after_cursor_execute", meanwhile)
        try:
            due = interlock.take_due(session, SLOT, OUTBOX)
        finally:
            sa.event.remove(engine, "after_cursor_execute", meanwhile)
        session.commit()
        attempts = session.execute(sa.select(InterlockCommand.attempts).where(InterlockCommand.id == command.id)).scalar()
        if engine.dialect.name == "postgresql":  # the row lock kept the other instance out: this one took it
            assert seen == ["locked"] and [d.id for d in due] == [command.id] and attempts == 1
        else:
            assert seen == [1] and due == [] and attempts == 1
    finally:
        session.rollback()
        f.remove_instruments([inst.id])


def test_each_report_of_a_batch_is_weighed_on_its_own(session, uni):
    insts = [plugged(session, uni, name=f"批量确认仪器{n}") for n in range(4)]
    refused, opposite, named, relayed = (_request(session, inst) for inst in insts)
    interlock.take_due(session, SLOT, OUTBOX)
    words = "relay busy; " * 30  # longer than the 200 characters kept
    reports = [interlock.Report("no-such-plug", output="on"),  # no command: skipped
               interlock.Report(refused.terminal_id, str(refused.id), error=words),  # refused: kept unconfirmed
               interlock.Report(opposite.terminal_id, output="off"),  # the opposite output: not this command
               interlock.Report(named.terminal_id, str(named.id)),
               interlock.Report(relayed.terminal_id, output="on", at=SLOT + timedelta(seconds=1))]
    assert interlock.confirm(session, reports, SLOT + timedelta(seconds=2)) == 2
    assert [c.state for c in (refused, opposite, named, relayed)] == ["sent", "sent", "confirmed", "confirmed"]
    assert refused.detail == words[:200] and named.confirmed_at == relayed.confirmed_at == SLOT + timedelta(seconds=2)


def test_a_plugs_late_confirmation_of_a_command_given_up_on_still_confirms_it(session, uni):
    inst = plugged(session, uni, adapter="native")
    command = _request(session, inst)
    for seconds in (0, 30, 60, 90):
        interlock.take_due(session, SLOT + timedelta(seconds=seconds), OUTBOX)
    assert command.state == "failed"
    assert interlock.confirm(session, [interlock.Report(inst.iot_terminal_id, str(command.id))],
                             SLOT + timedelta(minutes=3)) == 1
    assert (command.state, command.confirmed_at) == ("confirmed", SLOT + timedelta(minutes=3))


@pytest.mark.parametrize("action", ["on", "off"])
def test_a_relay_report_from_the_instant_the_command_went_confirms_it(session, uni, action):
    inst = plugged(session, uni)
    command = _request(session, inst, action)
    interlock.take_due(session, SLOT, OUTBOX)
    report = interlock.Report(inst.iot_terminal_id, output=action, at=SLOT)
    assert interlock.confirm(session, [report], SLOT) == 1 and command.state == "confirmed"


def test_a_relay_report_confirms_its_own_plugs_command_not_a_later_one_of_another_plug(session, uni):
    mine, theirs = plugged(session, uni, name="本插座仪器"), plugged(session, uni, name="他插座仪器")
    command = _request(session, mine)
    interlock.take_due(session, SLOT, OUTBOX)
    later = _request(session, theirs, at=SLOT + timedelta(seconds=1))  # newer, still pending
    report = interlock.Report(mine.iot_terminal_id, output="on", at=SLOT + timedelta(seconds=1))
    assert interlock.confirm(session, [report], SLOT + timedelta(seconds=1)) == 1
    assert (command.state, later.state) == ("confirmed", "pending")


def test_the_outbox_settings_come_from_the_interlock_config_as_integers():
    assert interlock.Settings.of({}) == interlock.Settings(retry_seconds=30, max_attempts=20)
    config = {"INTERLOCK": {"retry_seconds": "45", "max_attempts": 5, "broker": "mqtt://x"}, "interlock": {}}
    assert interlock.Settings.of(config) == interlock.Settings(retry_seconds=45, max_attempts=5)  # the rest ignored


def test_the_plug_of_an_interlocked_instrument_is_its_own_terminal_with_its_rules_grace(session, uni):
    other = plugged(session, uni, adapter="tasmota", name="别的联锁仪器")
    inst = plugged(session, uni, adapter="shelly", cuts_running=True, grace=15)
    assert interlock.plug_of(session, inst.id) == \
        interlock.Plug(inst.id, inst.iot_terminal_id, "shelly", timedelta(minutes=15), True)
    assert interlock.plug_of(session, other.id) == \
        interlock.Plug(other.id, other.iot_terminal_id, "tasmota", timedelta(minutes=10), False)
    unregistered = _bound(session, uni, "plug-no-row")  # bound, no terminal row yet: a native terminal
    session.add(BookingRule(instrument_id=unregistered.id, interlock=True, interlock_grace_minutes=0,
                            interlock_cuts_running=False))
    session.flush()
    assert interlock.plug_of(session, unregistered.id) == \
        interlock.Plug(unregistered.id, "plug-no-row", "native", timedelta(0), False)


def test_no_plug_without_an_interlock_rule_or_without_a_terminal(session, uni):
    plugged(session, uni, name="另一台联锁仪器")  # an interlocked instrument elsewhere changes nothing here
    switched_off = _bound(session, uni, "plug-interlock-off", adapter="tasmota")
    session.add(BookingRule(instrument_id=switched_off.id, interlock=False, interlock_grace_minutes=10))
    no_terminal = f.bookable_instrument(session.get(Unit, uni.l11), name="无终端联锁仪器")
    session.add(BookingRule(instrument_id=no_terminal.id, interlock=True, interlock_grace_minutes=10))
    no_rule = _bound(session, uni, "plug-no-rule", adapter="tasmota")
    session.flush()
    assert [interlock.plug_of(session, i.id) for i in (switched_off, no_terminal, no_rule)] == [None, None, None]


def test_a_new_command_supersedes_only_its_own_plugs_unconfirmed_commands(session, uni):
    mine, theirs = plugged(session, uni, name="本插座仪器"), plugged(session, uni, name="他插座仪器")
    done = {state: _command(session, mine, mine.iot_terminal_id, state=state) for state in ("confirmed", "failed")}
    queued, sent = _request(session, mine), _command(session, mine, mine.iot_terminal_id, state="sent")
    elsewhere_queued = _request(session, theirs)
    command = _request(session, mine, "off", at=SLOT + timedelta(minutes=1))
    # the session's own objects say so at once, without a reload
    assert (queued.state, sent.state, done["confirmed"].state, done["failed"].state, elsewhere_queued.state) == \
        ("superseded", "superseded", "confirmed", "failed", "pending")
    assert (command.state, command.action, command.reason, command.attempts, command.created_at,
            command.next_attempt_at, command.first_sent_at) == \
        ("pending", "off", "end", 0, SLOT + timedelta(minutes=1), SLOT + timedelta(minutes=1), None)


def test_a_command_never_sent_is_given_up_only_once_its_patience_has_passed(session, uni):
    inst = plugged(session, uni)
    patience = timedelta(seconds=OUTBOX.retry_seconds * OUTBOX.max_attempts + 60)
    for state in ("confirmed", "superseded"):  # older still, but no longer waiting
        _command(session, inst, f"plug-{state}", state=state, at=SLOT - timedelta(hours=1))
    command = _request(session, inst)
    assert interlock.give_up_unsent(session, SLOT + patience, OUTBOX) == 0  # exactly its patience: not yet
    assert command.state == "pending"
    assert interlock.give_up_unsent(session, SLOT + patience + timedelta(microseconds=1), OUTBOX) == 1
    states = session.execute(sa.select(InterlockCommand.terminal_id, InterlockCommand.state)
                             .where(InterlockCommand.instrument_id == inst.id).order_by(InterlockCommand.id)).all()
    assert states == [("plug-confirmed", "confirmed"), ("plug-superseded", "superseded"),
                      (inst.iot_terminal_id, "failed")]


def test_a_bookings_page_shows_its_ten_latest_commands_newest_first(session, uni, customer):
    inst, user = plugged(session, uni), customer[0]
    booking, other = scheduled(session, inst, user), scheduled(session, inst, user, start=SLOT + timedelta(days=1))
    mine = [_command(session, inst, f"plug-{n}", state="confirmed", booking=booking) for n in range(11)]
    _command(session, inst, "plug-other", state="confirmed", booking=other)
    session.flush()
    assert interlock.latest_for_booking(session, booking.id) == mine[:0:-1]
