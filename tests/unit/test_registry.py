"""The workflow-type registry: names, entrypoints and parameter validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.errors import WorkflowTypeError
from workflowai.params import AnalyzeLogParams, GenerateParams, IndexParams, SearchParams
from workflowai.registry import (
    WORKFLOW_TYPES,
    get_workflow_type,
    json_schemas,
    validate_parameters,
)

REPO = Path(__file__).resolve().parents[2]


def test_registry_lists_the_workflow_types() -> None:
    assert sorted(WORKFLOW_TYPES) == [
        "analyze-log",
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
    with pytest.raises(WorkflowTypeError, match="valid types: analyze-log, confirm-cause, execute"):
        get_workflow_type("analyse")


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        ("search", {"query": "npm ERR"}, SearchParams(query="npm ERR")),
        ("index", {"paths": ["kb"]}, IndexParams(paths=[Path("kb")])),
        ("generate", {"prompt": "hi", "max_tokens": 8}, GenerateParams(prompt="hi", max_tokens=8)),
        ("analyze-log", {"log_text": "error"}, AnalyzeLogParams(log_text="error")),
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
        ("analyze-log", {"log_text": "a", "log_path": "b"}, "exactly one of log_text or log_path"),
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
    assert "log_text" in schemas["analyze-log"]["properties"]


@pytest.mark.parametrize(
    ("params", "label"),
    [
        (SearchParams(query="Cannot find module 'x'"), "hybrid-cannot-find-module-x"),
        (IndexParams(paths=[Path("knowledge_base"), Path("b")]), "knowledge-base-and-1"),
        (AnalyzeLogParams(log_path=Path("/tmp/Job 42.log")), "build-job-42-log"),
    ],
)
def test_params_run_label_is_a_short_slug(params: SearchParams, label: str) -> None:
    assert params.run_label == label
