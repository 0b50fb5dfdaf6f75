"""The index pipeline's pieces: plan (skip unchanged, prune), batch, and a streaming runner.

Tasks and flows call the pieces batch by batch; `index_documents` runs the same steps in one
process for the library, benchmarks and tests. Memory stays flat as the corpus grows: only one
batch of documents and chunks is held at a time, plus the id -> hash map of the index.

Within a batch (`index_batch`) chunks are written a group at a time. Where the encoder runs
off the CPU (a GPU), the steps overlap: a worker thread embeds group k+1 while the calling
thread writes group k and chunks group k+2. On CPU cores they do not: the encoder's OpenMP
threads already use every core, and a chunker or a bulk write beside them made a batch
slower, not faster (2 cores, 100 SciFact abstracts into Elasticsearch: 44.3 s one step after
another, 46.4 s with writes overlapped, 48.8 s with chunking overlapped too). There the whole
batch (up to CPU_ENCODE_CHUNKS chunks) goes to the encoder in one call, then to the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from workflowai.knowledge.chunking import Chunker, chunk_documents
from workflowai.knowledge.embedding import embed_chunks
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.schemas import Chunk, Document, EmbeddedChunk, IndexFailure, IndexSummary

T = TypeVar("T")
# chunks per encode call on the CPU: their vectors are held as Python floats until written
# (~12 KB a chunk for 384 dimensions, so ~25 MB at this size)
CPU_ENCODE_CHUNKS = 2048
ProgressFn = Callable[[IndexSummary], None]


def iter_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, pulled lazily from `items`."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class IndexPlan:
    changed: list[Document] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # changed documents that are already indexed (their old chunks must go first)
    replaced: list[str] = field(default_factory=list)


def plan_documents(documents: Iterable[Document], existing_hashes: Mapping[str, str]) -> IndexPlan:
    """Split documents into changed (new or edited) and unchanged, by content hash."""
    plan = IndexPlan()
    for document in documents:
        known = existing_hashes.get(document.id)
        if known == document.content_hash:
            plan.unchanged.append(document.id)
            continue
        plan.changed.append(document)
        if known is not None:
            plan.replaced.append(document.id)
    return plan


def documents_to_prune(existing_ids: Iterable[str], seen_ids: Iterable[str]) -> list[str]:
    """Indexed document ids that the sources no longer hold, sorted."""
    seen = set(seen_ids)
    return sorted(i for i in existing_ids if i not in seen)


def prune_candidates(
    existing_ids: Iterable[str], seen_ids: Iterable[str], failures: list[IndexFailure]
) -> tuple[list[str], list[IndexFailure]]:
    """Documents to prune, plus a failure explaining a refusal.

    A source that failed to read yields no documents, so pruning would delete what it holds:
    with any read failure nothing is pruned and the returned failure says so.
    """
    if failures:
        reason = f"prune skipped: {len(failures)} source(s) failed to read; fix them and rerun"
        return [], [IndexFailure(source="prune", reason=reason)]
    return documents_to_prune(existing_ids, seen_ids), []


@dataclass(frozen=True)
class BatchCounts:
    chunks: int
    tokens: int


def _chunk_groups(
    documents: Iterable[Document], chunker: Chunker, size: int
) -> Iterator[list[Chunk]]:
    """The documents' chunks in write order, `size` at a time, chunked lazily (one document
    ahead of what is yielded), so chunking interleaves with the embedding of earlier groups."""
    pending: list[Chunk] = []
    for document in documents:
        pending.extend(chunk_documents([document], chunker))
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def encodes_off_cpu(embedder: Embedder) -> bool:
    """True when the embedder's model runs on an accelerator, so host work can overlap it."""
    device = str(getattr(embedder, "device", "cpu"))
    return not device.startswith("cpu")


