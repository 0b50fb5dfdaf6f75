"""Typed values passed between steps: documents, chunks, search and generation.

Frozen pydantic models so tasks can pass them around and Prefect can persist them. The analysis
report lives in `workflowai.analysis.report` (it is versioned and has a published schema).
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflowai.settings import FusionMethod, SearchMode

# metadata values stay scalar so both backends can filter on them as keywords
MetaValue = str | int | float | bool
Metadata = dict[str, MetaValue]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Document(_Frozen):
    """A source document. `id` is stable across runs (the source path plus a record key)."""

    id: str
    title: str = ""
    content: str
    source: str
    metadata: Metadata = Field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Hash of everything stored with the chunks, so index runs skip a document only when
        none of it changed: a new source or metadata value (a relative path, a runbook's
        tools) re-indexes it, not only an edit of its text."""
        meta = json.dumps(self.metadata, sort_keys=True)
        return content_hash("\x00".join((self.title, self.content, self.source, meta)))


class Chunk(_Frozen):
    """A piece of a document small enough for the embedding model (never silently cut)."""

    id: str  # sha256 of document id, position and text: writes are idempotent
    document_id: str
    document_hash: str
    position: int
    title: str = ""
    text: str
    source: str
    metadata: Metadata = Field(default_factory=dict)

    @staticmethod
    def make_id(document_id: str, position: int, text: str) -> str:
        return hashlib.sha256(f"{document_id}\x00{position}\x00{text}".encode()).hexdigest()[:32]


class EmbeddedChunk(_Frozen):
    chunk: Chunk
    embedding: list[float]


class ScoredChunk(_Frozen):
    chunk: Chunk
    score: float
    # per-retriever scores/ranks before fusion, for explanations and debugging
    scores: dict[str, float] = Field(default_factory=dict)


class DuplicatePolicy(StrEnum):
    OVERWRITE = "overwrite"
    SKIP = "skip"
    FAIL = "fail"


class SearchRequest(_Frozen):
    query: str = Field(min_length=1)
    mode: SearchMode = SearchMode.HYBRID
    top_k: int = Field(default=5, ge=1, le=1000)
    filters: Metadata = Field(default_factory=dict)
    fusion: FusionMethod | None = None  # None: the settings' default
    semantic_weight: float | None = Field(default=None, ge=0.0, le=1.0)


class SearchResult(_Frozen):
    query: str
    mode: SearchMode
    hits: list[ScoredChunk]
    took_ms: float


class StoreInfo(_Frozen):
    backend: str
    location: str
    documents: int
    chunks: int
    size_bytes: int | None
    embedding_model: str | None
    embedding_dim: int | None
    extra: dict[str, Any] = Field(default_factory=dict)


class IndexFailure(_Frozen):
    source: str
    reason: str


class IndexSummary(_Frozen):
    documents_seen: int = 0
    documents_indexed: int = 0
    documents_unchanged: int = 0
    documents_pruned: int = 0
    chunks_written: int = 0
    tokens_embedded: int = 0
    failures: list[IndexFailure] = Field(default_factory=list)
    seconds: float = 0.0


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ChatMessage(_Frozen):
    role: Role
    content: str


class GenerationRequest(_Frozen):
    """A prompt or chat messages (exactly one), with sampling options."""

    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: int = Field(default=512, ge=1, le=32768)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="the answer must be one JSON object matching this schema; backends that "
        "can constrain decoding do (transformers: llguidance; openai: response_format)",
    )

    def chat(self) -> list[ChatMessage]:
        if self.messages:
            return list(self.messages)
        if self.prompt is None:
            raise ValueError("a generation request needs a prompt or messages")
        return [ChatMessage(role=Role.USER, content=self.prompt)]


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_CALLS = "tool_calls"
    ERROR = "error"


class Generation(_Frozen):
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    model: str
    backend: str
    seconds: float
    time_to_first_token_s: float | None = None


class ModelInfo(_Frozen):
    backend: str
    model: str
    device: str | None = None
    dtype: str | None = None
    context_length: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
