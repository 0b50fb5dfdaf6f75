"""Real engine faults in the middle of an index run, on a private Elasticsearch node.

The node is killed (SIGKILL) or frozen (SIGSTOP) by the PID that scripts/es-start.sh wrote,
then restarted with the script (or resumed with SIGCONT). FAULT INJECTION: `FaultOnWrite`
wraps the real store only to fire the fault just before its Nth write; every write still goes
to the real node, whose failure the store must report as StoreUnavailableError, promptly.
Rerunning after the node is back must leave exactly the expected chunks: none lost, none twice.
The fake embedder stands in for the model (not under test here; tests/flows use the real one).
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from elasticsearch import helpers

from tests.integration.conftest import EsNode
from workflowai.errors import StoreUnavailableError
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.indexing import index_documents
from workflowai.schemas import Document, EmbeddedChunk
from workflowai.settings import ElasticsearchSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EMBEDDER = FakeEmbedder(dim=32)
CHUNKER = Chunker(EMBEDDER, chunk_tokens=48, overlap=8)
# a hang guard only (a frozen node must fail the call after request_timeout_s), not a speed goal
HANG_GUARD_S = 120
REQUEST_TIMEOUT_S = 3.0


def corpus(n: int = 60) -> list[Document]:
    return [
        Document(
            id=f"kb/runbook-{i}.md",
            title=f"Runbook {i}",
            content=" ".join(
                f"step {j}: build {i} failed with exit code {i % 7} on runner {j}."
                for j in range(1 + i % 5)
            ),
            source=f"kb/runbook-{i}.md",
        )
        for i in range(n)
    ]


def expected_chunk_ids(documents: Sequence[Document]) -> set[str]:
    return {c.id for d in documents for c in CHUNKER.chunk(d)}


class FaultOnWrite:
    """The real store; `fault()` runs once, just before write number `at` goes to the node."""

    def __init__(self, inner: ElasticsearchKnowledgeStore, at: int, fault: Callable[[], None]):
        self._inner = inner
        self._at = at
        self._fault = fault
        self.writes = 0

    def write(self, chunks: Sequence[EmbeddedChunk], **kwargs: Any) -> int:
        self.writes += 1
        if self.writes == self._at:
            self._fault()
        return self._inner.write(chunks, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run_guarded(call: Callable[[], Any]) -> BaseException | None:
    """Run `call` in a thread; the exception it raised, None on success; fails on a hang."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert outcome, f"the index run hung for {HANG_GUARD_S} s instead of failing"
    return outcome[0]


def stored_ids(store: ElasticsearchKnowledgeStore) -> list[str]:
    return [h["_id"] for h in helpers.scan(store.client, index=store.index, _source=False)]


@pytest.fixture
def settings(private_es_node: EsNode) -> ElasticsearchSettings:
    return ElasticsearchSettings(
        url=private_es_node.url,
        alias=f"test-faults-{uuid.uuid4().hex[:8]}",
        request_timeout_s=REQUEST_TIMEOUT_S,
        max_retries=0,
    )


@pytest.fixture
def fresh_store(settings: ElasticsearchSettings) -> Iterator[ElasticsearchKnowledgeStore]:
    store = ElasticsearchKnowledgeStore(settings)
    yield store
    store.client.indices.delete(index=f"{settings.alias}-v*", ignore_unavailable=True)
    store.close()


def assert_complete(store: ElasticsearchKnowledgeStore, documents: Sequence[Document]) -> None:
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == store.count()  # nothing twice
    assert set(ids) == expected_chunk_ids(documents)  # nothing lost, nothing extra
    assert set(store.document_hashes()) == {d.id for d in documents}


def test_es_killed_node_mid_run_raises_unavailable_and_rerun_completes(
    private_es_node: EsNode,
    fresh_store: ElasticsearchKnowledgeStore,
    settings: ElasticsearchSettings,
) -> None:
    documents = corpus()
    pid = private_es_node.pid
    faulty = FaultOnWrite(fresh_store, at=3, fault=lambda: os.kill(pid, signal.SIGKILL))
    error = run_guarded(
        lambda: index_documents(faulty, EMBEDDER, CHUNKER, documents, batch_size=10)
    )
    assert isinstance(error, StoreUnavailableError), repr(error)
    assert "unreachable" in str(error) or "failed" in str(error)
    assert faulty.writes == 3  # it stopped at the fault, no silent carrying on

    private_es_node.stop()  # waits until the killed process is gone, clears the PID file
    private_es_node.start()
    rerun = ElasticsearchKnowledgeStore(settings)
    try:
        summary = index_documents(rerun, EMBEDDER, CHUNKER, documents, batch_size=10)
        assert summary.documents_unchanged == 20  # the two batches written before the kill
        assert summary.documents_indexed == 40
        assert_complete(rerun, documents)
    finally:
        rerun.close()


def test_es_frozen_node_times_out_as_unavailable_and_rerun_completes(
    private_es_node: EsNode,
    fresh_store: ElasticsearchKnowledgeStore,
    settings: ElasticsearchSettings,
) -> None:
    documents = corpus(40)
    pid = private_es_node.pid
    faulty = FaultOnWrite(fresh_store, at=2, fault=lambda: os.kill(pid, signal.SIGSTOP))
    try:
        error = run_guarded(
            lambda: index_documents(faulty, EMBEDDER, CHUNKER, documents, batch_size=10)
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert isinstance(error, StoreUnavailableError), repr(error)
    assert "timed out" in str(error).lower() or "timeout" in str(error).lower(), str(error)

    rerun = ElasticsearchKnowledgeStore(settings)
    try:
        index_documents(rerun, EMBEDDER, CHUNKER, documents, batch_size=10)
        assert_complete(rerun, documents)
    finally:
        rerun.close()


def test_es_unreachable_node_fails_fast_on_first_use() -> None:
    # nothing listens on port 1: refused at once, reported as transient with the URL
    store = ElasticsearchKnowledgeStore(
        ElasticsearchSettings(url="http://127.0.0.1:1", request_timeout_s=2, max_retries=0)
    )
    error = run_guarded(lambda: store.ensure_schema(model="m", dim=4))
    assert isinstance(error, StoreUnavailableError)
    assert "127.0.0.1:1" in str(error)
