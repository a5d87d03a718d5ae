"""MQTT payload decoders (SPEC §5), one registry filled by decorator.

Each decoder is a small pure function `(topic_parts, payload: bytes, received_at) -> Reading`
that raises `Rejected(reason, terminal_id)` for anything it cannot accept. The bridge and the
tests call them alike; nothing here touches the database or the network.

- native: `instruments/<terminal_id>/status`, JSON {"state", "ts"?, "power_w"?, "seq"?}
- Tasmota plugs: `tele/<terminal_id>/SENSOR` (ENERGY.Power) and `tele/<terminal_id>/LWT`
- Shelly Gen2 plugs: `<terminal_id>/status/switch:0` (apower, output)

and what the plugs say about the power interlock's commands (SPEC §5 "MQTT commands"):
- native: a status carrying `"command_id"`
- Tasmota: `stat/<terminal_id>/POWER` (ON / OFF) and `stat/<terminal_id>/RESULT` ({"POWER": …})
- Shelly Gen2: the relay's `output` in its switch status, and the answer to our RPC on `<rpc source>/rpc`

Plug readings carry a power and no state: the ingest decides running vs idle with the
terminal's configured threshold (default 40 W).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

STATES = ("running", "idle", "off", "fault", "offline")
MAX_PAYLOAD = 4096  # bytes; a status message is a few dozen
MAX_TERMINAL_ID = 64  # IotTerminal.terminal_id
# a timestamp this far ahead of the bridge's clock is a broken terminal clock, not the future
MAX_CLOCK_AHEAD = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # "1970" and other unset clocks
# a terminal that sends a time without an offset reports Beijing time (UTC+8 all year; app/clock.py
# states the rule for the whole platform, this module stays free of the application's imports)
TERMINAL_ZONE = timezone(timedelta(hours=8))

# rejection reasons (counted per reason and terminal, shown to admins)
REASONS = ("oversized", "wrong_topic", "not_json", "wrong_type", "unknown_state", "bad_timestamp")


class Rejected(Exception):
    def __init__(self, reason: str, terminal_id: str | None = None, detail: str = ""):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.terminal_id = terminal_id
        self.detail = detail


@dataclass(frozen=True)
class Reading:
    """One decoded message. `state` is None for a plug's power reading (threshold decides);
    `reported_at` is aware UTC (the terminal's ts, or the receive time when it sent none)."""

    terminal_id: str
    state: str | None
    reported_at: datetime
    power_w: float | None = None
    seq: int | None = None
    adapter: str = "native"
    # the power interlock: the command this message answers, the relay's output, the plug's refusal
    command_id: str | None = None
    output: str | None = None  # "on" / "off"
    command_error: str | None = None

    @property
    def reports_on_command(self) -> bool:
        return self.command_id is not None or self.output is not None


_DECODERS: list[tuple[str, callable]] = []


def decoder(name):
    """Register a decoder; `match(parts)` tells whether a topic is this decoder's."""
    def register(fn):
        _DECODERS.append((name, fn))
        return fn
    return register


RPC_SOURCE = "iot-bridge"  # the `src` of the bridge's Shelly RPC calls: the answers come on `<src>/rpc`


def subscriptions(rpc_source: str = RPC_SOURCE):
    """The topic filters the bridge subscribes to (one per decoder family)."""
    return ["instruments/+/status", "tele/+/SENSOR", "tele/+/LWT", "+/status/switch:0",
            "stat/+/POWER", "stat/+/RESULT", f"{rpc_source}/rpc"]


def decode(topic: str, payload: bytes, received_at: datetime) -> Reading:
    """Decode one message or raise Rejected (its detail is the offending value or payload excerpt)."""
    parts = topic.split("/")
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("oversized", _terminal_of(parts), str(len(payload)))
    for _name, fn in _DECODERS:
        reading = fn(parts, payload, received_at)
        if reading is not None:
            return reading
    raise Rejected("wrong_topic", None, topic[:200])


def _terminal_of(parts):
    for _name, fn in _DECODERS:
        tid = getattr(fn, "terminal_of", lambda p: None)(parts)
        if tid:
            return tid
    return None


# -- helpers ---------------------------------------------------------------------------------

def _excerpt(payload):
    """The start of an offending payload, as the admin sees it (data, not a message)."""
    return payload[:100].decode("utf-8", "replace")


def _json(payload, terminal_id):
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # deep nesting within MAX_PAYLOAD overflows the parser
        raise Rejected("not_json", terminal_id, _excerpt(payload)) from e


def _terminal(terminal_id):
    if not terminal_id or len(terminal_id) > MAX_TERMINAL_ID or not terminal_id.isprintable():
        raise Rejected("wrong_topic", None, (terminal_id or "")[:80])
    return terminal_id


def _number(value, terminal_id, field):
    # bool is an int in Python; a JSON true is not a number of watts
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise Rejected("wrong_type", terminal_id, f"{field}={value!r}"[:100])
    return float(value)


def _timestamp(value, terminal_id, received_at):
    """ISO-8601 → aware UTC; absent → the receive time; unset clocks and the future refused."""
    if value is None:
        return received_at
    if not isinstance(value, str):
        raise Rejected("wrong_type", terminal_id, f"ts={value!r}"[:100])
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise Rejected("bad_timestamp", terminal_id, value[:60]) from e
    if ts.tzinfo is None:  # a terminal without a zone reports Beijing time
        ts = ts.replace(tzinfo=TERMINAL_ZONE)
    ts = ts.astimezone(timezone.utc)
    if ts < EARLIEST or ts > received_at + MAX_CLOCK_AHEAD:
        raise Rejected("bad_timestamp", terminal_id, value[:60])
    return ts


# -- the decoders ----------------------------------------------------------------------------

@decoder("native")
def native(parts, payload, received_at):
    if len(parts) != 3 or parts[0] != "instruments" or parts[2] != "status":
        return None
    tid = _terminal(parts[1])
    body = _json(payload, tid)
    if not isinstance(body, dict):
        raise Rejected("wrong_type", tid, _excerpt(payload))
    state = body.get("state")
    if not isinstance(state, str):
        raise Rejected("wrong_type", tid, f"state={state!r}"[:100])
    if state not in STATES:
        raise Rejected("unknown_state", tid, state[:40])
    seq = body.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2 ** 63):
        raise Rejected("wrong_type", tid, f"seq={seq!r}"[:100])
    command_id = body.get("command_id")
    if command_id is not None and (not isinstance(command_id, str) or not 0 < len(command_id) <= 64):
        raise Rejected("wrong_type", tid, f"command_id={command_id!r}"[:100])
    return Reading(tid, state, _timestamp(body.get("ts"), tid, received_at),
                   _number(body.get("power_w"), tid, "power_w"), seq, command_id=command_id)


