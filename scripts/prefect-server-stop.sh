#!/usr/bin/env bash
# Stop the server started by prefect-server-start.sh, by its PID (SIGTERM, wait, then SIGKILL).
set -euo pipefail
pidfile=${WORKFLOWAI_HOME:-$HOME/.workflowai}/stack/server.pid
[[ -f $pidfile ]] || { echo "no prefect server pid file"; exit 0; }
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$pidfile"
echo "prefect server stopped (pid $pid)"
