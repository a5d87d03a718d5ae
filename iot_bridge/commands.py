"""Plug commands of the power interlock (SPEC §5 "MQTT commands"), one encoder per adapter, registered
by decorator like the decoders. Each is a pure function of a due command (app/services/interlock.Due):
(topic, payload) to publish at QoS 1, never retained (a retained ON would switch a plug on again
whenever it reconnects)."""
from __future__ import annotations

import json

_ENCODERS: dict = {}


def encoder(adapter):
    def register(fn):
        _ENCODERS[adapter] = fn
        return fn
    return register


def encode(due, rpc_source: str) -> tuple[str, str]:
    """The publication of one command; KeyError for an adapter the bridge cannot command, ValueError for a
    terminal id that is not one topic level (a wildcard or a separator would publish elsewhere, or nowhere)."""
    encoder = _ENCODERS[due.adapter]
    tid = due.terminal_id
    if not tid or not tid.isprintable() or set(tid) & {"+", "#", "/", " "}:
        raise ValueError(f"terminal id {tid!r} is not one MQTT topic level")
    return encoder(due, rpc_source)


@encoder("native")
def native(due, _rpc_source):
    return f"instruments/{due.terminal_id}/command", json.dumps({"power": due.action, "id": str(due.id)})


@encoder("tasmota")
def tasmota(due, _rpc_source):
    return f"cmnd/{due.terminal_id}/POWER", due.action.upper()


@encoder("shelly")
def shelly(due, rpc_source):
    return f"{due.terminal_id}/rpc", json.dumps({"id": due.id, "src": rpc_source, "method": "Switch.Set",
                                                 "params": {"id": 0, "on": due.action == "on"}})
