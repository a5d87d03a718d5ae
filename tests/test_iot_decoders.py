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
    from app.services.iot import state_of

    plug = decode("tele/p/SENSOR", b'{"ENERGY": {"Power": 40}}', NOW)
    assert state_of(plug, 40.0) == "running"
    assert state_of(plug, 40.5) == "idle"
    assert state_of(decode(*native(state="fault", power_w=900), NOW), 40.0) == "fault"


def test_every_decoder_is_registered_and_subscribed():
    assert [name for name, _fn in decoders._DECODERS] == ["native", "tasmota", "shelly"]
    assert decoders.subscriptions() == ["instruments/+/status", "tele/+/SENSOR", "tele/+/LWT", "+/status/switch:0"]
