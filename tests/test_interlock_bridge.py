"""The power interlock through a real Mosquitto and a real `python -m iot_bridge` (issue 14, item 3):
the bridge publishes each adapter's command from the outbox at QoS 1 and the plug's own report
confirms it; a silent plug gets the command again and is left unconfirmed, never assumed; the demo
simulator's plugs obey; and the slot's end switches the plug off through the scheduled task."""
import json
import queue
import sys
import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from app import clock
from app.extensions import db
from app.models import Booking, BookingRule, DeviceStatus, Instrument, InterlockCommand, IotTerminal, UsageRecord
from app.services.iot import interlock

from . import factories as f
from .processes import Process, environment
from .test_iot_bridge import _cleanup, _live, broker  # noqa: F401  (fixtures: a private Mosquitto, clean-up)
from .test_iot_bridge import BridgeProcess, wait_until
from .mqtt_broker import PrivateMosquitto

# the bridge and the simulator are other processes, on the machine's clock
pytestmark = [pytest.mark.skipif(not PrivateMosquitto.available(), reason="needs the mosquitto binary"),
              pytest.mark.real_clock]


class Plug:
    """A plug on the broker, as a test drives it: it records every command it is sent and, unless
    silent, answers as its kind of plug does."""

    def __init__(self, url, terminal_id, adapter, silent=False):
        self.terminal_id, self.adapter, self.silent = terminal_id, adapter, silent
        self.received = queue.Queue()
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-plug-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        topic = {"native": f"instruments/{terminal_id}/command", "tasmota": f"cmnd/{terminal_id}/POWER",
                 "shelly": f"{terminal_id}/rpc"}[adapter]
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        _live.append(self)

    def _on_message(self, _client, _userdata, message):
        payload = message.payload.decode()
        self.received.put((message.topic, payload, message.qos, message.retain))
        if self.silent:
            return
        if self.adapter == "tasmota":
            self.client.publish(f"stat/{self.terminal_id}/POWER", payload, qos=1)
        elif self.adapter == "shelly":
            call = json.loads(payload)
            self.client.publish(f"{call['src']}/rpc", json.dumps({"id": call["id"], "src": self.terminal_id,
                                                                  "dst": call["src"], "result": {"was_on": False}}), qos=1)
        else:
            call = json.loads(payload)
            self.client.publish(f"instruments/{self.terminal_id}/status",
                                json.dumps({"state": "idle" if call["power"] == "on" else "off", "command_id": call["id"]}),
                                qos=1)

    def next(self, timeout=20):
        return self.received.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def plugged(app, uni):
    """An interlocked instrument whose terminal is a plug of the given adapter (committed: the bridge
    is another process), removed with all it gathered afterwards."""
    made = []

    def make(adapter, tid=None):
        with app.app_context():
            lab = db.session.get(Instrument, uni.inst_l11).unit
            tid = tid or f"plug-{adapter}-{uuid.uuid4().hex[:6]}"
            inst = f.bookable_instrument(lab, name="联锁端到端仪器", iot_terminal_id=tid)
            db.session.add(IotTerminal(terminal_id=tid, instrument_id=inst.id, adapter=adapter))
            db.session.add(BookingRule(instrument_id=inst.id, interlock=True, interlock_grace_minutes=0))
            db.session.commit()
            made.append(inst.id)
            return inst.id, tid

    yield make
    with app.app_context():
        f.remove_instruments(made)
        db.session.remove()


def request(app, instrument_id, action):
    with app.app_context():
        command = interlock.request(db.session, interlock.plug_of(db.session, instrument_id), action, clock.now(),
                                    reason="start" if action == "on" else "end")
        db.session.commit()
        return command.id


def command_state(command_id):
    db.session.rollback()
    command = db.session.get(InterlockCommand, command_id)
    return command.state, command.attempts


@pytest.mark.parametrize("adapter, topic, payload", [
    ("tasmota", "cmnd/{t}/POWER", "ON"),
    ("shelly", "{t}/rpc", {"id": "{id}", "src": "iot-bridge", "method": "Switch.Set", "params": {"id": 0, "on": True}}),
    ("native", "instruments/{t}/command", {"power": "on", "id": "{id}"}),
])
def test_a_command_is_published_to_the_plug_and_confirmed_by_its_report(app, broker, database_url, plugged,
                                                                        adapter, topic, payload):
    instrument_id, tid = plugged(adapter)
    plug = Plug(broker.url, tid, adapter)
    bridge = BridgeProcess(broker.url, database_url, None, "--outbox-interval", "0.2").start()
    command_id = request(app, instrument_id, "on")
    got_topic, got_payload, qos, retained = plug.next()
    assert (got_topic, qos, retained) == (topic.format(t=tid), 1, False)
    if isinstance(payload, dict):
        expected = json.loads(json.dumps(payload).replace('"{id}"', str(command_id) if adapter == "shelly" else f'"{command_id}"'))
        assert json.loads(got_payload) == expected
    else:
        assert got_payload == payload
    with app.app_context():
        assert wait_until(lambda: command_state(command_id) == ("confirmed", 1)), command_state(command_id)
    bridge.wait_for("command published")
    assert plug.received.empty()  # confirmed: never sent again


