"""`execute` end to end: it dispatches to the registered flow, and rejects bad input fast."""

from __future__ import annotations

import pytest

from flows.execute import execute_flow
from workflowai.errors import WorkflowTypeError
from workflowai.params import ExecuteParams


@pytest.mark.parametrize(
    ("workflow_type", "parameters", "message"),
    [
        (
            "no-such-type",
            {},
            "valid types: analyze-log, analyze-run, confirm-cause, execute, failure-digest, "
            "generate, index, record-success, reindex",
        ),
        ("search", {"query": ""}, "query: String should have at least 1 character"),
        ("search", {"query": "x", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ("search", {"query": "x", "colour": "red"}, "colour: Extra inputs are not permitted"),
        ("analyze-log", {}, "give exactly one of log_ref or log_path"),
        # log text is never a parameter (Prefect would keep it in its database and UI)
        ("analyze-log", {"log_text": "npm ERR!"}, "log_text: Extra inputs are not permitted"),
        ("execute", {"workflow_type": "search"}, "execute cannot run itself"),
    ],
)
def test_execute_rejects_bad_type_or_parameters(
    workflow_type: str, parameters: dict[str, object], message: str
) -> None:
    with pytest.raises(WorkflowTypeError) as caught:
        execute_flow(ExecuteParams(workflow_type=workflow_type, parameters=parameters))
    assert message in str(caught.value)
