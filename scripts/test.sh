#!/usr/bin/env bash
# The one test command (README, `make test`, `.ci/run`): install everything from the repo's own
# files, start a real Elasticsearch node on 127.0.0.1, lint, run every test, stop the node.
#
#   scripts/test.sh                 everything (unit, contract on both backends, integration)
#   scripts/test.sh -m "not integration"   quick run without servers (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test

export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export WORKFLOWAI_ARTIFACTS_DIR="${WORKFLOWAI_ARTIFACTS_DIR:-$PWD/.cache/artifacts}"

.venv/bin/ruff check .
.venv/bin/ruff format --check .

started_es=0
if [[ " $* " != *"not integration"* ]]; then
    scripts/es-start.sh
    started_es=1
fi
stop_es() { (( started_es )) && scripts/es-stop.sh || true; }
trap stop_es EXIT

.venv/bin/python -m pytest "$@"
