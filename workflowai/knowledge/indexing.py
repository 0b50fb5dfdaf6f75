"""The index pipeline's pieces: plan (skip unchanged, prune), batch, and a streaming runner.

Tasks and flows call the pieces batch by batch; `index_documents` runs the same steps in one
process for the library, benchmarks and tests. Memory stays flat as the corpus grows: only one
batch of documents and chunks is held at a time, plus the id -> hash map of the index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from workflowai.knowledge.chunking import Chunker, chunk_documents
from workflowai.knowledge.embedding import embed_chunks, embedding_input
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.schemas import Document, IndexFailure, IndexSummary

T = TypeVar("T")
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


def index_documents(
    store: KnowledgeStore,
    embedder: Embedder,
    chunker: Chunker,
    items: Iterable[Document | IndexFailure],
    *,
    prune: bool = False,
    batch_size: int = 64,
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

    for batch in iter_batches(items, batch_size):
        documents = [d for d in batch if isinstance(d, Document)]
        failures.extend(f for f in batch if isinstance(f, IndexFailure))
        seen.update(d.id for d in documents)
        plan = plan_documents(documents, existing)
        if plan.replaced:
            store.delete_documents(plan.replaced)
        chunks = chunk_documents(plan.changed, chunker)
        store.write(embed_chunks(embedder, chunks))
        totals["seen"] += len(documents)
        totals["indexed"] += len(plan.changed)
        totals["unchanged"] += len(plan.unchanged)
        totals["chunks"] += len(chunks)
        totals["tokens"] += sum(embedder.count_tokens(embedding_input(c)) for c in chunks)
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
