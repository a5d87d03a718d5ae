"""The MQTT side under Hypothesis (issue 21, §2): whatever arrives on a topic the bridge subscribes to —
arbitrary bytes, deep JSON, huge numbers, wrong types, odd terminal ids — decodes to a reading or to a
recorded rejection, never to an exception out of the bridge; and whatever a plug reports about a command
(any id, any output, any error) confirms at most that terminal's own command, never crashes the storer."""
import json
import math
from datetime import datetime, timedelta, timezone

import hypothesis
from hypothesis import strategies as st

from app.models import InterlockCommand
from app.services.iot import interlock
from iot_bridge import decoders
from iot_bridge.decoders import Reading, Rejected, decode

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
REASON = "start"
SETTINGS = hypothesis.settings(max_examples=300, derandomize=True, database=None, deadline=None)

TERMINALS = st.one_of(st.sampled_from(["term-0001", "plug-1", "shelly-a1"]), st.text(max_size=70))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
              st.sampled_from(["running", "idle", "off", "fault", "offline", "ON", "OFF", "2026-12-07T10:00:00",
                               "1970-01-01T00:00:00Z", "9999-12-31T23:59:59+08:00"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["state", "ts", "power_w", "seq", "command_id", "id", "src", "result", "error", "output", "apower",
         "ENERGY", "Power", "POWER", "POWER1", "message", "x"]), inner, max_size=5)),
    max_leaves=20)


def payloads():
    deep = st.sampled_from([2, 100, 999, 1500, 2040]).map(lambda n: b"[" * n + b"]" * n)  # the parser overflows past ~1000
    return st.one_of(st.binary(max_size=300), JSON_VALUES.map(lambda v: json.dumps(v).encode()), deep,
                     st.sampled_from([b"ON", b"OFF", b"on", b"", b"\xff\xfe", b"Online", b"Offline", b"nan"]))


def topics():
    return st.one_of(
        TERMINALS.map(lambda t: f"instruments/{t}/status"), TERMINALS.map(lambda t: f"tele/{t}/SENSOR"),
        TERMINALS.map(lambda t: f"tele/{t}/LWT"), TERMINALS.map(lambda t: f"{t}/status/switch:0"),
        TERMINALS.map(lambda t: f"stat/{t}/POWER"), TERMINALS.map(lambda t: f"stat/{t}/RESULT"),
        st.just(f"{decoders.RPC_SOURCE}/rpc"), st.text(max_size=40))


@SETTINGS
@hypothesis.given(topic=topics(), payload=payloads())
def test_any_message_decodes_to_a_reading_or_a_rejection(topic, payload):
    try:
        reading = decode(topic, payload, NOW)
    except Rejected as rejection:
        assert rejection.reason in decoders.REASONS
        return
    assert isinstance(reading, Reading)
    assert reading.terminal_id and reading.terminal_id.isprintable() and len(reading.terminal_id) <= decoders.MAX_TERMINAL_ID
    assert reading.state in (None, "running", "idle", "off", "fault", "offline")
    assert reading.power_w is None or (math.isfinite(reading.power_w) and reading.power_w >= 0)
    assert reading.reported_at.tzinfo is not None
    assert reading.output in (None, "on", "off")


def test_deep_json_is_refused_not_raised():
    """The case Hypothesis found: 2,000 nested arrays fit in the payload limit and overflowed the parser."""
    rejection = None
    try:
        decode("instruments/term-0001/status", b"[" * 2000 + b"]" * 2000, NOW)
    except Rejected as refused:
        rejection = refused
    assert rejection is not None and rejection.reason == "not_json"


@hypothesis.settings(max_examples=150, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(reports=st.lists(st.builds(
    interlock.Report, terminal_id=st.sampled_from(["fz-plug", "other-plug"]),
    command_id=st.one_of(st.none(), st.text(max_size=30), st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str)),
    output=st.one_of(st.none(), st.sampled_from(["on", "off"]), st.text(max_size=5)),
    error=st.one_of(st.none(), st.text(max_size=300)),
    at=st.one_of(st.none(), st.just(NOW - timedelta(minutes=5)), st.just(NOW + timedelta(minutes=5)))), max_size=6))
def test_any_report_confirms_at_most_its_own_terminals_command(session, uni, reports):
    """Whatever the plugs say, the storer's confirmation runs through (in a transaction rolled back after each
    example): another terminal's report never confirms this plug's command."""
    command = InterlockCommand(instrument_id=uni.inst_l11, terminal_id="fz-plug", adapter="native", action="on",
                               state="sent", reason=REASON, first_sent_at=NOW - timedelta(minutes=9),
                               sent_at=NOW - timedelta(minutes=9), next_attempt_at=NOW, attempts=1)
    session.add(command)
    session.flush()
    try:
        confirmed = interlock.confirm(session, reports + [interlock.Report("other-plug", str(command.id), "on")], NOW)
        assert 0 <= confirmed <= len(reports)
        if command.state == "confirmed":
            assert any(r.terminal_id == "fz-plug" for r in reports)
    finally:
        session.rollback()
