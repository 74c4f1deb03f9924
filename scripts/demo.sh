#!/usr/bin/env bash
# Runs soketi, Django's runserver and the outbox worker side by side until
# interrupted (Ctrl-C or SIGTERM), then stops them by their own process ids.
# Called by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
SOKETI_PORT=${SOKETI_PORT:-6001}
# The same values as example_project/settings.py defaults and .env.example.
APP_ID=${PUSHER_APP_ID:-424242}
APP_KEY=${PUSHER_KEY:-demo-key}
APP_SECRET=${PUSHER_SECRET:-demo-secret-7ad3773142a6692b25b8}
WEBHOOK_URL="http://127.0.0.1:${PORT}/api/v1/pusher/webhook"

export SOKETI_PORT
export SOKETI_DEFAULT_APP_ID="$APP_ID" SOKETI_DEFAULT_APP_KEY="$APP_KEY" SOKETI_DEFAULT_APP_SECRET="$APP_SECRET"
export SOKETI_DEFAULT_APP_USER_AUTHENTICATION=${SOKETI_DEFAULT_APP_USER_AUTHENTICATION:-true}
export SOKETI_EVENT_MAX_SIZE_IN_KB=${SOKETI_EVENT_MAX_SIZE_IN_KB:-10}
export SOKETI_SHUTDOWN_GRACE_PERIOD=${SOKETI_SHUTDOWN_GRACE_PERIOD:-100}
# Loopback only: soketi's node-discover would otherwise broadcast hello packets to
# 255.255.255.255 every 500 ms.
export SOKETI_HOST=${SOKETI_HOST:-127.0.0.1} SOKETI_METRICS_HOST=${SOKETI_METRICS_HOST:-127.0.0.1}
export SOKETI_CLUSTER_HOST=${SOKETI_CLUSTER_HOST:-127.0.0.1}
export SOKETI_CLUSTER_UNICAST_ADDRESSES=${SOKETI_CLUSTER_UNICAST_ADDRESSES:-127.0.0.1}
export SOKETI_CLUSTER_PORT=${SOKETI_CLUSTER_PORT:-$((SOKETI_PORT + 5000))}
export SOKETI_METRICS_SERVER_PORT=${SOKETI_METRICS_SERVER_PORT:-$((SOKETI_PORT + 3600))}
export SOKETI_DEFAULT_APP_WEBHOOKS=${SOKETI_DEFAULT_APP_WEBHOOKS:-"[{\"url\":\"${WEBHOOK_URL}\",\"event_types\":[\"channel_occupied\",\"channel_vacated\",\"member_added\",\"member_removed\",\"cache_miss\"]}]"}
# Django talks to this soketi.
export PUSHER_HOST=${PUSHER_HOST:-127.0.0.1} PUSHER_PORT="$SOKETI_PORT" PUSHER_SSL=${PUSHER_SSL:-false}
export PUSHER_APP_ID="$APP_ID" PUSHER_KEY="$APP_KEY" PUSHER_SECRET="$APP_SECRET"

# The demo's shared cache (CACHE_URL, default the database cache) needs its table
# before any server uses it; `make demo` has made it already (idempotent).
"$PY" manage.py createcachetable

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping demo..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit 0
}
trap stop INT TERM EXIT

node node_modules/@soketi/soketi/bin/server.js start &
pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${SOKETI_PORT}/ready" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "soketi failed to start"; exit 1; }
  sleep 0.1
done

"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)

# The outbox worker: delivers what the in-process first try could not (server down,
# process killed) with retries; stops gracefully on SIGTERM.
"$PY" manage.py realtime_deliver &
pids+=($!)

echo
echo "  Demo:    http://127.0.0.1:${PORT}/   (users admin/teacher/student/student2, password demo1234)"
echo "  Admin:   http://127.0.0.1:${PORT}/admin/"
echo "  Health:  http://127.0.0.1:${PORT}/health"
echo "  soketi:  ws://127.0.0.1:${SOKETI_PORT} (app ${APP_ID}, key ${APP_KEY})"
echo "  Worker:  manage.py realtime_deliver (outbox retries)"
echo "  Ctrl-C stops all three."
echo
wait -n "${pids[@]}" || true
stop
