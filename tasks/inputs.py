"""Worker paths a run may read: local runs read anything, deployment runs only allowed roots.

A *local run* is a flow called in-process by the user's own CLI (`workflowai analyze-log`,
`index`, `reindex`) on their own machine: it reads what the user can read already, so no root
applies. A *deployment run* is one a worker executes for a caller of the Prefect API (or the
UI, a schedule, `trigger`): its paths are caller input and must lie under
`settings.inputs.allowed_roots` (`workflowai.allowed_paths`). A run counts as a deployment run
when the worker's process marker `PREFECT__FLOW_RUN_ID` is set, when the flow run has a
deployment, or when the root of its flow-run tree has one (a subflow of `execute` or
`analyze-run` has no deployment of its own). When in doubt it is a deployment run.
"""

from __future__ import annotations

import os
from pathlib import Path
from uuid import UUID

from workflowai.allowed_paths import resolve_all_allowed, resolve_allowed
from workflowai.settings import Settings


def is_deployment_run() -> bool:
    """True when the current flow run (or the root of its tree) came from a deployment."""
    if os.environ.get("PREFECT__FLOW_RUN_ID"):
        return True
    from prefect.runtime import deployment, flow_run

    if deployment.id is not None:
        return True
    if flow_run.id is None or flow_run.parent_flow_run_id is None:
        return False
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        root = client.read_flow_run(UUID(str(flow_run.root_flow_run_id)))
    return root.deployment_id is not None


def worker_path(path: Path, settings: Settings) -> Path:
    """`path` as given (local run) or resolved and checked against the allowed roots."""
    if not is_deployment_run():
        return path
    return resolve_allowed(path, settings.inputs.allowed_roots)


def worker_paths(paths: list[Path], settings: Settings) -> list[Path]:
    if not paths or not is_deployment_run():
        return paths
    return resolve_all_allowed(paths, settings.inputs.allowed_roots)
