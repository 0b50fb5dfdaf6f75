"""search(): keyword, semantic and hybrid modes on a real SQLite store.

Mechanics use the FakeEmbedder (bag of hashed words); the last test ranks with the real models
(MiniLM and bge-small-en-v1.5, the default).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.embedding import FakeEmbedder, SentenceTransformerEmbedder
from workflowai.knowledge.indexing import index_documents
from workflowai.knowledge.search import search
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.schemas import Document, SearchRequest
from workflowai.settings import EmbeddingSettings, FusionMethod, SearchMode, SearchSettings

RUNBOOKS = {
    "npm-eresolve": ("node", "npm ERR! code ERESOLVE unable to resolve dependency tree peer"),
    "java-heap": ("java", "java.lang.OutOfMemoryError: Java heap space raise -Xmx for the JVM"),
    "dns": ("general", "Could not resolve host github.com: temporary failure in name resolution"),
    "docker-copy": ("docker", "COPY failed: file not found in build context, check .dockerignore"),
    "pytest-import": ("python", "ImportError while importing test module: No module named app"),
    "gradle-daemon": ("java", "Gradle build daemon disappeared unexpectedly, out of memory"),
}


def corpus() -> list[Document]:
    return [
        Document(
            id=f"kb/{name}.yaml",
            title=name.replace("-", " "),
            content=text,
            source=f"kb/{name}.yaml",
            metadata={"kind": "runbook", "ecosystem": ecosystem},
        )
        for name, (ecosystem, text) in RUNBOOKS.items()
    ]


def build(path: Path, embedder) -> SqliteKnowledgeStore:
    store = SqliteKnowledgeStore(path)
    index_documents(store, embedder, Chunker(embedder, chunk_tokens=64, overlap=8), corpus())
    return store


@pytest.fixture
def fake_store(tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
    store = build(tmp_path / "kb.sqlite", FakeEmbedder())
    yield store
    store.close()


def run(store, query: str, **kwargs):
    settings = kwargs.pop("settings", SearchSettings())
    return search(store, FakeEmbedder(), SearchRequest(query=query, **kwargs), settings)


def doc_ids(result) -> list[str]:
    return [h.chunk.document_id for h in result.hits]


@pytest.mark.parametrize(
    ("mode", "score_keys"),
    [
        (SearchMode.KEYWORD, {"bm25"}),
        (SearchMode.SEMANTIC, {"cosine"}),
        (SearchMode.HYBRID, {"semantic", "keyword"}),
    ],
)
def test_each_mode_returns_ranked_hits_with_its_retriever_scores(
    fake_store, mode: SearchMode, score_keys: set[str]
) -> None:
    result = run(fake_store, "java heap space OutOfMemoryError", mode=mode, top_k=3)
    assert result.mode is mode and result.query == "java heap space OutOfMemoryError"
    assert doc_ids(result)[0] == "kb/java-heap.yaml"
    assert 0 < len(result.hits) <= 3
    assert set(result.hits[0].scores) == score_keys
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert result.took_ms > 0


@pytest.mark.parametrize("mode", list(SearchMode))
def test_filters_reach_every_retriever(fake_store, mode: SearchMode) -> None:
    result = run(
        fake_store, "out of memory heap", mode=mode, top_k=10, filters={"ecosystem": "java"}
    )
    assert set(doc_ids(result)) <= {"kb/java-heap.yaml", "kb/gradle-daemon.yaml"}
    assert result.hits


@pytest.mark.parametrize(
    ("fusion", "weight", "expected_first"),
    [
        # keyword only: the BM25 best; semantic only: the cosine best
        (FusionMethod.WEIGHTED, 0.0, "keyword"),
        (FusionMethod.WEIGHTED, 1.0, "semantic"),
    ],
)
def test_request_fusion_and_weight_override_the_settings(
    fake_store, fusion: FusionMethod, weight: float, expected_first: str
) -> None:
    query = "npm dependency tree resolve host"
    keyword = run(fake_store, query, mode=SearchMode.KEYWORD, top_k=1).hits[0].chunk.id
    semantic = run(fake_store, query, mode=SearchMode.SEMANTIC, top_k=1).hits[0].chunk.id
    settings = SearchSettings(fusion=FusionMethod.RRF, semantic_weight=0.5)
    hybrid = run(
        fake_store, query, top_k=1, fusion=fusion, semantic_weight=weight, settings=settings
    )
    expected = keyword if expected_first == "keyword" else semantic
    assert hybrid.hits[0].chunk.id == expected


def test_rrf_scores_follow_the_settings_k(fake_store) -> None:
    settings = SearchSettings(fusion=FusionMethod.RRF, rrf_k=10)
    result = run(fake_store, "java heap", top_k=2, settings=settings)
    # the best hit is first in at least one list: its fused score is at least 1/(10+1)
    assert result.hits[0].score >= 1 / 11
    assert result.hits[0].score <= 2 / 11


def test_top_k_wins_over_fewer_candidates(fake_store) -> None:
    result = run(fake_store, "build failed", top_k=4, settings=SearchSettings(candidates=1))
    assert len(result.hits) == 4


@pytest.mark.parametrize("model", ["all-MiniLM-L6-v2", "BAAI/bge-small-en-v1.5"])
def test_hybrid_search_with_a_real_model_finds_the_runbook_for_a_log_line(
    tmp_path: Path, model: str
) -> None:
    minilm = SentenceTransformerEmbedder(EmbeddingSettings(model=model, device="cpu"))
    store = build(tmp_path / "kb.sqlite", minilm)
    cases = {
        "Exception in thread main java.lang.OutOfMemoryError": "kb/java-heap.yaml",
        "fatal: unable to access https://github.com/o/r: Could not resolve host": "kb/dns.yaml",
        "ModuleNotFoundError: No module named 'app'": "kb/pytest-import.yaml",
        "the build runs out of RAM and the JVM dies": "kb/java-heap.yaml",
    }
    for query, expected in cases.items():
        result = search(store, minilm, SearchRequest(query=query, top_k=3), SearchSettings())
        assert doc_ids(result)[0] == expected, query
    store.close()
