"""The workflow-type registry: names, entrypoints and parameter validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.errors import WorkflowTypeError
from workflowai.logref import LogRef
from workflowai.params import (
    AnalyzeLogParams,
    AnalyzeRunParams,
    GenerateParams,
    IndexParams,
    RunJob,
    SearchParams,
)
from workflowai.registry import (
    WORKFLOW_TYPES,
    get_workflow_type,
    json_schemas,
    validate_parameters,
)

REPO = Path(__file__).resolve().parents[2]
REF = LogRef.of(b"a redacted, compressed log")


def test_registry_lists_the_workflow_types() -> None:
    assert sorted(WORKFLOW_TYPES) == [
        "analyze-log",
        "analyze-run",
        "confirm-cause",
        "execute",
        "failure-digest",
        "generate",
        "index",
        "record-success",
        "reindex",
        "search",
    ]


@pytest.mark.parametrize("name", sorted(WORKFLOW_TYPES))
def test_registry_entrypoint_names_a_function_in_an_existing_flow_module(name: str) -> None:
    workflow_type = WORKFLOW_TYPES[name]
    path, function = workflow_type.entrypoint.split(":")
    source = REPO / path
    assert path.startswith("flows/") and path.endswith(".py")
    if source.exists():  # flows land one by one; the flow tests import each of them
        assert f"def {function}(params: {workflow_type.params_model.__name__})" in (
            source.read_text()
        )


def test_registry_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(WorkflowTypeError, match="valid types: analyze-log, analyze-run, confirm-"):
        get_workflow_type("analyse")


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        ("search", {"query": "npm ERR"}, SearchParams(query="npm ERR")),
        ("index", {"paths": ["kb"]}, IndexParams(paths=[Path("kb")])),
        ("generate", {"prompt": "hi", "max_tokens": 8}, GenerateParams(prompt="hi", max_tokens=8)),
        ("analyze-log", {"log_ref": REF.model_dump()}, AnalyzeLogParams(log_ref=REF)),
        (
            "analyze-run",
            {"jobs": [{"name": "lint", "log_ref": REF.model_dump()}], "top_k": 3},
            AnalyzeRunParams(jobs=[RunJob(name="lint", log_ref=REF)], top_k=3),
        ),
    ],
)
def test_registry_validates_parameters_into_the_model(
    name: str, parameters: dict[str, object], expected: object
) -> None:
    assert validate_parameters(name, parameters) == expected


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("search", {}, "query: Field required"),
        ("search", {"query": "x", "mode": "fuzzy"}, "mode: Input should be 'hybrid'"),
        ("index", {"paths": []}, "paths: List should have at least 1 item"),
        ("generate", {}, "give exactly one of prompt or messages"),
        ("analyze-log", {"log_ref": REF.model_dump(), "log_path": "b"}, "exactly one of log_ref"),
        ("analyze-log", {"log_text": "npm ERR!"}, "log_text: Extra inputs are not permitted"),
        ("analyze-log", {"baseline_text": "ok", "log_path": "b"}, "baseline_text: Extra inputs"),
        ("analyze-run", {"jobs": []}, "jobs: List should have at least 1 item"),
        (
            "analyze-run",
            {"jobs": [{"name": "a", "log_path": "x"}, {"name": "a", "log_path": "y"}]},
            "job names must be unique",
        ),
    ],
)
def test_registry_rejects_bad_parameters_naming_the_field(
    name: str, parameters: dict[str, object], message: str
) -> None:
    with pytest.raises(WorkflowTypeError, match=f"invalid parameters for '{name}'") as caught:
        validate_parameters(name, parameters)
    assert message in str(caught.value)


def test_registry_json_schemas_describe_every_type() -> None:
    schemas = json_schemas()
    assert set(schemas) == set(WORKFLOW_TYPES)
    assert schemas["search"]["required"] == ["query"]
    properties = schemas["analyze-log"]["properties"]
    assert {"log_ref", "log_path", "baseline_ref", "baseline_path"} <= set(properties)
    assert not {"log_text", "baseline_text"} & set(properties)


@pytest.mark.parametrize(
    ("params", "label"),
    [
        (SearchParams(query="Cannot find module 'x'"), "hybrid-cannot-find-module-x"),
        (IndexParams(paths=[Path("knowledge_base"), Path("b")]), "knowledge-base-and-1"),
        (AnalyzeLogParams(log_path=Path("/tmp/Job 42.log")), "build-job-42-log"),
        (AnalyzeLogParams(log_ref=REF), f"build-{REF.sha256[:8]}"),
        (
            AnalyzeRunParams(
                jobs=[
                    RunJob(name="build (ubuntu, 3.11)", log_ref=REF),
                    RunJob(name="lint", log_ref=REF),
                ]
            ),
            "build-ubuntu-3-11-and-1",
        ),
    ],
)
def test_params_run_label_is_a_short_slug(params: SearchParams, label: str) -> None:
    assert params.run_label == label
