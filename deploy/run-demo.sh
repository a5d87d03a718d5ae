#!/usr/bin/env bash
# `make run`: the web app, the task consumer (report exports, scheduled jobs), the IoT bridge and
# the demo terminal simulator, plus an embedded MQTT broker (amqtt, MQTT 3.1.1) when MQTT_URL is
# unset. Ctrl-C stops all of them.
set -euo pipefail
BIN=${BIN:-.venv/bin}
BROKER_BIN=${BROKER_BIN:-.venv-broker/bin}
PORT=${PORT:-8080}
WORKERS=${WORKERS:-2}
INSTANCE=${INSTANCE_PATH:-instance}
children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

protocol=5
if [ -z "${MQTT_URL:-}" ]; then
  mqtt_port=${EMBEDDED_MQTT_PORT:-1884}
  mkdir -p "$INSTANCE"
  cat > "$INSTANCE/amqtt.yaml" <<YAML
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:${mqtt_port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
  amqtt.plugins.sys.broker.BrokerSysPlugin:
    sys_interval: 0
YAML
  "$BROKER_BIN/amqtt" -c "$INSTANCE/amqtt.yaml" > "$INSTANCE/amqtt.log" 2>&1 &
  children+=($!)
  export MQTT_URL="mqtt://127.0.0.1:${mqtt_port}"
  protocol=3.1.1  # amqtt speaks MQTT 3.1.1 only
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/${mqtt_port}") 2>/dev/null && break
    sleep 0.2
  done
  echo "Embedded MQTT broker on ${MQTT_URL} (log: $INSTANCE/amqtt.log)"
fi

# the task queue: SQLite under $INSTANCE unless REDIS_URL is set (app/tasks.py; its consumer starts from app/worker.py)
"$BIN/huey_consumer" app.worker.huey --workers 2 --worker-type thread --delay 0.1 --max-delay 2 \
  > "$INSTANCE/tasks.log" 2>&1 &
children+=($!)
echo "Task consumer running (log: $INSTANCE/tasks.log)"
"$BIN/python" -m iot_bridge --protocol "$protocol" --client-id "demo-bridge-$(hostname)" 2> "$INSTANCE/iot_bridge.log" &
children+=($!)
"$BIN/python" -m iot_bridge.simulate --from-database 2> "$INSTANCE/simulator.log" &
children+=($!)
echo "IoT bridge and demo terminals running (logs: $INSTANCE/iot_bridge.log, $INSTANCE/simulator.log)"
echo "Serving http://127.0.0.1:${PORT}  (demo accounts: see README)"
"$BIN/gunicorn" --workers "$WORKERS" --bind "127.0.0.1:${PORT}" --access-logfile - 'app:create_app()' &
children+=($!)
wait -n
