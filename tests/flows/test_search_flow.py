"""`search` end to end in all three modes over an indexed temp corpus (real SQLite, MiniLM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.execute import execute_flow
from flows.index import index_flow
from flows.search import search_flow
from tests.flows.corpus import write_corpus
from workflowai.params import ExecuteParams, IndexParams, SearchParams
from workflowai.schemas import SearchResult
from workflowai.settings import SearchMode


@pytest.fixture
def indexed(workflowai_home: Path, tmp_path: Path) -> None:
    index_flow(IndexParams(paths=[write_corpus(tmp_path / "kb")]))


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize(
    ("mode", "query", "expected_source"),
    [
        (SearchMode.KEYWORD, "toomanyrequests pull rate limit", "docker-rate-limit.txt"),
        (SearchMode.SEMANTIC, "the JVM ran out of memory during the build", "java-heap.md"),
        (SearchMode.HYBRID, "Error: Cannot find module 'left-pad'", "npm-missing-module.md"),
    ],
)
def test_search_flow_ranks_the_matching_runbook_first(
    mode: SearchMode, query: str, expected_source: str
) -> None:
    result = search_flow(SearchParams(query=query, mode=mode, top_k=2))
    assert isinstance(result, SearchResult)
    assert result.mode == mode
    assert 1 <= len(result.hits) <= 2
    assert result.hits[0].chunk.source.endswith(expected_source)


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_execute_runs_search_as_a_subflow() -> None:
    result = execute_flow(
        ExecuteParams(workflow_type="search", parameters={"query": "docker login", "top_k": 1})
    )
    assert isinstance(result, SearchResult)
    assert result.hits[0].chunk.source.endswith("docker-rate-limit.txt")
