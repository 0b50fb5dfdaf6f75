"""The `store` and `history_store` fixtures: every contract test runs on each backend.

SQLite uses a temporary file; Elasticsearch (marked `integration`) uses the real node that
`scripts/es-start.sh` starts, with a fresh index per test, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflowai.history.protocol import HistoryStore
from workflowai.knowledge.protocol import KnowledgeStore

ES_URL = os.environ.get("WORKFLOWAI_TEST_ES_URL", "http://127.0.0.1:9200")


def _sqlite_store(tmp_path: Path) -> KnowledgeStore:
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore

    return SqliteKnowledgeStore(tmp_path / "kb.sqlite")


def _elasticsearch_store(tmp_path: Path) -> KnowledgeStore:
    from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
    from workflowai.settings import ElasticsearchSettings

    settings = ElasticsearchSettings(url=ES_URL)
    return ElasticsearchKnowledgeStore(settings, index=f"test-contract-{uuid.uuid4().hex[:12]}")


BACKENDS = {"sqlite": _sqlite_store, "elasticsearch": _elasticsearch_store}


@pytest.fixture(
    params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KnowledgeStore]:
    backend = BACKENDS[request.param](tmp_path)
    try:
        yield backend
    finally:
        drop = getattr(backend, "drop", None)  # test-only cleanup: ES deletes its index
        if callable(drop):
            drop()
        backend.close()


def _sqlite_history(tmp_path: Path) -> HistoryStore:
    from workflowai.history.sqlite_store import SqliteHistoryStore

    return SqliteHistoryStore(tmp_path / "history.sqlite")


def _elasticsearch_history(tmp_path: Path) -> HistoryStore:
    from workflowai.history.elasticsearch_store import ElasticsearchHistoryStore
    from workflowai.settings import ElasticsearchSettings

    prefix = f"test-history-{uuid.uuid4().hex[:12]}"
    return ElasticsearchHistoryStore(ElasticsearchSettings(url=ES_URL), prefix)


HISTORY_BACKENDS = {"sqlite": _sqlite_history, "elasticsearch": _elasticsearch_history}


@pytest.fixture(
    params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)],
)
def history_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    backend = HISTORY_BACKENDS[request.param](tmp_path)
    try:
        yield backend
    finally:
        drop = getattr(backend, "drop", None)  # test-only cleanup: ES deletes its indices
        if callable(drop):
            drop()
        backend.close()
