"""The index pipeline on a real SQLite store: skip unchanged, replace changed, prune, stream.

The FakeEmbedder stands in for MiniLM (tested in test_embedding.py); a counting subclass
records which texts were embedded, to prove unchanged documents are not embedded again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from workflowai.errors import EmbeddingError, StoreUnavailableError
from workflowai.knowledge.chunking import Chunker, chunk_documents
from workflowai.knowledge.embedding import FakeEmbedder, embedding_input
from workflowai.knowledge.indexing import (
    documents_to_prune,
    encodes_off_cpu,
    index_batch,
    index_documents,
    iter_batches,
    plan_documents,
)
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.schemas import Document, EmbeddedChunk, IndexFailure, IndexSummary


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.embedded: list[str] = []

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed_texts(texts)


def doc(name: str, text: str) -> Document:
    return Document(id=f"kb/{name}.md", title=name, content=text, source=f"kb/{name}.md")


LONG = "\n\n".join(f"Step {i}: the runner restarted the build agent." for i in range(40))
CORPUS = [
    doc("npm", "npm ERR! code ERESOLVE unable to resolve dependency tree"),
    doc("java", "java.lang.OutOfMemoryError: Java heap space"),
    doc("long", LONG),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
    store = SqliteKnowledgeStore(tmp_path / "kb.sqlite")
    yield store
    store.close()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


def run(store, embedder, items, **kwargs) -> IndexSummary:
    chunker = Chunker(embedder, chunk_tokens=32, overlap=4)
    return index_documents(store, embedder, chunker, items, batch_size=2, **kwargs)


def test_first_run_indexes_everything_and_rerun_skips_unchanged(store, embedder) -> None:
    first = run(store, embedder, CORPUS)
    assert (first.documents_seen, first.documents_indexed, first.documents_unchanged) == (3, 3, 0)
    assert first.chunks_written == store.count() > 3
    assert first.tokens_embedded > 0 and first.failures == []
    embedder.embedded.clear()
    again = run(store, embedder, CORPUS)
    assert (again.documents_indexed, again.documents_unchanged, again.chunks_written) == (0, 3, 0)
    assert embedder.embedded == []
    assert store.count() == first.chunks_written


def test_changed_document_loses_its_stale_chunks(store, embedder) -> None:
    run(store, embedder, CORPUS)
    long_chunks = store.count() - 2
    edited = [*CORPUS[:2], doc("long", "The runner was replaced by a larger machine.")]
    summary = run(store, embedder, edited)
    assert (summary.documents_indexed, summary.documents_unchanged) == (1, 2)
    assert store.count() == 3 and long_chunks > 1
    assert store.keyword_search("restarted build agent", top_k=5) == []
    assert store.keyword_search("larger machine", top_k=1)[0].chunk.document_id == "kb/long.md"
    assert store.document_hashes()["kb/long.md"] == edited[2].content_hash


def test_a_new_source_or_metadata_reindexes_an_unchanged_text(store, embedder) -> None:
    # an index written before sources became root-relative holds the indexing machine's path
    old = Document(id="kb/npm.md", content=CORPUS[0].content, source="/home/ci/kb/npm.md")
    run(store, embedder, [old])
    moved = old.model_copy(update={"source": "npm.md"})
    tagged = moved.model_copy(update={"metadata": {"path": "npm.md", "entry_id": "npm"}})
    for document in (moved, tagged):
        summary = run(store, embedder, [document])
        assert (summary.documents_indexed, summary.documents_unchanged) == (1, 0)
    assert run(store, embedder, [tagged]).documents_unchanged == 1
    (hit,) = store.keyword_search("ERESOLVE", top_k=1)
    assert (hit.chunk.source, hit.chunk.metadata["path"]) == ("npm.md", "npm.md")


@pytest.mark.parametrize(
    ("prune", "left"), [(False, {"kb/npm.md", "kb/java.md", "kb/long.md"}), (True, {"kb/npm.md"})]
)
def test_prune_deletes_documents_absent_from_the_sources(store, embedder, prune, left) -> None:
    run(store, embedder, CORPUS)
    summary = run(store, embedder, CORPUS[:1], prune=prune)
    assert set(store.document_hashes()) == left
    assert summary.documents_pruned == (2 if prune else 0)


def test_prune_is_skipped_when_a_source_failed(store, embedder) -> None:
    run(store, embedder, CORPUS)
    broken = IndexFailure(source="kb/java.yaml", reason="invalid YAML: ...")
    summary = run(store, embedder, [CORPUS[0], broken], prune=True)
    assert summary.documents_pruned == 0
    assert len(store.document_hashes()) == 3
    assert summary.failures[0] == broken
    assert summary.failures[1].source == "prune" and "skipped" in summary.failures[1].reason


def test_failures_from_the_sources_are_kept_in_the_summary(store, embedder) -> None:
    failures = [
        IndexFailure(source=f"kb/bad{i}.jsonl:{i}", reason="invalid JSON") for i in range(3)
    ]
    summary = run(store, embedder, [failures[0], CORPUS[0], failures[1], failures[2]])
    assert summary.failures == failures
    assert summary.documents_indexed == 1


def test_index_documents_streams_one_batch_at_a_time(store, embedder) -> None:
    pulled: list[int] = []
    progress: list[tuple[int, int]] = []

    def source() -> Iterator[Document]:
        for i in range(10):
            pulled.append(i)
            yield doc(f"d{i}", f"document number {i} about flaky tests")

    def on_progress(summary: IndexSummary) -> None:
        progress.append((len(pulled), summary.documents_seen))

    summary = run(store, embedder, source(), on_progress=on_progress)
    # at each progress report, only the current batch (2) has been read from the source
    assert progress == [(2, 2), (4, 4), (6, 6), (8, 8), (10, 10)]
    assert summary.documents_indexed == 10


def test_plan_documents_splits_new_edited_and_unchanged() -> None:
    new, same, edited = doc("new", "a"), doc("same", "b"), doc("edited", "c")
    existing = {same.id: same.content_hash, edited.id: "old-hash", "kb/gone.md": "h"}
    plan = plan_documents([new, same, edited], existing)
    assert [d.id for d in plan.changed] == [new.id, edited.id]
    assert plan.unchanged == [same.id]
    assert plan.replaced == [edited.id]


@pytest.mark.parametrize(
    ("existing", "seen", "expected"),
    [
        (["a", "b", "c"], ["b"], ["a", "c"]),
        (["a"], ["a", "new"], []),
        ([], ["a"], []),
        (["z", "y"], [], ["y", "z"]),
    ],
)
def test_documents_to_prune(existing: list[str], seen: list[str], expected: list[str]) -> None:
    assert documents_to_prune(existing, iter(seen)) == expected


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [(5, 2, [[0, 1], [2, 3], [4]]), (4, 4, [[0, 1, 2, 3]]), (0, 3, [])],
)
def test_iter_batches(n: int, size: int, expected: list[list[int]]) -> None:
    assert list(iter_batches(iter(range(n)), size)) == expected


def test_iter_batches_rejects_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="batch size"):
        next(iter_batches([1], 0))


class RecordingStore:
    """The real SQLite store, recording each write's chunk ids and the writing thread; it can
    raise on one write (FAULT INJECTION) to show that the pipeline stops there."""

    def __init__(self, inner: SqliteKnowledgeStore, fail_at: int | None = None) -> None:
        self._inner, self._fail_at = inner, fail_at
        inner.ensure_schema(model=FakeEmbedder(dim=16).model_name, dim=16)
        self.writes: list[list[str]] = []
        self.threads: set[int] = set()

    def write(self, chunks: Sequence[EmbeddedChunk], **kwargs: Any) -> int:
        self.threads.add(threading.get_ident())
        if self._fail_at is not None and len(self.writes) + 1 == self._fail_at:
            raise StoreUnavailableError("injected: database is locked")
        self.writes.append([c.chunk.id for c in chunks])
        return self._inner.write(chunks, **kwargs)


class ThreadRecordingEmbedder(CountingEmbedder):
    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.threads: set[int] = set()
        self._fail_on = fail_on

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        self.threads.add(threading.get_ident())
        if self._fail_on is not None and any(self._fail_on in t for t in texts):
            raise EmbeddingError("injected: model failed")
        return super().embed_texts(texts)


MANY = [
    doc(f"d{i}", "\n\n".join(f"Step {j} of job {i} failed again." for j in range(9)))
    for i in range(6)
]


@pytest.mark.parametrize("overlap", [True, False])
@pytest.mark.parametrize("group_size", [1, 4, 7, 1000])
def test_index_batch_writes_groups_in_chunk_order_from_the_calling_thread(
    store: SqliteKnowledgeStore, group_size: int, overlap: bool
) -> None:
    embedder = ThreadRecordingEmbedder()
    chunker = Chunker(embedder, chunk_tokens=16, overlap=2)
    recording = RecordingStore(store)
    counts = index_batch(
        recording,  # type: ignore[arg-type]
        embedder,
        chunker,
        MANY,
        group_size=group_size,
        overlap=overlap,
    )
    expected = chunk_documents(MANY, chunker)  # a document's first chunk after its others
    assert [cid for write in recording.writes for cid in write] == [c.id for c in expected]
    assert all(len(write) <= group_size for write in recording.writes)
    assert len(recording.writes) == -(-len(expected) // group_size)
    assert counts.chunks == len(expected) == store.count()
    assert counts.tokens == sum(embedder.count_tokens(embedding_input(c)) for c in expected)
    # the store stays on the caller's thread (SQLite); overlapped, the model runs on a worker
    assert recording.threads == {threading.get_ident()}
    assert (threading.get_ident() not in embedder.threads) is overlap


@pytest.mark.parametrize(("device", "off_cpu"), [("cpu", False), ("cuda:0", True), ("mps", True)])
def test_only_an_encoder_off_the_cpu_overlaps_by_default(device: str, off_cpu: bool) -> None:
    embedder = ThreadRecordingEmbedder()
    embedder.device = device  # type: ignore[attr-defined]
    assert encodes_off_cpu(embedder) is off_cpu
    assert encodes_off_cpu(FakeEmbedder()) is False  # no device: runs where the caller does


def test_index_batch_stops_at_a_failed_write(store: SqliteKnowledgeStore) -> None:
    embedder = ThreadRecordingEmbedder()
    recording = RecordingStore(store, fail_at=2)
    chunker = Chunker(embedder, chunk_tokens=16, overlap=2)
    with pytest.raises(StoreUnavailableError, match="injected"):
        index_batch(recording, embedder, chunker, MANY, group_size=4, overlap=True)  # type: ignore[arg-type]
    assert len(recording.writes) == 1 and store.count() == 4
    # at most the group after the failed one was embedded meanwhile, nothing further
    assert len(embedder.embedded) <= 3 * 4


def test_index_batch_propagates_an_embedding_error_and_writes_nothing_after_it(
    store: SqliteKnowledgeStore,
) -> None:
    embedder = ThreadRecordingEmbedder(fail_on="job 3")
    recording = RecordingStore(store)
    chunker = Chunker(embedder, chunk_tokens=16, overlap=2)
    with pytest.raises(EmbeddingError, match="injected"):
        index_batch(recording, embedder, chunker, MANY, group_size=4, overlap=True)  # type: ignore[arg-type]
    written = [cid for write in recording.writes for cid in write]
    order = [c.id for c in chunk_documents(MANY, chunker)]
    assert written == order[: len(written)]  # a prefix, in order, of what was planned
    assert not any("job 3" in c.chunk.text for c in store.keyword_search("job", top_k=500))


def test_index_batch_rejects_a_group_size_below_one(store: SqliteKnowledgeStore) -> None:
    embedder = CountingEmbedder()
    with pytest.raises(ValueError, match="group size"):
        index_batch(store, embedder, Chunker(embedder), MANY, group_size=0)
