"""The Elasticsearch backend: BM25 text fields, an HNSW `dense_vector`, keyword metadata.

The store only does I/O; bodies and queries come from `es_queries`. Engine failures are
translated here: connection errors, timeouts, 429 and 503 become StoreUnavailableError (tasks
retry those), every failed bulk item is reported by id and reason in BulkWriteError.
The client's own retries are kept low (settings.max_retries, default 1) because Prefect task
retries own the retry policy; both at once would multiply attempts.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch.serializer import OrjsonSerializer

from workflowai.errors import (
    BulkWriteError,
    DuplicateChunkError,
    SchemaMismatchError,
    StoreError,
    StoreUnavailableError,
)
from workflowai.knowledge import es_queries as q
from workflowai.knowledge.protocol import INCOMPLETE_HASH
from workflowai.schemas import DuplicatePolicy, EmbeddedChunk, Metadata, ScoredChunk, StoreInfo
from workflowai.settings import ElasticsearchSettings, Stemming

_TRANSIENT_STATUS = {408, 429, 502, 503, 504}
HEALTH_TIMEOUT_S = 5.0


class InsecureTransportWarning(UserWarning):
    """Credentials are configured for an Elasticsearch URL that is not https."""


def plaintext_credentials(settings: ElasticsearchSettings) -> bool:
    """True when an API key or a password would travel over plain http."""
    has_credentials = settings.api_key is not None or settings.password is not None
    return has_credentials and urlsplit(settings.url).scheme.lower() != "https"


def build_client(settings: ElasticsearchSettings) -> Elasticsearch:
    if plaintext_credentials(settings):
        warnings.warn(
            f"Elasticsearch credentials are sent in clear text to {urlsplit(settings.url).netloc}:"
            " use an https:// WORKFLOWAI_ELASTICSEARCH__URL (with __CA_CERTS) so they cannot be "
            "read on the network",
            InsecureTransportWarning,
            stacklevel=2,
        )
    auth: dict[str, Any] = {}
    if settings.api_key is not None:
        auth["api_key"] = settings.api_key.get_secret_value()
    elif settings.username and settings.password is not None:
        auth["basic_auth"] = (settings.username, settings.password.get_secret_value())
    return Elasticsearch(
        settings.url,
        # orjson: the standard json module spent ~0.8 s per 700 embedded chunks of a bulk
        # write (384 floats each), more than the node took to index them
        serializer=OrjsonSerializer(),
        request_timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
        retry_on_timeout=False,
        ca_certs=str(settings.ca_certs) if settings.ca_certs else None,
        verify_certs=settings.verify_certs,
        **auth,
    )


class ElasticsearchKnowledgeStore:
    """KnowledgeStore on one Elasticsearch index or alias (default: settings.alias)."""

    def __init__(
        self,
        settings: ElasticsearchSettings,
        index: str | None = None,
        *,
        refresh: bool = True,
        client: Elasticsearch | None = None,
    ) -> None:
        self._settings = settings
        self.index = index or settings.alias
        self._refresh = refresh
        # open bulk() blocks, per thread: a block defers its own thread's refreshes only, so a
        # write from another thread (a confirmed cause during an index run) is seen at once
        self._bulk = threading.local()
        self._client = client
        self._owns_client = client is None  # a client passed in is closed by its owner
        self._stemming: Stemming | None = None  # the index's own mode, read once

    @property
    def client(self) -> Elasticsearch:
        """The client, built and health-checked on first use (fails fast when unreachable)."""
        if self._client is None:
            client = build_client(self._settings)
            timeout = min(HEALTH_TIMEOUT_S, self._settings.request_timeout_s)
            try:
                with self._calls("health check"):
                    health = client.options(request_timeout=timeout).cluster.health()
            except StoreError:
                client.close()
                raise
            if health.get("status") == "red":
                client.close()
                raise StoreUnavailableError(
                    f"Elasticsearch {self._settings.url} cluster health is red: not usable now"
                )
            self._client = client
        return self._client

    @contextmanager
    def _calls(self, action: str) -> Iterator[None]:
        where = f"Elasticsearch {self._settings.url} index {self.index!r}"
        try:
            yield
        except ESConnectionError as exc:
            raise StoreUnavailableError(
                f"{where}: {action} failed, node unreachable: {exc} (is it running? "
                "scripts/es-start.sh starts a local node; WORKFLOWAI_ELASTICSEARCH__URL sets it)"
            ) from exc
        except ApiError as exc:
            message = f"{where}: {action} failed with HTTP {exc.meta.status}: {exc.message}"
            if exc.meta.status in _TRANSIENT_STATUS:
                raise StoreUnavailableError(message) from exc
            raise StoreError(message) from exc
        except TransportError as exc:  # timeouts and other transport failures
            raise StoreUnavailableError(f"{where}: {action} failed: {exc}") from exc

    def _exists(self) -> bool:
        with self._calls("check index"):
            return bool(self.client.indices.exists(index=self.index))

    def ensure_schema(self, *, model: str, dim: int) -> None:
        if not self._exists():
            body = q.index_body(model=model, dim=dim, stemming=self._resolve_stemming())
            name = self.index
            if self.index == self._settings.alias:
                # first use of the alias: a physical version behind it, so reindex can swap later
                name = f"{self.index}-v1"
                body["aliases"] = {self.index: {}}
                body["mappings"]["_meta"]["previous_version"] = ""  # live first: no history
            with self._calls("create index"):
                self.client.indices.create(index=name, **body)
            return
        meta = self.schema_meta()
        if meta.get("embedding_model") != model or int(meta.get("embedding_dim", -1)) != dim:
            raise SchemaMismatchError(
                f"index {self.index!r} was built with {meta.get('embedding_model')} "
                f"({meta.get('embedding_dim')}-d) but {model} ({dim}-d) is configured: "
                "run `workflowai reindex` to rebuild it with the new model"
            )

    def _resolve_stemming(self) -> Stemming:
        """The configured mode; AUTO: ENGLISH when the cluster has that analyzer, else CLIENT."""
        wanted = self._settings.stemming
        if wanted is not Stemming.AUTO:
            return wanted
        with self._calls("probe analyzers"):
            try:
                self.client.indices.analyze(analyzer="english", text="failures")
            except ApiError as exc:  # 400: no such analyzer (no analysis-common module)
                if exc.meta.status != 400:
                    raise
                return Stemming.CLIENT
        return Stemming.ENGLISH

    def stemming(self) -> Stemming:
        """How this index's BM25 fields are stemmed (its `_meta`; none before stemming)."""
        if self._stemming is None:
            self._stemming = Stemming(self.schema_meta().get("stemming", Stemming.NONE.value))
        return self._stemming

    def schema_meta(self, *, missing_ok: bool = False) -> dict[str, Any]:
        """The index mapping's `_meta`. A missing index raises StoreError, or with `missing_ok`
        gives {} from the same one request (no exists() call first)."""
        client = self.client.options(ignore_status=404) if missing_ok else self.client
        with self._calls("read mapping"):
            found = client.indices.get_mapping(index=self.index)
        # an alias resolves to its physical index: one entry (a 404 body has no "mappings")
        for body in found.body.values():
            if isinstance(body, dict) and "mappings" in body:
                return dict(body["mappings"].get("_meta") or {})
        return {}

    def write(
        self,
        chunks: Sequence[EmbeddedChunk],
        *,
        on_duplicate: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
    ) -> int:
        if not chunks:
            return 0
        op_type = "index" if on_duplicate is DuplicatePolicy.OVERWRITE else "create"
        failures: dict[str, str] = {}
        conflicts: list[str] = []
        written = 0
        with self._calls("bulk write"):
            for ok, item in helpers.streaming_bulk(
                self.client,
                q.index_actions(self.index, chunks, op_type, self.stemming()),
                chunk_size=self._settings.bulk_chunk_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=0,
            ):
                result = next(iter(item.values()))
                if ok:
                    written += 1
                elif result.get("status") == 409:
                    conflicts.append(str(result.get("_id")))
                else:
                    failures[str(result.get("_id"))] = _reason(result)
            self._changed()
        if failures:
            if all(r.startswith("HTTP 429") for r in failures.values()):
                raise StoreUnavailableError(f"bulk write throttled for {len(failures)} chunks")
            raise BulkWriteError(
                f"{len(failures)} of {len(chunks)} chunks failed to index", failures
            )
        if conflicts and on_duplicate is DuplicatePolicy.FAIL:
            raise DuplicateChunkError(f"chunks already indexed: {sorted(conflicts)[:10]}")
        return written

    def delete(self, ids: Iterable[str]) -> None:
        with self._calls("bulk delete"):
            for ok, item in helpers.streaming_bulk(
                self.client, q.delete_actions(self.index, ids), raise_on_error=False, max_retries=0
            ):
                result = item["delete"]
                if not ok and result.get("status") != 404:
                    raise StoreError(f"delete of {result.get('_id')} failed: {_reason(result)}")
            self._changed()

    def _changed(self) -> None:
        """Make a write or delete searchable now, or at the end of the open bulk() block."""
        if not self._refresh:
            return
        if getattr(self._bulk, "depth", 0):
            self._bulk.unrefreshed = True
        else:
            self.client.indices.refresh(index=self.index)

    @contextmanager
    def bulk(self) -> Iterator[None]:
        # A refresh per bulk write cut a new segment each time: on 2 cores, the segment work
        # it set off slowed the encoder beside it (index_throughput: 44-48 s against 41-43 s
        # with one refresh at the end, 150 SciFact abstracts). Indexing refreshes once a run.
        state = self._bulk
        state.depth = getattr(state, "depth", 0) + 1
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            state.depth -= 1
            if not state.depth and getattr(state, "unrefreshed", False):
                state.unrefreshed = False
                try:
                    with self._calls("refresh"):
                        self.client.indices.refresh(index=self.index)
                except StoreError:
                    if not failed:  # the body's own error tells the story; keep it
                        raise

    def document_hashes(self) -> dict[str, str]:
        if not self._exists():
            return {}
        hashes: dict[str, str] = {}
        after: dict[str, Any] | None = None
        with self._calls("read document hashes"):
            while True:
                body = q.hashes_aggregation(after)
                agg = self.client.search(index=self.index, **body)["aggregations"]["docs"]
                for bucket in agg["buckets"]:
                    doc, digest = bucket["key"]["document_id"], bucket["key"]["document_hash"]
                    complete = bucket["first_position"]["value"] == 0 and doc not in hashes
                    hashes[doc] = digest if complete else INCOMPLETE_HASH
                after = agg.get("after_key")
                if not agg["buckets"] or after is None:
                    return hashes

    def _chunk_ids(self, document_ids: Sequence[str]) -> list[str]:
        ids: list[str] = []
        with self._calls("find chunks of documents"):
            for hit in helpers.scan(
                self.client,
                index=self.index,
                query={"query": q.document_ids_query(document_ids)},
                _source=False,
                size=1000,
            ):
                ids.append(hit["_id"])
        return ids

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        wanted = list(document_ids)
        if not wanted:
            return 0
        # delete_by_query lives in the reindex module, absent from minimal distributions
        ids = [
            cid
            for start in range(0, len(wanted), 1000)
            for cid in self._chunk_ids(wanted[start : start + 1000])
        ]
        self.delete(ids)
        return len(ids)

    def count(self) -> int:
        with self._calls("count"):
            return int(self.client.count(index=self.index)["count"])

    def _scored(self, response: Any, key: str, convert: Any = float) -> list[ScoredChunk]:
        out = []
        for hit in response["hits"]["hits"]:
            score = convert(hit["_score"])
            out.append(ScoredChunk(chunk=q.chunk_from_hit(hit), score=score, scores={key: score}))
        return out

    def keyword_search(
        self, query: str, *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        if not query.strip():
            return []
        with self._calls("keyword search"):
            response = self.client.search(
                index=self.index,
                **q.keyword_query(query, top_k=top_k, filters=filters, stemming=self.stemming()),
            )
        return self._scored(response, "bm25")

    def vector_search(
        self, embedding: Sequence[float], *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        with self._calls("vector search"):
            response = self.client.search(
                index=self.index, **q.knn_query(embedding, top_k=top_k, filters=filters)
            )
        return self._scored(response, "cosine", lambda s: q.cosine_from_score(float(s)))

    def embedding_model(self) -> str | None:
        model = self.schema_meta(missing_ok=True).get("embedding_model")  # on every search
        return str(model) if model is not None else None

    def info(self) -> StoreInfo:
        meta = self.schema_meta() if self._exists() else {}
        with self._calls("stats"):
            chunks = self.count() if meta else 0
            stats = self.client.indices.stats(index=self.index, metric="store") if meta else None
        size = None
        if stats is not None:
            size = int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
        return StoreInfo(
            backend="elasticsearch",
            location=f"{self._settings.url}/{self.index}",
            documents=len(self.document_hashes()) if meta else 0,
            chunks=chunks,
            size_bytes=size,
            embedding_model=meta.get("embedding_model"),
            embedding_dim=int(meta["embedding_dim"]) if "embedding_dim" in meta else None,
        )

    def drop(self) -> None:
        """Delete this store's index (tests and tooling; never an alias)."""
        with self._calls("delete index"):
            self.client.indices.delete(index=self.index, ignore_unavailable=True)

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        self._client = None


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        return f"HTTP {result.get('status')}: {error.get('type')}: {error.get('reason')}"
    return f"HTTP {result.get('status')}: {error}"
