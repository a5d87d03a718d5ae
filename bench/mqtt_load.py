"""Terminal load for the IoT bridge benchmark: publisher processes sending SPEC §5 status
messages, QoS 1, round robin over their terminals."""
from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from datetime import datetime, timezone


def publish_load(port, tids, per_terminal, first_seq, rate, ready, go):
    """One publisher process: per_terminal messages for each terminal, round robin, QoS 1;
    `rate` msg/s for this process (0: as fast as the broker takes them)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.set()
    go.wait()
    started = time.perf_counter()
    sent = 0
    for i in range(per_terminal):
        seq = first_seq + i
        state = "running" if (seq // 4) % 2 else "idle"
        ts = datetime.now(timezone.utc).isoformat()
        for tid in tids:
            client.publish(f"instruments/{tid}/status", json.dumps({"state": state, "ts": ts, "seq": seq}), qos=1)
            sent += 1
            while len(client._out_messages) > 5000:  # keep paho's own queue bounded
                time.sleep(0.001)
            if rate and sent % 100 == 0:
                ahead = sent / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
    deadline = time.monotonic() + 300
    while client._out_messages and time.monotonic() < deadline:  # every PUBACK in
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()


def publish(port, tids, per_terminal, first_seq, count, rate=0, wait=True):
    """Publish from `count` processes; returns the processes (joined already when `wait`)."""
    chunks = [tids[i::count] for i in range(count)]
    # spawned, not forked: the latency phase forks while its probe threads hold paho's locks
    context = multiprocessing.get_context("spawn")
    ready = [context.Event() for _ in chunks]
    go = context.Event()
    procs = [context.Process(target=publish_load, args=(port, c, per_terminal, first_seq, rate / count, r, go))
             for c, r in zip(chunks, ready)]
    for p in procs:
        p.start()
    for r in ready:
        r.wait(30)
    go.set()
    if wait:
        for p in procs:
            p.join()
    return procs