native.terminal_of = lambda p: p[1] if len(p) == 3 and p[0] == "instruments" else None


@decoder("tasmota")
def tasmota(parts, payload, received_at):
    if len(parts) != 3 or parts[0] != "tele" or parts[2] not in ("SENSOR", "LWT"):
        return None
    tid = _terminal(parts[1])
    if parts[2] == "LWT":  # plain text "Online" / "Offline"
        text = payload.decode("utf-8", "replace").strip()
        if text == "Offline":
            return Reading(tid, "offline", received_at, adapter="tasmota")
        if text == "Online":
            return _alive(tid, received_at, "tasmota")
        raise Rejected("unknown_state", tid, text[:40])
    body = _json(payload, tid)
    energy = body.get("ENERGY") if isinstance(body, dict) else None
    if not isinstance(energy, dict) or "Power" not in energy:
        raise Rejected("wrong_type", tid, _excerpt(payload))
    # Tasmota's Time is local time without a zone
    return Reading(tid, None, _timestamp(body.get("Time"), tid, received_at),
                   _number(energy["Power"], tid, "Power"), adapter="tasmota")


tasmota.terminal_of = lambda p: p[1] if len(p) == 3 and p[0] == "tele" else None


def _alive(tid, received_at, adapter):
    """A plug that came back online but has not reported power yet: known alive, state unknown."""
    return Reading(tid, None, received_at, None, adapter=adapter)


@decoder("shelly")
def shelly(parts, payload, received_at):
    if len(parts) != 3 or parts[1] != "status" or parts[2] != "switch:0":
        return None
    tid = _terminal(parts[0])
    body = _json(payload, tid)
    if not isinstance(body, dict):
        raise Rejected("wrong_type", tid, _excerpt(payload))
    output = body.get("output")
    if output is not None and not isinstance(output, bool):
        raise Rejected("wrong_type", tid, f"output={output!r}"[:100])
    if "apower" not in body and output is not False:
        raise Rejected("wrong_type", tid, _excerpt(payload))
    power = _number(body.get("apower", 0), tid, "apower")
    if output is False:  # the relay is open: the instrument has no power at all
        return Reading(tid, "off", received_at, power, adapter="shelly", output="off")
    return Reading(tid, None, received_at, power, adapter="shelly", output="on" if output else None)


shelly.terminal_of = lambda p: p[0] if len(p) == 3 and p[1] == "status" else None


def _relay(text, tid):
    if not isinstance(text, str) or text.upper() not in ("ON", "OFF"):
        raise Rejected("unknown_state", tid, str(text)[:40])
    return text.lower()


@decoder("tasmota_stat")
def tasmota_stat(parts, payload, received_at):
    """The relay after a command (or a button): `stat/<t>/POWER` ON/OFF, `stat/<t>/RESULT` {"POWER": …}."""
    if len(parts) != 3 or parts[0] != "stat" or parts[2] not in ("POWER", "RESULT"):
        return None
    tid = _terminal(parts[1])
    if parts[2] == "POWER":
        output = _relay(payload.decode("utf-8", "replace").strip(), tid)
    else:
        body = _json(payload, tid)
        if not isinstance(body, dict):
            raise Rejected("wrong_type", tid, _excerpt(payload))
        power = body.get("POWER", body.get("POWER1"))
        if power is None:  # the result of some other command: the plug is alive, nothing more
            return _alive(tid, received_at, "tasmota")
        output = _relay(power, tid)
    # an open relay: the instrument has no power at all
    return Reading(tid, "off" if output == "off" else None, received_at, adapter="tasmota", output=output)


tasmota_stat.terminal_of = lambda p: p[1] if len(p) == 3 and p[0] == "stat" else None


@decoder("shelly_rpc")
def shelly_rpc(parts, payload, received_at):
    """A Shelly Gen2's answer to the bridge's RPC: {"id", "src": <device id>, "result" | "error"}."""
    if len(parts) != 2 or parts[1] != "rpc":
        return None
    body = _json(payload, None)
    if not isinstance(body, dict) or not isinstance(body.get("src"), str) or "id" not in body:
        raise Rejected("wrong_type", None, _excerpt(payload))
    tid = _terminal(body["src"])
    command_id = body["id"]
    if isinstance(command_id, bool) or not isinstance(command_id, (int, str)):
        raise Rejected("wrong_type", tid, f"id={command_id!r}"[:100])
    error = body.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else error
        return Reading(tid, None, received_at, adapter="shelly", command_id=str(command_id),
                       command_error=str(message or "error")[:200])
    if "result" not in body:
        raise Rejected("wrong_type", tid, _excerpt(payload))
    return Reading(tid, None, received_at, adapter="shelly", command_id=str(command_id))
