"""MQTT payload decoders (issue 4): every contract shape and every bad-payload class."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from iot_bridge import decoders
from iot_bridge.decoders import Rejected, decode

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)  # when the bridge received it


def native(tid="term-0001", **body):
    return f"instruments/{tid}/status", json.dumps(body).encode()


def test_native_message_with_every_field():
    r = decode(*native(state="running", ts="2026-11-25T09:59:00+08:00", power_w=812.5, seq=7), NOW)
    assert (r.terminal_id, r.state, r.reported_at, r.power_w, r.seq) == (
        "term-0001", "running", datetime(2026, 11, 25, 1, 59, tzinfo=UTC), 812.5, 7)


def test_native_message_without_optional_fields_uses_the_receive_time():
    r = decode(*native(state="idle"), NOW)
    assert (r.state, r.reported_at, r.power_w, r.seq) == ("idle", NOW, None, None)


def test_zone_less_timestamps_are_beijing_time_and_z_is_utc():
    assert decode(*native(state="off", ts="2026-11-25T09:00:00"), NOW).reported_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert decode(*native(state="off", ts="2026-11-25T01:00:00Z"), NOW).reported_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_last_will_offline():
    assert decode("instruments/t9/status", b'{"state": "offline"}', NOW).state == "offline"


@pytest.mark.parametrize("topic,payload,reason", [
    ("instruments/t1/status", b"not json", "not_json"),
    ("instruments/t1/status", b"\xff\xfe", "not_json"),
    ("instruments/t1/status", b"[1, 2]", "wrong_type"),
    ("instruments/t1/status", b'{"state": 3}', "wrong_type"),
    ("instruments/t1/status", b'{"power_w": 3}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "power_w": "high"}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "power_w": true}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "power_w": -5}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "seq": "7"}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "seq": -1}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "running", "ts": 1700000000}', "wrong_type"),
    ("instruments/t1/status", b'{"state": "exploded"}', "unknown_state"),
    ("instruments/t1/status", b'{"state": "Running"}', "unknown_state"),
    ("instruments/t1/status", b'{"state": "idle", "ts": "1970-01-01T00:00:00Z"}', "bad_timestamp"),
    ("instruments/t1/status", b'{"state": "idle", "ts": "2027-01-01T00:00:00Z"}', "bad_timestamp"),
    ("instruments/t1/status", b'{"state": "idle", "ts": "yesterday"}', "bad_timestamp"),
    ("instruments/t1/status", b'{"state": "idle", "pad": "' + b"x" * 5000 + b'"}', "oversized"),
    ("instruments/t1/other", b'{"state": "idle"}', "wrong_topic"),
    ("instruments/t1/status/extra", b'{"state": "idle"}', "wrong_topic"),
    ("something/else", b'{"state": "idle"}', "wrong_topic"),
    ("instruments/" + "x" * 65 + "/status", b'{"state": "idle"}', "wrong_topic"),
])
def test_bad_payloads_are_refused_with_their_reason(topic, payload, reason):
    with pytest.raises(Rejected) as caught:
        decode(topic, payload, NOW)
    assert caught.value.reason == reason
    if reason not in ("wrong_topic",):
        assert caught.value.terminal_id == "t1"


def test_a_clock_a_few_minutes_ahead_is_accepted():
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert decode(*native(state="idle", ts=ahead), NOW).reported_at == NOW + timedelta(minutes=5)


def test_tasmota_sensor_and_last_will():
    body = {"Time": "2026-11-25T09:30:00", "ENERGY": {"Power": 120, "Voltage": 230}}
    r = decode("tele/plug-7/SENSOR", json.dumps(body).encode(), NOW)
    assert (r.terminal_id, r.state, r.power_w, r.reported_at, r.adapter) == (
        "plug-7", None, 120.0, datetime(2026, 11, 25, 1, 30, tzinfo=UTC), "tasmota")
    assert decode("tele/plug-7/LWT", b"Offline", NOW).state == "offline"
    online = decode("tele/plug-7/LWT", b"Online", NOW)
    assert (online.state, online.power_w) == (None, None)
    with pytest.raises(Rejected) as caught:
        decode("tele/plug-7/SENSOR", b'{"ENERGY": {}}', NOW)
    assert caught.value.reason == "wrong_type"
    with pytest.raises(Rejected):
        decode("tele/plug-7/LWT", b"Maybe", NOW)


def test_shelly_gen2_switch_status():
    r = decode("shellyplug-a1/status/switch:0", b'{"id": 0, "output": true, "apower": 35.2}', NOW)
    assert (r.terminal_id, r.state, r.power_w, r.adapter) == ("shellyplug-a1", None, 35.2, "shelly")
    assert decode("shellyplug-a1/status/switch:0", b'{"id": 0, "output": false}', NOW).state == "off"
    with pytest.raises(Rejected):
        decode("shellyplug-a1/status/switch:0", b'{"output": "on", "apower": 3}', NOW)


def test_threshold_decides_running_for_plugs():
    from app.services.iot.status import state_of

    plug = decode("tele/p/SENSOR", b'{"ENERGY": {"Power": 40}}', NOW)
    assert state_of(plug, 40.0) == "running"
    assert state_of(plug, 40.5) == "idle"
    assert state_of(decode(*native(state="fault", power_w=900), NOW), 40.0) == "fault"


def test_every_decoder_is_registered_and_subscribed():
    assert [name for name, _fn in decoders._DECODERS] == ["native", "tasmota", "shelly", "tasmota_stat", "shelly_rpc"]
    assert decoders.subscriptions() == ["instruments/+/status", "tele/+/SENSOR", "tele/+/LWT", "+/status/switch:0",
                                        "stat/+/POWER", "stat/+/RESULT", "iot-bridge/rpc"]
    assert decoders.subscriptions("lab-bridge")[-1] == "lab-bridge/rpc"


# -- what the plugs say about the interlock's commands (SPEC §5 "MQTT commands") ------------------

def test_a_native_status_names_the_command_it_answers():
    r = decode(*native(state="idle", command_id="42"), NOW)
    assert (r.state, r.command_id, r.reports_on_command) == ("idle", "42", True)
    assert not decode(*native(state="idle"), NOW).reports_on_command


@pytest.mark.parametrize("command_id", [42, "", "x" * 65, True])
def test_a_native_command_id_must_be_a_short_string(command_id):
    with pytest.raises(Rejected) as refused:
        decode(*native(state="idle", command_id=command_id), NOW)
    assert refused.value.reason == "wrong_type"


@pytest.mark.parametrize("topic, payload, state, output", [
    ("stat/p/POWER", b"ON", None, "on"),
    ("stat/p/POWER", b"OFF", "off", "off"),
    ("stat/p/RESULT", b'{"POWER": "ON"}', None, "on"),
    ("stat/p/RESULT", b'{"POWER1": "OFF"}', "off", "off"),
    ("stat/p/RESULT", b'{"Dimmer": 40}', None, None),  # another command's result: alive, nothing more
])
def test_tasmota_reports_its_relay(topic, payload, state, output):
    r = decode(topic, payload, NOW)
    assert (r.terminal_id, r.state, r.output, r.adapter, r.reported_at) == ("p", state, output, "tasmota", NOW)


@pytest.mark.parametrize("topic, payload, reason", [
    ("stat/p/POWER", b"MAYBE", "unknown_state"),
    ("stat/p/RESULT", b"[1]", "wrong_type"),
    ("stat/p/RESULT", b"{", "not_json"),
])
def test_bad_tasmota_relay_reports_are_refused(topic, payload, reason):
    with pytest.raises(Rejected) as refused:
        decode(topic, payload, NOW)
    assert (refused.value.reason, refused.value.terminal_id) == (reason, "p")


def test_a_shelly_switch_status_reports_its_relay():
    assert decode("sh-1/status/switch:0", b'{"id": 0, "output": true, "apower": 5}', NOW).output == "on"
    assert decode("sh-1/status/switch:0", b'{"id": 0, "output": false, "apower": 0}', NOW).output == "off"
    assert decode("sh-1/status/switch:0", b'{"id": 0, "apower": 5}', NOW).output is None


def test_a_shelly_rpc_answer_names_its_device_and_command():
    r = decode("iot-bridge/rpc", b'{"id": 17, "src": "sh-1", "dst": "iot-bridge", "result": {"was_on": false}}', NOW)
    assert (r.terminal_id, r.command_id, r.command_error, r.state) == ("sh-1", "17", None, None)
    r = decode("iot-bridge/rpc", b'{"id": 18, "src": "sh-1", "error": {"code": -103, "message": "busy"}}', NOW)
    assert (r.command_id, r.command_error) == ("18", "busy")


@pytest.mark.parametrize("payload", [b'{"id": 1, "result": {}}', b'{"src": "sh-1", "result": {}}',
                                     b'{"id": true, "src": "sh-1", "result": {}}', b'{"id": 1, "src": "sh-1"}', b"[]"])
def test_bad_shelly_rpc_answers_are_refused(payload):
    with pytest.raises(Rejected) as refused:
        decode("iot-bridge/rpc", payload, NOW)
    assert refused.value.reason == "wrong_type"


def test_each_adapter_encodes_its_command():
    from app.services.iot.interlock import Due
    from iot_bridge import commands

    def encode(adapter, action):
        return commands.encode(Due(7, "plug-1", adapter, action, 1), "iot-bridge")

    assert encode("native", "on") == ("instruments/plug-1/command", '{"power": "on", "id": "7"}')
    assert encode("tasmota", "off") == ("cmnd/plug-1/POWER", "OFF")
    topic, payload = encode("shelly", "on")
    assert topic == "plug-1/rpc" and json.loads(payload) == {
        "id": 7, "src": "iot-bridge", "method": "Switch.Set", "params": {"id": 0, "on": True}}
    with pytest.raises(KeyError):
        encode("zigbee", "on")
