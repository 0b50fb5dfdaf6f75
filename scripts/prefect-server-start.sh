#!/usr/bin/env bash
# Start a Prefect server on 127.0.0.1 in the background, its data under $WORKFLOWAI_HOME/stack.
#   scripts/prefect-server-start.sh [PORT]      (default 4200); stop with prefect-server-stop.sh
# PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://... switches it to PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-4200}
home=${WORKFLOWAI_HOME:-$HOME/.workflowai}/stack
mkdir -p "$home/logs"
pidfile=$home/server.pid
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "prefect server already running (pid $(cat "$pidfile"))"; exit 0
fi
PREFECT_HOME=$home/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 \
PREFECT_UI_API_URL=http://127.0.0.1:$port/api \
    nohup .venv/bin/prefect server start --host 127.0.0.1 --port "$port" \
    >"$home/logs/server.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1; then
        echo "prefect server up: http://127.0.0.1:$port (pid $(cat "$pidfile"))"
        echo "export PREFECT_API_URL=http://127.0.0.1:$port/api"
        exit 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$home/logs/server.log"; exit 1; }
    sleep 0.5
done
echo "prefect server did not become healthy; see $home/logs/server.log" >&2
exit 1
