"""Storing decoded readings (issue 4): status upsert, transitions, machine time, idempotence,
unknown terminals, refused messages. The service the bridge calls, on the real database."""
import itertools
import pathlib
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import Booking, CustomerOrg, DeviceEvent, DeviceStatus, Instrument, IotRejection, IotTerminal, ServiceUser, UsageRecord
from app.services.iot import status as iot
from iot_bridge.decoders import Reading, Rejected

from . import factories as f

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
_n = itertools.count(1)


@pytest.fixture
def bound(session, uni):
    """A terminal bound to a fresh instrument: (terminal id, instrument)."""
    tid = f"test-term-{next(_n):04d}"
    lab = session.get(Instrument, uni.inst_l11).unit
    inst = f.instrument(lab, name="物联网测试仪器", iot_terminal_id=tid)
    session.add(IotTerminal(terminal_id=tid, adapter="native", power_threshold_w=Decimal("40")))
    session.flush()
    return tid, inst


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def r(tid, state, minutes, seq=None, power=None, adapter="native"):
    return Reading(tid, state, at(minutes), power, seq, adapter)


def events(session, tid):
    return session.execute(sa.select(DeviceEvent.from_state, DeviceEvent.to_state, DeviceEvent.at)
                           .where(DeviceEvent.terminal_id == tid).order_by(DeviceEvent.at)).all()


def usage(session, instrument):
    return session.execute(sa.select(UsageRecord.started_at, UsageRecord.ended_at, UsageRecord.hours,
                                     UsageRecord.source, UsageRecord.booking_id)
                           .where(UsageRecord.instrument_id == instrument.id).order_by(UsageRecord.started_at)).all()


def test_status_events_and_machine_time_from_a_running_period(session, bound):
    tid, inst = bound
    result = iot.store_batch(session, [r(tid, "idle", 0, 1), r(tid, "running", 10, 2), r(tid, "running", 40, 3),
                                       r(tid, "idle", 100, 4)], NOW)
    assert (result.stored, result.events, result.usage_records, result.duplicates) == (4, 3, 1, 0)
    status = session.get(DeviceStatus, tid)
    assert (status.state, status.seq, status.reported_at, status.running_since) == ("idle", 4, at(100), None)
    assert events(session, tid) == [(None, "idle", at(0)), ("idle", "running", at(10)), ("running", "idle", at(100))]
    assert usage(session, inst) == [(at(10), at(100), Decimal("1.50"), "iot", None)]


@pytest.mark.parametrize("end_state", ["off", "offline", "fault"])
def test_every_end_of_running_closes_the_period(session, bound, end_state):
    tid, inst = bound
    iot.store_batch(session, [r(tid, "running", 0), r(tid, end_state, 30)], NOW)
    assert usage(session, inst) == [(at(0), at(30), Decimal("0.50"), "iot", None)]


def test_a_period_spanning_batches_is_one_record(session, bound):
    tid, inst = bound
    iot.store_batch(session, [r(tid, "running", 0, 1)], NOW)
    assert session.get(DeviceStatus, tid).running_since == at(0)
    assert usage(session, inst) == []
    iot.store_batch(session, [r(tid, "idle", 45, 2)], NOW)
    assert usage(session, inst) == [(at(0), at(45), Decimal("0.75"), "iot", None)]


def test_redelivered_messages_change_nothing_twice(session, bound):
    tid, inst = bound
    batch = [r(tid, "running", 0, 1), r(tid, "idle", 60, 2)]
    iot.store_batch(session, batch, NOW)
    again = iot.store_batch(session, batch + batch, NOW)  # the whole batch redelivered, twice
    assert (again.stored, again.duplicates, again.events, again.usage_records) == (0, 4, 0, 0)
    assert len(events(session, tid)) == 2
    assert len(usage(session, inst)) == 1


def test_a_stale_message_does_not_roll_the_status_back(session, bound):
    tid, _inst = bound
    iot.store_batch(session, [r(tid, "fault", 50, 5)], NOW)
    result = iot.store_batch(session, [r(tid, "idle", 20, 3)], NOW)
    assert result.duplicates == 1
    assert session.get(DeviceStatus, tid).state == "fault"


def test_same_timestamp_newer_seq_is_applied(session, bound):
    tid, _inst = bound
    iot.store_batch(session, [r(tid, "idle", 0, 1), r(tid, "running", 0, 2)], NOW)
    assert session.get(DeviceStatus, tid).state == "running"


