"""Reindex steps: build a new version, verify it, swap the alias atomically, prune, roll back.

The Prefect `reindex` flow runs these as tasks with the index tasks in between; readers keep
using the live version until `activate` moves the alias in one step.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workflowai.errors import StoreError
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.knowledge.versions import IndexVersions, version_number


class VerificationError(StoreError):
    """A freshly built version failed its checks; the live version was left untouched."""


class ReindexOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    previous: str | None
    chunks: int
    pruned: list[str]


def verify_version(
    store: KnowledgeStore, *, expected_chunks: int, embedder: Embedder, probe_text: str | None
) -> int:
    """Count equals what was written, and a smoke query finds something. Returns the count."""
    count = store.count()
    if count != expected_chunks:
        raise VerificationError(
            f"new version holds {count} chunks, {expected_chunks} were written: not activated"
        )
    if count and probe_text:
        if not store.keyword_search(probe_text, top_k=1):
            raise VerificationError(f"smoke keyword query {probe_text!r} found nothing")
        if not store.vector_search(embedder.embed_query(probe_text), top_k=1):
            raise VerificationError("smoke vector query found nothing")
    return count


def prune_versions(versions: IndexVersions, *, keep: int) -> list[str]:
    """Drop the oldest versions beyond `keep`; never the live one."""
    live = versions.current()
    candidates = [v for v in versions.list() if v != live]
    surplus = max(0, len(candidates) - max(keep - 1, 0))
    dropped = sorted(candidates, key=version_number)[:surplus]
    for version in dropped:
        versions.drop(version)
    return dropped


def rollback(versions: IndexVersions) -> tuple[str, str]:
    """Make the newest version older than the live one live again: (from, to)."""
    live = versions.current()
    if live is None:
        raise StoreError("no live knowledge-base version to roll back from")
    older = [v for v in versions.list() if version_number(v) < version_number(live)]
    if not older:
        raise StoreError(f"no version older than {live} is kept: nothing to roll back to")
    target = max(older, key=version_number)
    versions.activate(target)
    return live, target
