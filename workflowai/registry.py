"""The workflow-type registry: type name -> parameter model and flow entrypoint.

Pure data (no Prefect import): the CLI lists it, `flows/execute.py` dispatches on it and
`prefect.yaml` deploys the same entrypoints. Entrypoints read `flows/<module>.py:<function>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from workflowai.errors import WorkflowTypeError
from workflowai.params import (
    AnalyzeLogParams,
    AnalyzeRunParams,
    ConfirmCauseParams,
    ExecuteParams,
    FailureDigestParams,
    GenerateParams,
    IndexParams,
    RecordSuccessParams,
    ReindexParams,
    SearchParams,
)


@dataclass(frozen=True)
class WorkflowType:
    name: str
    params_model: type[BaseModel]
    entrypoint: str
    description: str

    @property
    def module(self) -> str:
        """The importable module of the entrypoint (`flows/index.py:f` -> `flows.index`)."""
        path = self.entrypoint.split(":", 1)[0]
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.split(":", 1)[1]


WORKFLOW_TYPES: dict[str, WorkflowType] = {
    t.name: t
    for t in (
        WorkflowType(
            "analyze-log",
            AnalyzeLogParams,
            "flows/analyze_log.py:analyze_log_flow",
            "Find why a CI/CD job failed: evidence, redaction, retrieval, report.",
        ),
        WorkflowType(
            "analyze-run",
            AnalyzeRunParams,
            "flows/analyze_run.py:analyze_run_flow",
            "Analyze the failed jobs of one CI run: one report, jobs grouped by cause.",
        ),
        WorkflowType(
            "execute",
            ExecuteParams,
            "flows/execute.py:execute_flow",
            "Run any registered workflow type by name with validated parameters.",
        ),
        WorkflowType(
            "index",
            IndexParams,
            "flows/index.py:index_flow",
            "Index files or folders into the knowledge base (skips unchanged, can prune).",
        ),
        WorkflowType(
            "reindex",
            ReindexParams,
            "flows/reindex.py:reindex_flow",
            "Rebuild the index as a new version and swap it in, or roll back.",
        ),
        WorkflowType(
            "search",
            SearchParams,
            "flows/search.py:search_flow",
            "Search the knowledge base (hybrid, semantic or keyword).",
        ),
        WorkflowType(
            "generate",
            GenerateParams,
            "flows/generate.py:generate_flow",
            "Generate text with the configured model.",
        ),
        WorkflowType(
            "record-success",
            RecordSuccessParams,
            "flows/history.py:record_success_flow",
            "Record a passing run: failures that passed on the same commit and job are flaky.",
        ),
        WorkflowType(
            "confirm-cause",
            ConfirmCauseParams,
            "flows/history.py:confirm_cause_flow",
            "Confirm a failure's cause (a knowledge-base entry cited first) or reject a match.",
        ),
        WorkflowType(
            "failure-digest",
            FailureDigestParams,
            "flows/history.py:failure_digest_flow",
            "The most frequent failures of a period: table and daily-count chart artifacts.",
        ),
    )
}


def get_workflow_type(name: str) -> WorkflowType:
    """The registered type called `name`; raises WorkflowTypeError listing the valid ones."""
    try:
        return WORKFLOW_TYPES[name]
    except KeyError:
        valid = ", ".join(sorted(WORKFLOW_TYPES))
        raise WorkflowTypeError(f"unknown workflow type {name!r}; valid types: {valid}") from None


def validate_parameters(name: str, parameters: Mapping[str, Any] | BaseModel) -> BaseModel:
    """Parameters of type `name` as its model; raises WorkflowTypeError naming each bad field."""
    workflow_type = get_workflow_type(name)
    if isinstance(parameters, workflow_type.params_model):
        return parameters
    raw = parameters.model_dump() if isinstance(parameters, BaseModel) else dict(parameters)
    try:
        return workflow_type.params_model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(parameters)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise WorkflowTypeError(f"invalid parameters for {name!r}: {problems}") from exc


def json_schemas() -> dict[str, dict[str, Any]]:
    """Each type's parameter JSON schema, by type name (what the Prefect UI form shows)."""
    return {name: t.params_model.model_json_schema() for name, t in WORKFLOW_TYPES.items()}
