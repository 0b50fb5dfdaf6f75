#!/usr/bin/env bash
# The main job on the embedded default: install, then analyze an example failing CI log against
# the starter knowledge base (indexed on first use into ~/.workflowai/kb.sqlite), in one
# process: Prefect's ephemeral mode, SQLite, local models. Prints the report as Markdown.
#
#   scripts/demo.sh [LOG] [extra analyze-log options, e.g. --baseline PASSING_LOG --format json]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
log=${1:-examples/github-actions-pytest.log}
shift || true
exec .venv/bin/workflowai analyze-log "$log" "$@"
