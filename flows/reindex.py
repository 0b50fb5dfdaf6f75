"""The `reindex` workflow: build a new index version, verify it, swap it in, prune; or roll back.

Readers keep the live version until the swap, which is one atomic step, so a failed build or
verification leaves the knowledge base exactly as it was.
"""

from __future__ import annotations

from prefect import flow

from flows.results import PERSIST_JSON
from tasks.reindex import (
    activate_version,
    build_version,
    create_version,
    prune_versions,
    resolve_sources,
    rollback_version,
    verify_version,
)
from workflowai.knowledge.reindex import ReindexOutcome
from workflowai.params import ReindexParams
from workflowai.settings import Settings


@flow(name="reindex", flow_run_name="reindex-{params.run_label}", **PERSIST_JSON)
def reindex_flow(params: ReindexParams) -> ReindexOutcome:
    settings = Settings()
    if params.rollback:
        return rollback_version(settings)
    sources = resolve_sources(params.sources, settings)
    version = create_version(settings)
    summary = build_version(version, sources, settings)
    chunks = verify_version(version, summary.chunks_written, None, settings)
    previous = activate_version(version, settings)
    pruned = prune_versions(settings)
    return ReindexOutcome(version=version, previous=previous, chunks=chunks, pruned=pruned)
