"""The agent's guards, driven by a scripted OpenAI-compatible server (a fault injector).

The scripted server (tests/integration/llm_fixtures.py) answers each request with the next
canned completion, so the model can be made to call an unknown tool, pass invalid arguments,
never stop calling tools or give a steered answer. The agent
against a real model (llama.cpp) is tested in tests/integration/test_agent.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.integration.llm_fixtures import answer, scripted_server, tool_call
from workflowai.analysis.report import Category, EvidenceBlock, Finding, FindingKind, LogLine
from workflowai.llm.agent import SEARCH_TOOL, SearchArgs, run_agent
from workflowai.llm.openai_backend import OpenAIGenerator
from workflowai.schemas import Chunk, ScoredChunk
from workflowai.settings import GenerationBackend, GenerationSettings

VALID_ANSWER = json.dumps(
    {
        "summary": "npm could not resolve a peer dependency.",
        "category": "dependency",
        "root_cause": "react-dom needs react 18 (line 7).",
        "suggested_fixes": ["Upgrade react"],
        "confidence": 0.6,
    }
)
EVIDENCE = [
    EvidenceBlock(
        start_line=7, end_line=7, lines=[LogLine(number=7, text="npm ERR! ERESOLVE")], key_lines=[7]
    )
]


class RecordingSearch:
    """The search callable: records every query it runs and returns one fixed hit."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, query: str, top_k: int) -> list[ScoredChunk]:
        self.calls.append((query, top_k))
        chunk = Chunk(
            id="c1",
            document_id="kb/npm.yaml",
            document_hash="h",
            position=0,
            title="npm ERESOLVE",
            text="Align peer versions.",
            source="kb/npm.yaml",
        )
        return [ScoredChunk(chunk=chunk, score=0.9)]


def _generator(url: str, **overrides: Any) -> OpenAIGenerator:
    values = {"backend": GenerationBackend.OPENAI, "base_url": url, "max_retries": 0, **overrides}
    return OpenAIGenerator(GenerationSettings.model_validate(values))


def test_agent_refuses_unknown_tools_and_invalid_arguments() -> None:
    script = [
        tool_call("delete_repository", {"name": "main"}),
        tool_call(SEARCH_TOOL, {"query": "x" * 1000, "top_k": 500}),
        tool_call(SEARCH_TOOL, {"query": "npm ERESOLVE", "top_k": 3}),
        answer(VALID_ANSWER),
    ]
    search = RecordingSearch()
    with scripted_server(script) as (url, received):
        result = run_agent(_generator(url), search, evidence=EVIDENCE, max_iterations=6)
    assert search.calls == [("npm ERESOLVE", 3)]  # the only action that ran
    tools = [(r.tool, r.result_summary.split(":")[0]) for r in result.tool_calls]
    assert tools == [
        ("delete_repository", "refused"),
        (SEARCH_TOOL, "refused"),
        (SEARCH_TOOL, "1 hits"),
    ]
    assert result.outcome.ok
    assert result.iterations == 4
    assert len(result.hits) == 1
    # only the search tool is ever offered, and the first call forces it
    for body in received:
        assert [t["function"]["name"] for t in body.get("tools", [])] in ([], [SEARCH_TOOL])
    assert received[0]["tool_choice"]["function"]["name"] == SEARCH_TOOL


def test_agent_stops_at_max_iterations_without_a_final_answer() -> None:
    search = RecordingSearch()
    with scripted_server([tool_call(SEARCH_TOOL, {"query": "again"})]) as (url, received):
        result = run_agent(_generator(url), search, evidence=EVIDENCE, max_iterations=3)
    assert len(received) == 3
    assert "tools" not in received[-1]  # the last call offers no tools
    assert result.iterations == 3
    assert not result.outcome.ok
    assert result.outcome.error == "the agent made 3 model calls without a final answer"


def test_agent_invalid_final_answer_falls_back_with_a_reason() -> None:
    with scripted_server([answer("I am not JSON")]) as (url, _):
        result = run_agent(_generator(url), RecordingSearch(), evidence=EVIDENCE)
    assert result.outcome.error == "the model's answer holds no JSON object"
    assert result.tool_calls == []


@pytest.mark.parametrize(
    ("args", "valid"),
    [
        ({"query": "npm ERESOLVE"}, True),
        ({"query": "npm", "top_k": 10}, True),
        ({"query": ""}, False),
        ({"query": "q" * 301}, False),
        ({"query": "npm", "top_k": 0}, False),
        ({"query": "npm", "top_k": 11}, False),
        ({"query": "npm", "command": "rm -rf /"}, False),
        ({}, False),
    ],
)
def test_search_args_are_bounded(args: dict[str, Any], valid: bool) -> None:
    try:
        SearchArgs.model_validate(args)
    except ValueError:
        assert not valid
    else:
        assert valid


def test_agent_wall_clock_timeout_falls_back_with_a_reason() -> None:
    """Fault injector: a server that accepts connections and never answers."""
    from tests.integration.llm_fixtures import silent_server

    with silent_server() as url:
        result = run_agent(
            _generator(url, timeout_s=30.0), RecordingSearch(), evidence=EVIDENCE, timeout_s=0.5
        )
    assert not result.outcome.ok
    assert result.outcome.error is not None
    assert result.outcome.error.startswith("the agent timed out after 0.5 s")


def test_agent_fences_search_results_with_the_requests_marker() -> None:
    script = [tool_call(SEARCH_TOOL, {"query": "npm ERESOLVE"}), answer(VALID_ANSWER)]
    with scripted_server(script) as (url, received):
        run_agent(_generator(url), RecordingSearch(), evidence=EVIDENCE)
    system = received[0]["messages"][0]["content"]
    marker = re.search(r"BEGIN ([0-9a-f]{16})>>>", system)
    assert marker is not None
    tool_message = next(m for m in received[1]["messages"] if m["role"] == "tool")
    assert f"<<<UNTRUSTED KNOWLEDGE BASE ENTRY 1 BEGIN {marker[1]}>>>" in tool_message["content"]


def test_agent_reviews_the_final_answer_against_its_prompt() -> None:
    """The final answer contradicts the rule-made category, and names no finding: rejected."""
    finding = Finding(kind=FindingKind.DEPENDENCY_CONFLICT, package="react-dom", evidence_lines=[7])
    steered = json.loads(VALID_ANSWER) | {"category": "infrastructure"}
    with scripted_server([answer(json.dumps(steered))]) as (url, received):
        result = run_agent(
            _generator(url),
            RecordingSearch(),
            evidence=EVIDENCE,
            findings=[finding],
            category_hint=Category.DEPENDENCY,
            force_search=False,
        )
    assert "react-dom" in received[0]["messages"][1]["content"]  # the findings reached it
    error = result.outcome.error or ""
    assert error.startswith("the model's answer was rejected")
    assert "sets category 'infrastructure', but the rules found 'dependency'" in error
    assert result.outcome.draft is None


def test_agent_caps_the_confidence_of_an_accepted_answer() -> None:
    with scripted_server([answer(VALID_ANSWER)]) as (url, _):
        result = run_agent(_generator(url), RecordingSearch(), evidence=EVIDENCE)
    assert result.outcome.draft is not None
    assert result.outcome.draft.confidence == 0.5  # no rule category: the lower cap
    assert result.outcome.warnings == [
        "model confidence 0.6 capped at 0.5 (no rule found a category)"
    ]
