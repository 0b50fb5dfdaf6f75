"""Reindex steps: build a new version, verify it, swap the alias atomically, prune, roll back.

The Prefect `reindex` flow runs each step as a task, with the index tasks in between:

    version = create_version(versions, embedder)         # new, empty, not live
    ... index every source into versions.open(version) ...
    verify_version(versions.open(version), expected_chunks=n, embedder=embedder, probe_text=None)
    previous = versions.activate(version)                # one atomic step
    prune_versions(versions, keep=settings.elasticsearch.keep_versions)

`reindex_documents` runs the same steps in one process (CLI, benchmarks, tests). Readers keep
using the live version until `activate`; a failed verification raises VerificationError and
leaves the live version as it was (the rejected version stays for inspection until pruned).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from workflowai.errors import StoreError
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.indexing import index_documents
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.knowledge.versions import IndexVersions, version_number
from workflowai.schemas import Document, IndexFailure

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,}")


class VerificationError(StoreError):
    """A freshly built version failed its checks; the live version was left untouched."""


class ReindexOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    previous: str | None
    chunks: int
    pruned: list[str]


def create_version(versions: IndexVersions, embedder: Embedder) -> str:
    """A new, empty version with the embedder's model and dimension; not live."""
    return versions.create(model=embedder.model_name, dim=embedder.dim)


def verify_version(
    store: KnowledgeStore, *, expected_chunks: int, embedder: Embedder, probe_text: str | None
) -> int:
    """Check a built version before it goes live; returns its chunk count.

    The count must equal what was written, a vector query must return hits, and a keyword
    query must find something: `probe_text`, or (None) a word of the vector query's top hit.
    Raises VerificationError saying which check failed.
    """
    count = store.count()
    if count != expected_chunks:
        raise VerificationError(
            f"new version holds {count} chunks, {expected_chunks} were written: not activated"
        )
    if not count:
        return count
    hits = store.vector_search(embedder.embed_query(probe_text or "error"), top_k=1)
    if not hits:
        raise VerificationError("smoke vector query found nothing: not activated")
    if probe_text is None:
        words = _WORD.findall(f"{hits[0].chunk.title} {hits[0].chunk.text}")
        probe_text = words[0] if words else None
    if probe_text and not store.keyword_search(probe_text, top_k=1):
        raise VerificationError(f"smoke keyword query {probe_text!r} found nothing: not activated")
    return count


def rollback_target(versions: IndexVersions) -> str | None:
    """The version `rollback` would make live: the one live before the live one, if kept."""
    live = versions.current()
    if live is None:
        return None
    previous = versions.predecessor(live)
    return previous if previous in versions.list() else None


def prune_versions(versions: IndexVersions, *, keep: int) -> list[str]:
    """Drop the oldest versions so that `keep` remain; returns the dropped ones, oldest first.

    Never drops the live version nor the rollback target, even when keep < 2.
    """
    protected = {versions.current(), rollback_target(versions)} - {None}
    candidates = sorted((v for v in versions.list() if v not in protected), key=version_number)
    surplus = max(0, len(candidates) + len(protected) - max(keep, len(protected)))
    dropped = candidates[:surplus]
    for version in dropped:
        versions.drop(version)
    return dropped


def rollback(versions: IndexVersions) -> tuple[str, str]:
    """Make the version that was live before the live one live again: returns (from, to).

    Repeated rollbacks walk further back through the activation history.
    """
    live = versions.current()
    if live is None:
        raise StoreError("no live knowledge-base version to roll back from")
    target = rollback_target(versions)
    if target is None:
        raise StoreError(f"no version live before {live} is kept: nothing to roll back to")
    versions.activate(target)
    return live, target


def reindex_documents(
    versions: IndexVersions,
    embedder: Embedder,
    chunker: Chunker,
    items: Iterable[Document | IndexFailure],
    *,
    keep: int,
    probe_text: str | None = None,
    batch_size: int = 256,
) -> ReindexOutcome:
    """Build, verify, activate and prune in one process (what the reindex flow does in tasks)."""
    version = create_version(versions, embedder)
    store = versions.open(version)
    try:
        summary = index_documents(store, embedder, chunker, items, batch_size=batch_size)
        chunks = verify_version(
            store, expected_chunks=summary.chunks_written, embedder=embedder, probe_text=probe_text
        )
    finally:
        store.close()
    previous = versions.activate(version)
    return ReindexOutcome(
        version=version,
        previous=previous,
        chunks=chunks,
        pruned=prune_versions(versions, keep=keep),
    )
