"""Check a requested workflow type and its parameters against the registry (for `execute`)."""

from __future__ import annotations

from prefect import task
from pydantic import BaseModel

from tasks.policy import task_policy
from workflowai.errors import WorkflowTypeError
from workflowai.params import ExecuteParams
from workflowai.registry import WorkflowType, get_workflow_type, validate_parameters


@task(**task_policy(timeout_seconds=30, retries=0))
def validate_workflow(params: ExecuteParams) -> tuple[WorkflowType, BaseModel]:
    """The registered type and its validated parameters; WorkflowTypeError otherwise."""
    if params.workflow_type == "execute":
        raise WorkflowTypeError("execute cannot run itself; name the workflow type to run")
    workflow_type = get_workflow_type(params.workflow_type)
    return workflow_type, validate_parameters(workflow_type.name, params.parameters)
