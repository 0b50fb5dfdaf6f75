"""The embedder protocol (real backend: `embedding.SentenceTransformerEmbedder`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    @property
    def model_name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalized embeddings, one per text, batched internally."""

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` (special tokens included)."""
