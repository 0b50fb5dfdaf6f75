"""`reindex` end to end on SQLite: build a version, swap it in, build another, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.reindex import reindex_flow
from flows.search import search_flow
from tests.flows.corpus import write_corpus
from workflowai.errors import ConfigError, StoreError
from workflowai.params import ReindexParams, SearchParams
from workflowai.settings import SearchMode


def _top_source(query: str) -> str:
    result = search_flow(SearchParams(query=query, mode=SearchMode.KEYWORD, top_k=1))
    return result.hits[0].chunk.source if result.hits else ""


@pytest.mark.slow
def test_reindex_flow_swaps_versions_and_rolls_back(workflowai_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = reindex_flow(ReindexParams(sources=[corpus]))
    assert first.version == "v1"
    assert first.previous is None
    assert first.chunks >= 3
    assert _top_source("toomanyrequests").endswith("docker-rate-limit.txt")

    (corpus / "docker-rate-limit.txt").unlink()
    second = reindex_flow(ReindexParams(sources=[corpus]))
    assert (second.version, second.previous) == ("v2", "v1")
    assert second.chunks < first.chunks
    assert _top_source("toomanyrequests") == ""  # readers see the new version at once

    back = reindex_flow(ReindexParams(rollback=True))
    assert (back.version, back.previous) == ("v1", "v2")
    assert back.chunks == first.chunks
    assert _top_source("toomanyrequests").endswith("docker-rate-limit.txt")


@pytest.mark.usefixtures("workflowai_home")
def test_reindex_rollback_without_versions_fails_with_the_reason() -> None:
    with pytest.raises(StoreError, match="no live knowledge-base version to roll back"):
        reindex_flow(ReindexParams(rollback=True))


@pytest.mark.usefixtures("workflowai_home")
def test_reindex_without_sources_says_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tasks.knowledge_base.REPO_KNOWLEDGE_BASE", Path("/no/such/kb"))
    with pytest.raises(ConfigError, match="WORKFLOWAI_REINDEX__SOURCES"):
        reindex_flow(ReindexParams())