def test_a_silent_plug_gets_the_command_again_and_it_stays_unconfirmed(app, broker, database_url, plugged):
    instrument_id, tid = plugged("tasmota")
    plug = Plug(broker.url, tid, "tasmota", silent=True)
    BridgeProcess(broker.url, database_url, None, "--outbox-interval", "0.2", "--command-retry-s", "1",
                  "--command-attempts", "3").start()
    command_id = request(app, instrument_id, "off")
    sent = [plug.next() for _ in range(3)]
    assert [payload for _topic, payload, _qos, _retain in sent] == ["OFF"] * 3
    with app.app_context():
        assert wait_until(lambda: command_state(command_id) == ("failed", 3), timeout=15), command_state(command_id)
    with pytest.raises(queue.Empty):
        plug.next(timeout=2.5)  # given up: the lab is told (the sweep), nothing more is sent


@pytest.mark.parametrize("adapter", ["tasmota", "shelly", "native"])
def test_the_simulators_plugs_obey(app, broker, database_url, plugged, adapter, tmp_path):
    prefix = f"sim-{adapter}-{uuid.uuid4().hex[:6]}-"
    instrument_id, tid = plugged(adapter, f"{prefix}0001")  # the simulator's first terminal
    simulator = Process([sys.executable, "-m", "iot_bridge.simulate", "--mqtt-url", broker.url,
                         "--terminals", "1", "--prefix", prefix, "--adapter", adapter, "--heartbeat", "1", "--seed", "3"],
                        environment(database_url), tmp_path / "simulator.log")
    simulator.start()
    simulator.close = simulator.stop  # closed with the test's other processes
    _live.append(simulator)
    BridgeProcess(broker.url, database_url, None, "--outbox-interval", "0.2", "--max-latency-ms", "50").start()
    off = request(app, instrument_id, "off")
    with app.app_context():
        assert wait_until(lambda: command_state(off)[0] == "confirmed"), command_state(off)
        if adapter != "tasmota":  # a Tasmota's telemetry is its power only: an open relay reads as idle
            # switched off, the plug reports the instrument off until switched on
            assert wait_until(lambda: (db.session.get(DeviceStatus, tid) or DeviceStatus()).state == "off")
    on = request(app, instrument_id, "on")
    with app.app_context():
        assert wait_until(lambda: command_state(on)[0] == "confirmed"), command_state(on)
        db.session.rollback()
        assert db.session.get(InterlockCommand, off).state == "confirmed"  # confirmed before ON was asked for


def test_the_slots_end_switches_the_plug_off_through_the_scheduled_task(app, broker, database_url, plugged):
    from app import tasks

    instrument_id, tid = plugged("tasmota")
    plug = Plug(broker.url, tid, "tasmota")
    BridgeProcess(broker.url, database_url, None, "--outbox-interval", "0.2").start()
    now = clock.now()
    with app.app_context():
        user = f.service_user(name="联锁用户")
        booking = Booking(instrument_id=instrument_id, user=user, mode="self_operated", state="scheduled",
                          scheduled_start=now - timedelta(hours=2), scheduled_end=now - timedelta(minutes=1),
                          submitted_at=now - timedelta(days=2), respond_by=clock.today() + timedelta(days=3))
        db.session.add(booking)
        db.session.flush()
        db.session.add(UsageRecord(instrument_id=instrument_id, booking_id=booking.id, user_id=user.id, source="manual",
                                   started_at=now - timedelta(hours=2), service_type="external", direction="research"))
        db.session.commit()
        booking_id = booking.id
        tasks.end_interlocked_slots.call_local()  # what the consumer runs every minute
        db.session.rollback()
        assert db.session.get(Booking, booking_id).state == "completed"
    assert plug.next()[:2] == (f"cmnd/{tid}/POWER", "OFF")
    with app.app_context():
        command_id = db.session.execute(sa.select(InterlockCommand.id).where(InterlockCommand.booking_id == booking_id)).scalar()
        assert wait_until(lambda: command_state(command_id)[0] == "confirmed")
        assert db.session.get(InterlockCommand, command_id).reason == "slot_end"
