"""Build the configured knowledge store (the one place that chooses a backend)."""

from __future__ import annotations

from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.settings import Settings, StoreBackend


def build_store(settings: Settings) -> KnowledgeStore:
    if settings.store.backend is StoreBackend.ELASTICSEARCH:
        from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore

        return ElasticsearchKnowledgeStore(settings.elasticsearch)
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore

    return SqliteKnowledgeStore(settings.sqlite_path)
