"""The `execute` workflow: run any registered workflow type by name, as a sub-flow.

The type and its parameters are checked against the registry first, so an unknown type or a
bad parameter fails in milliseconds with the valid types or each bad field in the message.
"""

from __future__ import annotations

import importlib
from typing import Any

from prefect import Flow, flow

from flows.results import PERSIST_JSON
from tasks.registry import validate_workflow
from workflowai.params import ExecuteParams
from workflowai.registry import WorkflowType


def _flow_of(workflow_type: WorkflowType) -> Flow[..., Any]:
    return getattr(importlib.import_module(workflow_type.module), workflow_type.function)


@flow(name="execute", flow_run_name="execute-{params.run_label}", **PERSIST_JSON)
def execute_flow(params: ExecuteParams) -> Any:
    workflow_type, sub_params = validate_workflow(params)
    return _flow_of(workflow_type)(sub_params)
