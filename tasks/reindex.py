"""Reindex steps as tasks: build a new version, verify it, swap it in, prune, roll back.

Readers keep using the live version until `activate_version` moves the alias (Elasticsearch)
or the pointer file (SQLite) in one step; the live store cached in this process is then
dropped so later tasks read the new version.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from tasks.inputs import worker_paths
from tasks.knowledge_base import starter_sources
from tasks.policy import task_policy
from tasks.resources import forget_store, get_embedder
from workflowai.errors import ConfigError
from workflowai.history.confirm import confirmed_sources
from workflowai.knowledge import reindex as steps
from workflowai.knowledge.chunking import Chunker
from workflowai.knowledge.factory import build_versions
from workflowai.knowledge.indexing import index_documents
from workflowai.knowledge.sources import iter_documents
from workflowai.schemas import IndexSummary
from workflowai.settings import Settings


@task(**task_policy(timeout_seconds=120))
def create_version(settings: Settings) -> str:
    """A new, empty, not-yet-live index version for the configured embedding model."""
    embedder = get_embedder(settings)
    return build_versions(settings).create(model=embedder.model_name, dim=embedder.dim)


@task(**task_policy(timeout_seconds=7200))
def build_version(version: str, sources: list[Path], settings: Settings) -> IndexSummary:
    """Index every source into `version` (streamed in batches by the library)."""
    embedder = get_embedder(settings)
    store = build_versions(settings).open(version)
    chunker = Chunker(
        embedder,
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    try:
        return index_documents(store, embedder, chunker, iter_documents(sources))
    finally:
        store.close()


@task(**task_policy(timeout_seconds=300))
def verify_version(
    version: str, expected_chunks: int, probe: str | None, settings: Settings
) -> int:
    """The version's chunk count, after checking it and a smoke query (VerificationError)."""
    store = build_versions(settings).open(version)
    try:
        return steps.verify_version(
            store,
            expected_chunks=expected_chunks,
            embedder=get_embedder(settings),
            probe_text=probe,
        )
    finally:
        store.close()


@task(**task_policy(timeout_seconds=120))
def activate_version(version: str, settings: Settings) -> str | None:
    """Make `version` live atomically; returns the version that was live before."""
    previous = build_versions(settings).activate(version)
    forget_store(settings)
    return previous


@task(**task_policy(timeout_seconds=300))
def prune_versions(settings: Settings) -> list[str]:
    """Drop versions beyond `keep_versions` (never the live one)."""
    return steps.prune_versions(build_versions(settings), keep=settings.elasticsearch.keep_versions)


@task(**task_policy(timeout_seconds=120))
def rollback_version(settings: Settings) -> steps.ReindexOutcome:
    """Re-activate the newest version older than the live one."""
    versions = build_versions(settings)
    live, target = steps.rollback(versions)
    forget_store(settings)
    store = versions.open(target)
    try:
        return steps.ReindexOutcome(version=target, previous=live, chunks=store.count(), pruned=[])
    finally:
        store.close()


@task(**task_policy(timeout_seconds=30, retries=0))
def resolve_sources(sources: list[Path], settings: Settings) -> list[Path]:
    """The folders to reindex: given, else configured, else the starter KB; never none. The
    confirmed causes' folder is always added (a rebuild must not lose them).

    Given folders of a deployment run must lie under the allowed roots (PathNotAllowedError);
    configured ones are the operator's and need not.
    """
    given = worker_paths(sources, settings)
    confirmed = [p for p in confirmed_sources(settings.confirmed_dir) if p not in given]
    resolved = [*given, *confirmed] if given else starter_sources(settings)
    if not resolved:
        raise ConfigError(
            "nothing to reindex: pass source folders or set WORKFLOWAI_REINDEX__SOURCES"
        )
    return resolved
