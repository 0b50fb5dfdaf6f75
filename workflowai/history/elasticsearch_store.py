"""The team history backend: two Elasticsearch indices (`<prefix>-runs`, `<prefix>-decisions`).

Bodies come from `es_queries`; this class does I/O, creates the indices on first use and
translates engine failures (unreachable node, timeouts, 429/503 become HistoryUnavailableError,
which tasks retry). Writes refresh the index, so the next analysis sees the run just recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch import ConnectionError as ESConnectionError

from workflowai.errors import HistoryError, HistoryUnavailableError
from workflowai.history import es_queries as q
from workflowai.history.models import CauseDecision, RunQuery, RunRecord, SignatureStats
from workflowai.knowledge.elasticsearch_store import build_client
from workflowai.settings import ElasticsearchSettings

_TRANSIENT_STATUS = {408, 429, 502, 503, 504}


class ElasticsearchHistoryStore:
    """HistoryStore on Elasticsearch; the constructor only stores configuration."""

    def __init__(
        self,
        settings: ElasticsearchSettings,
        prefix: str = "workflowai-history",
        *,
        refresh: bool = True,
        client: Elasticsearch | None = None,
    ) -> None:
        if not prefix or prefix != prefix.lower() or prefix.startswith(("-", "_", "+")):
            raise ValueError(f"index prefix must be lowercase, not start with -_+: {prefix!r}")
        self._settings = settings
        self.runs_index = f"{prefix}-runs"
        self.decisions_index = f"{prefix}-decisions"
        self._refresh = refresh
        self._client = client
        self._owns_client = client is None
        self._ready = False

    @contextmanager
    def _calls(self, action: str) -> Iterator[None]:
        where = f"Elasticsearch {self._settings.url} history"
        try:
            yield
        except ESConnectionError as exc:
            raise HistoryUnavailableError(
                f"{where}: {action} failed, node unreachable: {exc}"
            ) from exc
        except ApiError as exc:
            message = f"{where}: {action} failed with HTTP {exc.meta.status}: {exc.message}"
            if exc.meta.status in _TRANSIENT_STATUS:
                raise HistoryUnavailableError(message) from exc
            raise HistoryError(message) from exc
        except TransportError as exc:
            raise HistoryUnavailableError(f"{where}: {action} failed: {exc}") from exc

    @property
    def client(self) -> Elasticsearch:
        """The client, with both indices created on first use."""
        if self._client is None:
            self._client = build_client(self._settings)
        client = self._client
        if not self._ready:
            for index, body in (
                (self.runs_index, q.runs_index_body()),
                (self.decisions_index, q.decisions_index_body()),
            ):
                self._create(client, index, body)
            self._ready = True
        return client

    def _create(self, client: Elasticsearch, index: str, body: dict[str, Any]) -> None:
        with self._calls("create index"):
            if client.indices.exists(index=index):
                return
            try:
                client.indices.create(index=index, **body)
            except ApiError as exc:
                # another worker created it between our check and our create
                if exc.meta.status != 400 or "already_exists" not in str(exc.message):
                    raise

    def record(self, run: RunRecord) -> None:
        client = self.client
        with self._calls("record run"):
            client.index(
                index=self.runs_index,
                id=run.id,
                document=q.run_document(run),
                refresh=self._refresh,
            )

    def find_runs(self, query: RunQuery) -> list[RunRecord]:
        client = self.client
        with self._calls("find runs"):
            response = client.search(index=self.runs_index, **q.find_runs_body(query))
        return [RunRecord.model_validate(h["_source"]) for h in response["hits"]["hits"]]

    def stats(self, query: RunQuery) -> list[SignatureStats]:
        client = self.client
        with self._calls("aggregate runs"):
            response = client.search(index=self.runs_index, **q.stats_body(query))
        return q.stats_from_response(response)

    def save_decision(self, decision: CauseDecision) -> None:
        client = self.client
        with self._calls("save decision"):
            client.index(
                index=self.decisions_index,
                id=decision.id,
                document=q.decision_document(decision),
                refresh=self._refresh,
            )

    def decisions(self, key: str) -> list[CauseDecision]:
        client = self.client
        with self._calls("read decisions"):
            response = client.search(index=self.decisions_index, **q.decisions_body(key))
        return [CauseDecision.model_validate(h["_source"]) for h in response["hits"]["hits"]]

    def drop(self) -> None:
        """Delete both indices (tests and tooling)."""
        if self._client is None:
            self._client = build_client(self._settings)
        with self._calls("delete indices"):
            for index in (self.runs_index, self.decisions_index):
                self._client.indices.delete(index=index, ignore_unavailable=True)
        self._ready = False

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        self._client = None
        self._ready = False
