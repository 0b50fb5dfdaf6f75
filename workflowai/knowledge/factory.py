"""Build the configured knowledge store (the one place that chooses a backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.settings import Settings, StoreBackend

if TYPE_CHECKING:
    from workflowai.knowledge.versions import IndexVersions


def build_store(settings: Settings) -> KnowledgeStore:
    if settings.store.backend is StoreBackend.ELASTICSEARCH:
        from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore

        return ElasticsearchKnowledgeStore(settings.elasticsearch)
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
    from workflowai.knowledge.versions import SqliteIndexVersions

    # the live version once `reindex` has run, else the configured file itself
    return SqliteKnowledgeStore(SqliteIndexVersions(settings.sqlite_path).live_path())


def build_versions(settings: Settings) -> IndexVersions:
    if settings.store.backend is StoreBackend.ELASTICSEARCH:
        from workflowai.knowledge.versions import ElasticsearchIndexVersions

        return ElasticsearchIndexVersions(settings.elasticsearch)
    from workflowai.knowledge.versions import SqliteIndexVersions

    return SqliteIndexVersions(settings.sqlite_path)
