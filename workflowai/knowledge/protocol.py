"""The knowledge-store protocol, implemented by the SQLite and Elasticsearch backends.

Hybrid search is not a store method: `workflowai.knowledge.fusion` fuses the results of
`keyword_search` and `vector_search` on the client, so both backends rank the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from workflowai.schemas import DuplicatePolicy, EmbeddedChunk, Metadata, ScoredChunk, StoreInfo

# document_hashes() reports this for a document whose chunks are not all there (its first
# chunk, written last, is missing): the next index run rewrites it instead of skipping it.
INCOMPLETE_HASH = "incomplete"


@runtime_checkable
class KnowledgeStore(Protocol):
    def ensure_schema(self, *, model: str, dim: int) -> None:
        """Create the index for this model/dimension, or check an existing one matches.

        Raises SchemaMismatchError when it was built with another model or dimension.
        """

    def write(
        self,
        chunks: Sequence[EmbeddedChunk],
        *,
        on_duplicate: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
    ) -> int:
        """Write chunks; returns how many were written. Raises BulkWriteError listing
        every failed id with its reason."""

    def delete(self, ids: Iterable[str]) -> None: ...

    def bulk(self) -> AbstractContextManager[None]:
        """The calling thread's writes and deletes inside become searchable together when it
        exits, errors included (Elasticsearch: one refresh for the block, not one per call).
        Inside it, searches, count() and document_hashes() may not see them yet. Nests; only
        the outermost exit refreshes."""

    def document_hashes(self) -> dict[str, str]:
        """document_id -> content hash of every indexed document (for skip and prune).

        INCOMPLETE_HASH for a document without its position-0 chunk or with chunks of two
        different hashes: a write of it was interrupted.
        """

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        """Remove every chunk of these documents; returns the number of chunks removed."""

    def count(self) -> int: ...

    def keyword_search(
        self, query: str, *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]: ...

    def vector_search(
        self, embedding: Sequence[float], *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]: ...

    def info(self) -> StoreInfo: ...

    def embedding_model(self) -> str | None:
        """The embedding model the stored vectors were made with; None before ensure_schema.
        Cheaper than info(): a search checks it before it compares vectors."""

    def close(self) -> None: ...
