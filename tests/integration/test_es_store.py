"""Elasticsearch-only behaviour on the real node (the shared protocol is in tests/contract):
per-item bulk failures by id, the alias created on first use, info(), the factory, and a whole
reindex with rollback. The fake embedder stands in for the model (not under test here)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.contract.test_store_contract import CORPUS, DIM, MODEL, make
from workflowai.errors import BulkWriteError, SchemaMismatchError
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
from workflowai.knowledge.embedding import FakeEmbedder
from workflowai.knowledge.factory import build_store, build_versions
from workflowai.knowledge.indexing import index_documents
from workflowai.knowledge.reindex import VerificationError, reindex_documents, rollback
from workflowai.knowledge.versions import ElasticsearchIndexVersions
from workflowai.schemas import Document, EmbeddedChunk
from workflowai.settings import ElasticsearchSettings, Settings, StoreBackend, StoreSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_url: str) -> Iterator[Settings]:
    alias = f"test-es-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        store=StoreSettings(backend=StoreBackend.ELASTICSEARCH),
        elasticsearch=ElasticsearchSettings(url=es_url, alias=alias, keep_versions=2),
    )
    yield settings
    cleanup = ElasticsearchKnowledgeStore(settings.elasticsearch)
    cleanup.client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True)
    cleanup.close()


def test_es_bulk_failures_are_reported_by_id_and_reason(settings: Settings) -> None:
    store = build_store(settings)
    store.ensure_schema(model=MODEL, dim=DIM)
    bad = EmbeddedChunk(chunk=CORPUS[0].chunk, embedding=[0.5] * (DIM + 3))  # wrong dimension
    with pytest.raises(BulkWriteError) as raised:
        store.write([bad, *CORPUS[1:]])
    assert list(raised.value.failures) == [bad.chunk.id]
    assert raised.value.failures[bad.chunk.id].startswith("HTTP 400")
    assert "dimension" in raised.value.failures[bad.chunk.id]
    assert store.count() == len(CORPUS) - 1  # the good items were written, none dropped silently
    store.close()


def test_es_first_use_puts_version_1_behind_the_alias(settings: Settings) -> None:
    store = build_store(settings)
    store.ensure_schema(model=MODEL, dim=DIM)
    store.write(CORPUS)
    versions = build_versions(settings)
    assert isinstance(versions, ElasticsearchIndexVersions)
    alias = settings.elasticsearch.alias
    assert (versions.current(), versions.list()) == (f"{alias}-v1", [f"{alias}-v1"])
    assert versions.predecessor(f"{alias}-v1") is None
    info = store.info()
    assert (info.backend, info.chunks, info.documents) == ("elasticsearch", len(CORPUS), 4)
    assert (info.embedding_model, info.embedding_dim) == (MODEL, DIM)
    assert info.size_bytes and info.size_bytes > 0
    with pytest.raises(SchemaMismatchError, match="workflowai reindex"):
        store.ensure_schema(model="another-model", dim=DIM)
    store.close()


def _docs(*texts: str) -> list[Document]:
    return [
        Document(id=f"kb/{i}.md", title=f"runbook {i}", content=t, source=f"kb/{i}.md")
        for i, t in enumerate(texts)
    ]


def test_es_reindex_swaps_the_alias_and_rolls_back(settings: Settings) -> None:
    embedder = FakeEmbedder(dim=16)
    chunker = Chunker(embedder, chunk_tokens=64, overlap=8)
    versions = build_versions(settings)
    alias = settings.elasticsearch.alias
    first = reindex_documents(versions, embedder, chunker, _docs("npm ERESOLVE"), keep=2)
    second = reindex_documents(
        versions, embedder, chunker, _docs("java heap space", "pull rate limit"), keep=2
    )
    assert (first.version, second.version, second.previous) == (
        f"{alias}-v1",
        f"{alias}-v2",
        f"{alias}-v1",
    )
    reader = build_store(settings)  # reads through the alias
    assert reader.count() == 2
    with pytest.raises(VerificationError, match="not activated"):
        reindex_documents(versions, embedder, chunker, _docs("gradle"), keep=2, probe_text="zzqqxx")
    assert versions.current() == f"{alias}-v2" and reader.count() == 2
    assert rollback(versions) == (f"{alias}-v2", f"{alias}-v1")
    assert reader.count() == 1
    third = reindex_documents(versions, embedder, chunker, _docs("disk full"), keep=2)
    # keep=2: the live v4 and its rollback target v1 (live before it) stay; v3 never went live
    assert (third.version, third.previous) == (f"{alias}-v4", f"{alias}-v1")
    assert versions.list() == [f"{alias}-v1", f"{alias}-v4"]
    assert third.pruned == [f"{alias}-v2", f"{alias}-v3"]
    assert rollback(versions) == (f"{alias}-v4", f"{alias}-v1")
    reader.close()


def test_es_index_run_refreshes_once_however_many_writes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a spy around the real client's refresh: the writes, searches and refresh all hit the node
    store = build_store(settings)
    assert isinstance(store, ElasticsearchKnowledgeStore)
    refresh = store.client.indices.refresh
    refreshed: list[str] = []

    def counting_refresh(**kwargs: object) -> object:
        refreshed.append(str(kwargs.get("index")))
        return refresh(**kwargs)

    monkeypatch.setattr(store.client.indices, "refresh", counting_refresh)
    embedder = FakeEmbedder(dim=16)
    chunker = Chunker(embedder, chunk_tokens=64, overlap=8)
    docs = _docs(*(f"failure number {n} in step {n}" for n in range(6)))
    summary = index_documents(store, embedder, chunker, docs, batch_size=2, group_size=1)
    assert summary.chunks_written == 6  # six writes of one chunk, in three batches
    assert refreshed == [settings.elasticsearch.alias]
    assert set(store.document_hashes()) == {d.id for d in docs}  # searchable right after
    store.delete_documents([docs[0].id])  # outside a block: searchable at once
    assert set(store.document_hashes()) == {d.id for d in docs[1:]}
    assert len(refreshed) == 2
    store.close()


def test_es_bulk_block_defers_only_its_own_threads_writes(settings: Settings) -> None:
    # the index run's thread holds a block open; a write from another thread (a confirmed
    # cause while the index runs) is searchable at once, the block's own at its end
    store = build_store(settings)
    store.ensure_schema(model=MODEL, dim=DIM)
    inside, release = threading.Event(), threading.Event()

    def index_run() -> None:
        with store.bulk():
            store.write(CORPUS[:1])
            inside.set()
            release.wait(30)

    runner = threading.Thread(target=index_run)
    runner.start()
    assert inside.wait(30)
    store.write(CORPUS[1:2])  # this thread: no block open, refreshed now
    assert [h.chunk.document_id for h in store.keyword_search("ERESOLVE", top_k=3)] == [
        "npm-eresolve"
    ]
    release.set()
    runner.join(30)
    assert store.count() == 2
    store.close()


@pytest.mark.parametrize("dim", [DIM])
def test_es_make_helper_matches_the_mapping(settings: Settings, dim: int) -> None:
    # a chunk with metadata of every scalar kind is accepted by the strict mapping
    store = build_store(settings)
    store.ensure_schema(model=MODEL, dim=dim)
    chunk = make("meta", 0, "text", [1, 0, 0, 0], kind="runbook", priority=2, flaky=True)
    assert store.write([chunk]) == 1
    assert [h.chunk.id for h in store.keyword_search("text", top_k=3, filters={"flaky": True})] == [
        chunk.chunk.id
    ]
    store.close()