def test_machine_time_is_linked_to_the_booking_in_force(session, bound):
    tid, inst = bound
    org = CustomerOrg(name="物联网测试企业", category="enterprise")
    user = ServiceUser(name="预约用户", org=org)
    session.add_all([org, user])
    session.flush()
    booking = Booking(instrument_id=inst.id, user_id=user.id, mode="self_operated", state="scheduled",
                      scheduled_start=at(-5), scheduled_end=at(120))
    other = Booking(instrument_id=inst.id, user_id=user.id, mode="self_operated", state="cancelled",
                    scheduled_start=at(200), scheduled_end=at(300))
    session.add_all([booking, other])
    session.flush()
    iot.store_batch(session, [r(tid, "running", 0), r(tid, "idle", 90), r(tid, "running", 210), r(tid, "idle", 240)], NOW)
    rows = session.execute(sa.select(UsageRecord.booking_id, UsageRecord.user_id).where(UsageRecord.instrument_id == inst.id)
                           .order_by(UsageRecord.started_at)).all()
    assert rows == [(booking.id, user.id), (None, None)]  # a cancelled booking is not in force


def test_unknown_terminal_is_recorded_for_binding_and_its_status_kept(session):
    tid = f"unknown-{next(_n):04d}"
    result = iot.store_batch(session, [r(tid, "running", 0), r(tid, "idle", 30)], NOW)
    assert result.new_terminals == [tid]
    terminal = session.execute(sa.select(IotTerminal).where(IotTerminal.terminal_id == tid)).scalar_one()
    assert terminal.instrument_id is None and terminal.first_seen == NOW
    assert session.get(DeviceStatus, tid).state == "idle"
    assert len(events(session, tid)) == 2  # kept, so machine time can be rebuilt once bound


def test_plug_power_against_the_terminal_threshold(session, bound):
    tid, inst = bound
    session.execute(sa.update(IotTerminal).where(IotTerminal.terminal_id == tid).values(power_threshold_w=Decimal("100")))
    iot.store_batch(session, [r(tid, None, 0, power=80.0, adapter="tasmota"), r(tid, None, 10, power=150.0, adapter="tasmota"),
                              r(tid, None, 70, power=99.9, adapter="tasmota")], NOW)
    assert [e.to_state for e in events(session, tid)] == ["idle", "running", "idle"]
    assert usage(session, inst)[0][:3] == (at(10), at(70), Decimal("1.00"))


def test_refused_messages_are_counted_per_reason_and_terminal(session):
    tid = f"bad-{next(_n):04d}"
    iot.record_rejections(session, [Rejected("not_json", tid, "x"), Rejected("not_json", tid, "y"),
                                    Rejected("wrong_topic", None, "a/b")], NOW)
    iot.record_rejections(session, [Rejected("not_json", tid, "z")], NOW + timedelta(minutes=1))
    row = session.get(IotRejection, ("not_json", tid))
    assert (row.count, row.first_at, row.last_at, row.last_detail) == (3, NOW, NOW + timedelta(minutes=1), "z")
    assert session.get(IotRejection, ("wrong_topic", "")).count >= 1


def test_the_storer_process_runs_the_flush_guards_without_the_app(tmp_path):
    """The bridge's storer never builds the app: it installs the rules every flush runs itself."""
    script = (
        "from sqlalchemy import event\n"
        "from sqlalchemy.orm import Session\n"
        "from iot_bridge.storer import Storer\n"
        "from app.models import Unit\n"
        "from app.services.catalogue import entry as catalogue_entry, fees\n"
        "from app.services.money import settlement\n"
        "from app.services.upkeep import changelog, records\n"
        "before = [event.contains(Session, 'before_flush', f) for f in (changelog._collect, fees._guard_published,"
        " catalogue_entry._collect, settlement._guard)] + [event.contains(Unit, 'after_insert', records._unit_inserted)]\n"
        f"Storer('sqlite:///{tmp_path / 'x.db'}', 40.0, 1.0)\n"
        "after = [event.contains(Session, 'before_flush', f) for f in (changelog._collect, fees._guard_published,"
        " catalogue_entry._collect, settlement._guard)] + [event.contains(Unit, 'after_insert', records._unit_inserted)]\n"
        "print(any(before), all(after))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert done.stdout.split() == ["False", "True"], done.stderr
