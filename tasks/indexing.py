"""Index tasks: plan, index a batch (chunk + embed + write), prune and summarize.

A task run costs milliseconds of orchestration, so none of these is ever mapped per chunk:
the index flow hands `index_batch` a batch of documents, which it chunks, embeds and writes
in one run (`workflowai.knowledge.indexing.index_batch`: the steps overlap on a GPU).
Chunks and vectors never become task inputs or results: Prefect walks every value of a task's
inputs, and a batch of 256 embedded chunks (98k floats) cost ~5 s there.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict, Field

from tasks.inputs import worker_paths
from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.indexing import index_batch as index_documents_batch
from workflowai.knowledge.indexing import plan_documents, prune_candidates
from workflowai.knowledge.sources import iter_documents
from workflowai.schemas import Document, IndexFailure, IndexSummary
from workflowai.settings import Settings


class IndexPlan(BaseModel):
    """What an index run will do: documents to (re)index, what to delete, what failed to read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    changed: list[Document] = Field(default_factory=list)
    unchanged: int = 0
    replaced: list[str] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list, description="to prune (when asked)")
    failures: list[IndexFailure] = Field(default_factory=list)
    seen: int = 0
    started_at: float = 0.0


class BatchWritten(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    chunks: int
    tokens: int


@task(**task_policy(timeout_seconds=1800))
def plan_index(paths: list[Path], prune: bool, settings: Settings) -> IndexPlan:
    """Read the sources and compare content hashes with the index (skip unchanged).

    In a deployment run the paths must lie under the allowed roots (PathNotAllowedError).
    """
    started = time.time()
    store, embedder = get_store(settings), get_embedder(settings)
    store.ensure_schema(model=embedder.model_name, dim=embedder.dim)
    existing = store.document_hashes()
    items = list(iter_documents(worker_paths(paths, settings)))
    documents = [d for d in items if isinstance(d, Document)]
    failures = [f for f in items if isinstance(f, IndexFailure)]
    plan = plan_documents(documents, existing)
    stale, refused = prune_candidates(existing, (d.id for d in documents), failures)
    return IndexPlan(
        changed=plan.changed,
        unchanged=len(plan.unchanged),
        replaced=plan.replaced,
        stale=stale if prune else [],
        failures=failures + (refused if prune else []),
        seen=len(documents),
        started_at=started,
    )


@task(**task_policy(timeout_seconds=600))
def prune_documents(document_ids: list[str], settings: Settings) -> int:
    """Delete every chunk of these documents; returns the chunks removed."""
    return get_store(settings).delete_documents(document_ids) if document_ids else 0


@task(**task_policy(timeout_seconds=1800))
def index_batch(documents: list[Document], group_chunks: int, settings: Settings) -> BatchWritten:
    """Chunk, embed and bulk-write a batch of documents, `group_chunks` chunks per write.

    Idempotent: chunk ids are content hashes, so a retry chunks, embeds and writes the whole
    batch again and overwrites what the failed attempt had written. No tag: a tagged task run
    asks the API for its tag's concurrency slots before it starts, and on the embedded SQLite
    server that request met the previous batch's event writes (503, then 2-7 s of backoff).
    """
    embedding = settings.embedding
    embedder = get_embedder(settings)
    chunker = Chunker(
        embedder, chunk_tokens=embedding.chunk_tokens, overlap=embedding.chunk_overlap
    )
    store = get_store(settings)
    with store.bulk():  # the batch becomes searchable at its end: one refresh per task run
        counts = index_documents_batch(store, embedder, chunker, documents, group_size=group_chunks)
    return BatchWritten(chunks=counts.chunks, tokens=counts.tokens)


@task(**task_policy(timeout_seconds=60, retries=0))
def summarize_index(plan: IndexPlan, batches: list[BatchWritten]) -> IndexSummary:
    """The run's IndexSummary (documents, chunks, skipped unchanged, pruned, failures)."""
    return IndexSummary(
        documents_seen=plan.seen,
        documents_indexed=len(plan.changed),
        documents_unchanged=plan.unchanged,
        documents_pruned=len(plan.stale),
        chunks_written=sum(b.chunks for b in batches),
        tokens_embedded=sum(b.tokens for b in batches),
        failures=plan.failures,
        seconds=time.time() - plan.started_at,
    )
