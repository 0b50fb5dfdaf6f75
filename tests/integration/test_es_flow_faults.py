"""The `index` flow against a private Elasticsearch node that dies mid-run.

FAULT INJECTION: `FaultOnWrite` (see test_es_faults) wraps the real store only to SIGKILL the
node, by the PID scripts/es-start.sh wrote, before the flow's second write; it is
registered as this process's store, so the real flow and its real task policy run against it.
While the node stays down the task retries with backoff (1 + 3 attempts) and the run fails with
the store's message; after a restart with the script a rerun completes with exactly the
expected chunks. The fake embedder stands in for the model (tests/flows use the real one).
A kill that splits a document across two writes is covered too: the document's first chunk
is written last, so the store reports it incomplete and the rerun rewrites it.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.index import index_flow
from tasks.resources import register_store
from tests.integration.conftest import EsNode
from tests.integration.test_es_faults import FaultOnWrite, stored_ids
from workflowai.errors import StoreUnavailableError
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.sources import iter_documents
from workflowai.params import IndexParams
from workflowai.schemas import Document
from workflowai.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def flow_settings(
    private_es_node: EsNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    alias = f"test-flow-faults-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "WORKFLOWAI_HOME": str(tmp_path / "home"),
        "WORKFLOWAI_STORE__BACKEND": "elasticsearch",
        "WORKFLOWAI_ELASTICSEARCH__URL": private_es_node.url,
        "WORKFLOWAI_ELASTICSEARCH__ALIAS": alias,
        "WORKFLOWAI_ELASTICSEARCH__REQUEST_TIMEOUT_S": "3",
        "WORKFLOWAI_ELASTICSEARCH__MAX_RETRIES": "0",
        "WORKFLOWAI_EMBEDDING__MODEL": "fake-hash-32",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    yield settings
    cleanup = ElasticsearchKnowledgeStore(settings.elasticsearch)
    cleanup.client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True)
    cleanup.close()


def write_sources(folder: Path, n: int = 30) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        lines = [f"# Runbook {i}: exit code {i % 7}", ""]
        # 3, 5 or 7 chunks each (fake tokens: words + 2)
        lines += [
            f"Step {j}: job {i} failed on runner {j % 5} again." for j in range(25 * (1 + i % 3))
        ]
        (folder / f"runbook-{i}.md").write_text("\n".join(lines) + "\n")
    return folder


def expected_ids(settings: Settings, folder: Path) -> set[str]:
    chunker = Chunker(
        FakeEmbedder(dim=32),
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    docs = [d for d in iter_documents([folder]) if isinstance(d, Document)]
    return {c.id for d in docs for c in chunker.chunk(d)}


@pytest.mark.parametrize(
    "batch_chunks",
    [
        8,  # 3 + 5 chunks: the write before the kill holds whole documents
        7,  # the kill splits a document: its first chunk (written last) is missing, so the
        # rerun sees it as incomplete and rewrites it
    ],
)
def test_es_index_flow_fails_clearly_while_node_is_down_and_rerun_completes(
    private_es_node: EsNode, flow_settings: Settings, tmp_path: Path, batch_chunks: int
) -> None:
    sources = write_sources(tmp_path / "kb")
    params = IndexParams(paths=[sources], batch_chunks=batch_chunks)
    pid = private_es_node.pid
    faulty = FaultOnWrite(
        ElasticsearchKnowledgeStore(flow_settings.elasticsearch),
        at=2,
        fault=lambda: os.kill(pid, signal.SIGKILL),
    )
    register_store(flow_settings, faulty)  # type: ignore[arg-type]

    try:
        state = index_flow(params, return_state=True)
        assert state.is_failed()
        with pytest.raises(StoreUnavailableError, match="node unreachable"):
            state.result()
        # the first write, then the write that met the dead node and the first write of each
        # of the three retries. (Task-run counts from the API are not asserted:
        # in a full session the client's events worker can lag past any sane wait.)
        assert faulty.writes == 5
    finally:  # the next test (same module-scoped node) needs it back even if this one failed
        private_es_node.stop()
        private_es_node.start()
    store = ElasticsearchKnowledgeStore(flow_settings.elasticsearch)
    register_store(flow_settings, store)
    try:
        rerun = index_flow(params, return_state=True)
        assert rerun.is_completed(), rerun.message
        ids = stored_ids(store)
        assert len(ids) == len(set(ids)) == store.count()
        assert set(ids) == expected_ids(flow_settings, sources)
    finally:
        store.close()
