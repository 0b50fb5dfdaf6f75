"""History stores translate engine failures: unreachable Elasticsearch and an unreadable SQLite
file raise our errors (transient ones marked so), never the engine's."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflowai.errors import HistoryError, HistoryUnavailableError, is_transient
from workflowai.history.elasticsearch_store import ElasticsearchHistoryStore
from workflowai.history.models import RunQuery, RunRecord
from workflowai.history.sqlite_store import SqliteHistoryStore
from workflowai.settings import ElasticsearchSettings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


def test_elasticsearch_history_unreachable_is_transient() -> None:
    settings = ElasticsearchSettings(url=f"http://127.0.0.1:{_closed_port()}", max_retries=0)
    store = ElasticsearchHistoryStore(settings, "test-history")
    with pytest.raises(HistoryUnavailableError, match="node unreachable") as caught:
        store.find_runs(RunQuery())
    assert is_transient(caught.value)
    store.close()


@pytest.mark.parametrize("prefix", ["", "Upper", "-dash", "_under"])
def test_elasticsearch_history_rejects_bad_index_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="index prefix"):
        ElasticsearchHistoryStore(ElasticsearchSettings(), prefix)


def test_sqlite_history_unopenable_file_is_a_history_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "history.sqlite"
    not_a_db.write_bytes(b"this is not a database file" * 100)
    store = SqliteHistoryStore(not_a_db)
    with pytest.raises(HistoryError) as caught:
        store.record(RunRecord(id="1", recorded_at=datetime(2025, 3, 3, tzinfo=UTC)))
    assert not is_transient(caught.value)
