#!/usr/bin/env bash
# Stop the llama.cpp server that llama-server-start.sh started, by the PID it recorded.
set -euo pipefail
cd "$(dirname "$0")/.."

pid_file=${LLAMA_PID_FILE:-${LLAMA_RUN_DIR:-.cache}/llama-server.pid}
if [[ ! -f "$pid_file" ]]; then
    echo "llama-server: not running (no $pid_file)"
    exit 0
fi
pid=$(cat "$pid_file")
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    echo "llama-server: stopped (pid $pid)"
else
    echo "llama-server: pid $pid was not running"
fi
rm -f "$pid_file"
