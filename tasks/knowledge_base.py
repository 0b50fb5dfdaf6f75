"""`ensure_knowledge_base`: index the starter knowledge base when the store is empty.

The starter entries ship in the repository's `knowledge_base/` folder; a deployment that
installs the package elsewhere points `WORKFLOWAI_REINDEX__SOURCES` at its own folders.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.errors import StoreError
from workflowai.history.confirm import confirmed_sources
from workflowai.schemas import IndexSummary
from workflowai.settings import Settings

REPO_KNOWLEDGE_BASE = Path(__file__).resolve().parent.parent / "knowledge_base"


def starter_sources(settings: Settings) -> list[Path]:
    """The configured reindex sources, else the repository's knowledge_base/ when present;
    plus the confirmed causes (`workflowai confirm`), which must survive a rebuild."""
    if settings.reindex.sources:
        sources = list(settings.reindex.sources)
    else:
        sources = [REPO_KNOWLEDGE_BASE] if REPO_KNOWLEDGE_BASE.is_dir() else []
    return [*sources, *(p for p in confirmed_sources(settings.confirmed_dir) if p not in sources)]


def knowledge_base_ready(settings: Settings) -> bool:
    """True when the store answers that it holds chunks, so `ensure_knowledge_base` has nothing
    to do and an analysis skips its task run (rows and events for the server to record).
    False when it is empty or does not answer: the task, with its retries, then decides."""
    try:
        return get_store(settings).count() > 0
    except StoreError:
        return False


@task(**task_policy(timeout_seconds=1800))
def ensure_knowledge_base(settings: Settings) -> IndexSummary:
    """Index the starter sources into an empty store; a no-op summary otherwise."""
    store, sources = get_store(settings), starter_sources(settings)
    if store.count() > 0 or not sources:
        return IndexSummary()
    # imported only when there is something to index: the splitter costs a second to import
    from workflowai.knowledge.chunking import Chunker
    from workflowai.knowledge.indexing import index_documents
    from workflowai.knowledge.sources import iter_documents

    embedder = get_embedder(settings)
    chunker = Chunker(
        embedder,
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    summary = index_documents(store, embedder, chunker, iter_documents(sources))
    get_run_logger().info(
        "indexed the starter knowledge base: %d documents, %d chunks from %s",
        summary.documents_indexed,
        summary.chunks_written,
        ", ".join(map(str, sources)),
    )
    return summary
