#!/usr/bin/env bash
# One command to prepare a Prefect server for WorkflowAI (idempotent, safe to re-run):
# work pools `cpu` and `gpu` (process type), the `gpu` tag concurrency limit, the Prefect
# variable with the repository folder, and every deployment in prefect.yaml.
#
#   PREFECT_API_URL=http://127.0.0.1:4200/api deployments/setup.sh [--gpu-limit N] [--no-deploy]
#
# The deployment names' <env> comes from WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX (default
# "default"), the reindex schedule from WORKFLOWAI_REINDEX__CRON / __TIMEZONE.
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
exec .venv/bin/workflowai setup "$@"
