"""Task retries under Prefect, by FAULT INJECTION: a store that fails the first writes.

`FlakyStore` wraps the real SQLite store and raises StoreUnavailableError (transient) on its
first `failures` writes. It is registered as this process's store, so the real `index` flow
and its real `index_batch` task (with the shared retry policy) run against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.index import index_flow
from tasks.resources import register_store
from tests.flows.corpus import write_corpus
from workflowai.errors import BulkWriteError, StoreUnavailableError
from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore
from workflowai.params import IndexParams
from workflowai.schemas import EmbeddedChunk
from workflowai.settings import Settings


class FlakyStore:
    """The real store, except that the first `failures` writes raise a transient error."""

    def __init__(
        self, inner: SqliteKnowledgeStore, failures: int, error: Exception | None = None
    ) -> None:
        self._inner = inner
        self._error = error or StoreUnavailableError("injected: database is locked")
        self.failures_left = failures
        self.write_calls = 0

    def write(self, chunks: Sequence[EmbeddedChunk], **kwargs: Any) -> int:
        self.write_calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise self._error
        return self._inner.write(chunks, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _flaky(failures: int, error: Exception | None = None) -> FlakyStore:
    settings = Settings()
    store = FlakyStore(SqliteKnowledgeStore(settings.sqlite_path), failures, error)
    register_store(settings, store)  # type: ignore[arg-type]
    return store


def _task_run_counts(flow_run_id: Any, name_prefix: str) -> list[int]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return [r.run_count for r in runs if r.name.startswith(name_prefix)]


@pytest.mark.slow
def test_transient_store_fault_is_retried_and_the_flow_completes(
    workflowai_home: Path, tmp_path: Path
) -> None:
    store = _flaky(failures=2)
    state = index_flow(IndexParams(paths=[write_corpus(tmp_path / "kb")]), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.documents_indexed == 3
    assert store.write_calls == 3  # two injected failures, then the real write
    assert store.count() == summary.chunks_written
    assert _task_run_counts(state.state_details.flow_run_id, "index_batch") == [3]


@pytest.mark.slow
def test_persistent_store_fault_fails_the_run_with_the_reason(
    workflowai_home: Path, tmp_path: Path
) -> None:
    store = _flaky(failures=100)
    state = index_flow(IndexParams(paths=[write_corpus(tmp_path / "kb")]), return_state=True)
    assert state.is_failed()
    with pytest.raises(StoreUnavailableError, match="injected: database is locked"):
        state.result()
    assert store.write_calls == 4  # the first try and three retries
    assert _task_run_counts(state.state_details.flow_run_id, "index_batch") == [4]


@pytest.mark.slow
def test_permanent_store_error_is_not_retried(workflowai_home: Path, tmp_path: Path) -> None:
    store = _flaky(failures=100, error=BulkWriteError("injected: mapping rejected", {"c1": "x"}))
    state = index_flow(IndexParams(paths=[write_corpus(tmp_path / "kb")]), return_state=True)
    assert state.is_failed()
    with pytest.raises(BulkWriteError, match="injected: mapping rejected"):
        state.result()
    assert store.write_calls == 1
