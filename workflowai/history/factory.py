"""Build the configured history store (the one place that chooses a backend)."""

from __future__ import annotations

from workflowai.history.protocol import HistoryStore
from workflowai.settings import HistoryBackend, Settings


def build_history_store(settings: Settings) -> HistoryStore:
    if settings.history.backend is HistoryBackend.ELASTICSEARCH:
        from workflowai.history.elasticsearch_store import ElasticsearchHistoryStore

        return ElasticsearchHistoryStore(settings.elasticsearch, settings.history.es_index_prefix)
    from workflowai.history.sqlite_store import SqliteHistoryStore

    return SqliteHistoryStore(settings.history_sqlite_path)
