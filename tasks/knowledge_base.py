"""`ensure_knowledge_base`: index the starter knowledge base when the store is empty.

The starter entries ship in the repository's `knowledge_base/` folder; a deployment that
installs the package elsewhere points `WORKFLOWAI_REINDEX__SOURCES` at its own folders.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from tasks.policy import task_policy
from tasks.progress import report_progress, start_progress
from tasks.resources import get_embedder, get_store
from workflowai.errors import StoreError
from workflowai.history.confirm import confirmed_sources
from workflowai.schemas import Document, IndexSummary
from workflowai.settings import Settings

REPO_KNOWLEDGE_BASE = Path(__file__).resolve().parent.parent / "knowledge_base"
STARTER_UNIT = "starter knowledge base (first run)"


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


def prepare_indexing(settings: Settings) -> bool:
    """Where `ensure_knowledge_base` will index something (an empty store, a source with a
    document), import the indexing code and load the embedding model it will use, and return
    True (the CLI does this while the local server starts: both take seconds). Else False,
    and nothing is loaded: a query alone needs no torch."""
    if knowledge_base_ready(settings):
        return False
    from workflowai.knowledge import chunking, indexing  # noqa: F401
    from workflowai.knowledge.sources import iter_documents

    items = iter_documents(starter_sources(settings))  # lazy: stops at the first document
    if not any(isinstance(item, Document) for item in items):
        return False
    load = getattr(get_embedder(settings), "load", None)  # models loaded lazily have one
    if callable(load):
        load()
    return True


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
    # a first pass counts, for the progress bar's total: it reads the sources once more
    # (0.14 s for the repository's 125 entries, whose embedding takes ~2 s)
    total = sum(1 for item in iter_documents(sources) if isinstance(item, Document))
    progress = start_progress("starter-knowledge-base", total, STARTER_UNIT)
    summary = index_documents(
        store,
        embedder,
        chunker,
        iter_documents(sources),
        # the bar moves once per batch (256 documents): batches of 64 moved it twice for the
        # repository's 125 entries but took 2.1-2.2 s against 2.0 s (258 chunks, bfloat16)
        on_progress=lambda done: report_progress(
            progress, done.documents_seen, total, STARTER_UNIT
        ),
    )
    get_run_logger().info(
        "indexed the starter knowledge base: %d documents, %d chunks from %s",
        summary.documents_indexed,
        summary.chunks_written,
        ", ".join(map(str, sources)),
    )
    return summary
