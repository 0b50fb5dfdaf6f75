#!/usr/bin/env bash
# Stop the node scripts/es-start.sh started (by its PID file only) and wait for it to exit.
set -euo pipefail
port=${ES_PORT:-9200}
if [[ $(id -u) == 0 ]]; then
    default_cache=/var/cache/workflowai/elasticsearch
else
    default_cache=${XDG_CACHE_HOME:-$HOME/.cache}/workflowai/elasticsearch
fi
cache=${ES_HOME:-$default_cache}
run_dir=${ES_RUN_DIR:-$cache/run-$port}
pid_file="$run_dir/es.pid"
[[ -f "$pid_file" ]] || { echo "es-stop: no node started on port $port"; exit 0; }
pid=$(cat "$pid_file")
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { echo "es-stop: pid $pid still alive, sending SIGKILL"; kill -9 "$pid"; }
fi
rm -f "$pid_file"
echo "es-stop: stopped (pid $pid)"
