"""Per-process dependencies: one store, embedder and generator per worker process.

Loading a model takes seconds and opening a store costs a connection, so tasks never build
them per call: they ask here, and get the instance built for the same settings section before.
Keys are the JSON of the settings that shape the object, so a changed setting builds anew.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from workflowai.history.protocol import HistoryStore
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.llm.protocol import Generator
from workflowai.settings import Settings

T = TypeVar("T")

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], object] = {}


def _cached(kind: str, key: str, build: Callable[[], T]) -> T:
    with _LOCK:
        if (kind, key) not in _CACHE:
            _CACHE[(kind, key)] = build()
        return _CACHE[(kind, key)]  # type: ignore[return-value]


def _store_key(settings: Settings) -> str:
    key = f"{settings.store.model_dump_json()}|{settings.sqlite_path}|"
    if settings.store.backend != "sqlite":
        key += settings.elasticsearch.model_dump_json()
    return key


def get_store(settings: Settings) -> KnowledgeStore:
    from workflowai.knowledge.factory import build_store

    return _cached("store", _store_key(settings), lambda: build_store(settings))


def get_history_store(settings: Settings) -> HistoryStore:
    from workflowai.history.factory import build_history_store

    key = f"{settings.history.model_dump_json()}|{settings.history_sqlite_path}|"
    if settings.history.backend != "sqlite":
        key += settings.elasticsearch.model_dump_json()
    return _cached("history", key, lambda: build_history_store(settings))


def get_embedder(settings: Settings) -> Embedder:
    from workflowai.knowledge.embedding import build_embedder

    key = settings.embedding.model_dump_json()
    return _cached("embedder", key, lambda: build_embedder(settings.embedding))


def get_generator(settings: Settings) -> Generator | None:
    """The configured generator, or None when the generation backend is "none"."""
    from workflowai.llm.factory import build_generator

    key = settings.generation.model_dump_json()
    return _cached("generator", key, lambda: build_generator(settings.generation))


def load_generator(settings: Settings) -> Generator | None:
    """The configured generator with its model loaded (a local model loads on first use: this
    is that use, for warm-ups); None when no backend is configured. An OpenAI-compatible
    backend makes no request."""
    generator = get_generator(settings)
    if generator is not None:
        generator.info()
    return generator


def register_store(settings: Settings, store: KnowledgeStore) -> None:
    """Use `store` for `settings` in this process (built elsewhere; fault-injection tests)."""
    with _LOCK:
        _CACHE[("store", _store_key(settings))] = store


def forget_store(settings: Settings) -> None:
    """Drop the cached store for `settings` (after a version swap points readers elsewhere)."""
    with _LOCK:
        store = _CACHE.pop(("store", _store_key(settings)), None)
    if store is not None:
        store.close()  # type: ignore[attr-defined]
