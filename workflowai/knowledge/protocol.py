"""The knowledge-store protocol, implemented by the SQLite and Elasticsearch backends.

Hybrid search is not a store method: `workflowai.knowledge.fusion` fuses the results of
`keyword_search` and `vector_search` on the client, so both backends rank the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from workflowai.schemas import DuplicatePolicy, EmbeddedChunk, Metadata, ScoredChunk, StoreInfo


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

    def document_hashes(self) -> dict[str, str]:
        """document_id -> content hash of every indexed document (for skip and prune)."""

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

    def close(self) -> None: ...