def index_batch(
    store: KnowledgeStore,
    embedder: Embedder,
    chunker: Chunker,
    documents: Iterable[Document],
    *,
    group_size: int = 256,
    overlap: bool | None = None,
) -> BatchCounts:
    """Chunk, embed and write documents, `group_size` chunks per write.

    Writes keep the chunks' order, so a document's position-0 chunk is written after its
    others. With `overlap` (default: when the model runs off the CPU) the embedder runs in one
    worker thread, a group at a time and in order, while the calling thread writes the group
    before and chunks the group after; the store is only used from the calling thread
    (SQLite connections belong to their thread). An error in any step propagates once the
    step in flight ends; nothing later is started.
    """
    if group_size < 1:
        raise ValueError(f"group size must be >= 1, got {group_size}")
    if overlap is None:
        overlap = encodes_off_cpu(embedder)
    chunks = tokens = 0
    if not overlap:
        # one encode call for up to CPU_ENCODE_CHUNKS chunks, written `group_size` at a time:
        # the embedder forms its passes by token count, and the more chunks it orders at once
        # the less padding (SciFact: 1,367 chunks in one call 5% faster than in groups of 256)
        for part in _chunk_groups(documents, chunker, max(group_size, CPU_ENCODE_CHUNKS)):
            tokens += sum(chunker.tokens(c) for c in part)  # memoized by the chunker
            for group in iter_batches(embed_chunks(embedder, part), group_size):
                chunks += store.write(group)
        return BatchCounts(chunks=chunks, tokens=tokens)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
    embedding: Future[list[EmbeddedChunk]] | None = None
    try:
        for group in _chunk_groups(documents, chunker, group_size):
            tokens += sum(chunker.tokens(c) for c in group)  # memoized by the chunker
            following = pool.submit(embed_chunks, embedder, group)
            if embedding is not None:
                chunks += store.write(embedding.result())
            embedding = following
        if embedding is not None:
            chunks += store.write(embedding.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return BatchCounts(chunks=chunks, tokens=tokens)


def index_documents(
    store: KnowledgeStore,
    embedder: Embedder,
    chunker: Chunker,
    items: Iterable[Document | IndexFailure],
    *,
    prune: bool = False,
    batch_size: int = 256,
    group_size: int = 256,
    on_progress: ProgressFn | None = None,
) -> IndexSummary:
    """Index a stream of documents, one batch in memory at a time.

    Unchanged documents (same content hash) are neither re-chunked nor re-embedded; a changed
    document loses its old chunks before the new ones are written. With `prune`, documents in
    the index but absent from `items` are deleted, unless some source failed to read (its
    documents would look absent): then prune is skipped and says so in `failures`.
    Store errors propagate (StoreUnavailableError is transient: the caller retries).
    """
    started = time.perf_counter()
    store.ensure_schema(model=embedder.model_name, dim=embedder.dim)
    existing = store.document_hashes()
    seen: set[str] = set()
    totals = {"seen": 0, "indexed": 0, "unchanged": 0, "chunks": 0, "tokens": 0}
    failures: list[IndexFailure] = []

    def summary(pruned: int = 0) -> IndexSummary:
        return IndexSummary(
            documents_seen=totals["seen"],
            documents_indexed=totals["indexed"],
            documents_unchanged=totals["unchanged"],
            documents_pruned=pruned,
            chunks_written=totals["chunks"],
            tokens_embedded=totals["tokens"],
            failures=list(failures),
            seconds=time.perf_counter() - started,
        )

    with store.bulk():  # searchable together at the end: one refresh, not one per write
        for batch in iter_batches(items, batch_size):
            documents = [d for d in batch if isinstance(d, Document)]
            failures.extend(f for f in batch if isinstance(f, IndexFailure))
            seen.update(d.id for d in documents)
            plan = plan_documents(documents, existing)
            if plan.replaced:
                store.delete_documents(plan.replaced)
            written = index_batch(store, embedder, chunker, plan.changed, group_size=group_size)
            totals["seen"] += len(documents)
            totals["indexed"] += len(plan.changed)
            totals["unchanged"] += len(plan.unchanged)
            totals["chunks"] += written.chunks
            totals["tokens"] += written.tokens
            if on_progress is not None:
                on_progress(summary())
        pruned = 0
        if prune:
            stale, refused = prune_candidates(existing, seen, failures)
            failures.extend(refused)
            if stale:
                store.delete_documents(stale)
            pruned = len(stale)
    return summary(pruned)
