"""Work-pool base job templates that run callers cannot bend, and the check that says so.

Anyone who may create a flow run may also pass job variables, and a worker fills the pool's
template with them. Prefect's default process template declares `command`, `env` and
`working_dir`, so a caller could run any command on a worker, or point
WORKFLOWAI_ELASTICSEARCH__URL at their own host and receive the worker's credentials. Two
places decide what a caller can change, and both are closed here:

- the server validates a run's job variables against the template's `variables` schema, but
  only on some routes (creating a run from a deployment, updating one); `additionalProperties:
  false` with no forbidden property makes it refuse `command`/`env`/`image` with a 422;
- the worker (prefect/workers/base.py, `from_template_and_values`) fills every `{{ name }}`
  placeholder of `job_configuration` with the caller's value, declared or not, and merges a
  caller's `env` into a dict-valued `job_configuration.env`. `POST /flow_runs/` stores job
  variables without that validation, so the template itself must give them nowhere to go: no
  placeholder outside the allow-list below and no `env` in `job_configuration`.

The settings a run needs are therefore not job variables: result persistence is set on the
flows (`flows/results.py`), WORKFLOWAI_* and credentials come from the worker's environment
(process pools) or from literal env entries and Secrets in the Job manifest (Kubernetes).
This module is pure data (no Prefect import): setup, doctor and tests use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# job variables a run caller may set: sizes and timeouts, nothing that picks code, image,
# environment, identity, storage or where the job runs
CALLER_VARIABLES: frozenset[str] = frozenset(
    {
        "name",
        "stream_output",
        "cpu_request",
        "memory_request",
        "memory_limit",
        "gpu_count",
        "finished_job_ttl",
        "job_watch_timeout_seconds",
        "pod_watch_timeout_seconds",
    }
)
_PLACEHOLDER = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")


def locked_process_template() -> dict[str, Any]:
    """The base job template of WorkflowAI's process pools: nothing for a caller to set.

    The worker then runs its own `python -m prefect.engine` in a temporary folder with its own
    environment (plus Prefect's run variables); the deployment's pull step changes into the
    repository folder.
    """
    return {
        "job_configuration": {"stream_output": True},
        "variables": {"type": "object", "properties": {}, "additionalProperties": False},
    }


def template_problems(template: dict[str, Any] | None) -> list[str]:
    """What a run caller could change through `template`; empty when it is locked."""
    if not template:
        return ["no base job template: the worker's defaults take any job variable"]
    problems: list[str] = []
    variables = template.get("variables") or {}
    declared = set((variables.get("properties") or {}).keys())
    exposed = sorted(declared - CALLER_VARIABLES)
    if exposed:
        problems.append(f"declares job variables {', '.join(exposed)}")
    if variables.get("additionalProperties") is not False:
        problems.append("accepts undeclared job variables (additionalProperties is not false)")
    config = template.get("job_configuration") or {}
    used = set(_PLACEHOLDER.findall(json.dumps(config)))
    filled = sorted(name for name in used - CALLER_VARIABLES if not name.startswith("prefect."))
    if filled:
        problems.append(f"fills {', '.join(filled)} from job variables")
    if isinstance(config.get("env"), dict):
        problems.append("job_configuration.env is a dict, which the worker merges a run's env into")
    return problems
