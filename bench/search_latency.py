"""Search latency: p50/p95 per mode through `search()`, query embedding included.

Two corpora: SciFact (~5k abstracts chunked by the real pipeline; embeddings from the cache
that bench/retrieval_quality.py fills) and a synthetic corpus of N chunks (Zipf-distributed
words, random unit vectors; default 100k). Every query is embedded with MiniLM in the timed
call, as the CLI and the flows do. SQLite by default; `--backends sqlite,elasticsearch` adds
Elasticsearch (needs scripts/es-start.sh). Stores are built once under .cache/bench/.

    .venv/bin/python bench/search_latency.py                    # SciFact + 100k synthetic
    .venv/bin/python bench/search_latency.py --synthetic 0      # SciFact only
    .venv/bin/python bench/search_latency.py --backends sqlite,elasticsearch
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from retrieval_quality import (
    CACHE,
    embedded_corpus,
    es_store,
    load_queries,
    sqlite_store,
)

from workflowai.knowledge.embedding import SentenceTransformerEmbedder
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.knowledge.search import search
from workflowai.schemas import Chunk, EmbeddedChunk, SearchRequest
from workflowai.settings import EmbeddingSettings, SearchMode, SearchSettings

WARMUP = 10


def synthetic_blocks(n: int, dim: int, seed: int = 7, block: int = 5_000):
    """`n` chunks of 80-160 Zipf-distributed words with random unit vectors, in blocks
    (100k chunks as Python float lists would take gigabytes at once)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(20_000)])
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    for start in range(0, n, block):
        size = min(block, n - start)
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        lengths = rng.integers(80, 160, size=size)
        words = rng.choice(vocabulary, size=int(lengths.sum()), p=weights)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        chunks = []
        for i in range(size):
            text = " ".join(words[offsets[i] : offsets[i + 1]])
            number = start + i
            doc = f"synthetic-{number // 4}"
            chunk = Chunk(
                id=Chunk.make_id(doc, number % 4, text),
                document_id=doc,
                document_hash="h",
                position=number % 4,
                title=" ".join(words[offsets[i] : offsets[i] + 4]),
                text=text,
                source="synthetic",
                metadata={"kind": "synthetic", "shard": number % 8},
            )
            chunks.append(EmbeddedChunk(chunk=chunk, embedding=vectors[i].tolist()))
        yield chunks


def synthetic_store(backend: str, n: int, dim: int, es_url: str) -> KnowledgeStore:
    if backend == "sqlite":
        from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore

        store: KnowledgeStore = SqliteKnowledgeStore(CACHE / f"synthetic-{n}.sqlite")
    else:
        from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore
        from workflowai.settings import ElasticsearchSettings

        settings = ElasticsearchSettings(url=es_url)
        store = ElasticsearchKnowledgeStore(settings, index=f"bench-synthetic-{n}")
    store.ensure_schema(model="synthetic-random", dim=dim)
    if store.count() != n:
        started = time.perf_counter()
        for chunks in synthetic_blocks(n, dim):
            store.write(chunks)
        print(f"wrote {n} synthetic chunks in {time.perf_counter() - started:.0f}s", flush=True)
    return store


def synthetic_queries(count: int, seed: int = 11) -> list[str]:
    rng = np.random.default_rng(seed)
    # mostly mid-frequency words, like real queries; a few very common ones
    return [" ".join(f"w{int(x)}" for x in rng.zipf(1.3, size=6) % 20_000) for _ in range(count)]


def measure(store: KnowledgeStore, embedder, queries: list[str], mode: SearchMode) -> list[float]:
    settings = SearchSettings()
    timings = []
    for i, query in enumerate(queries):
        request = SearchRequest(query=query, mode=mode, top_k=settings.top_k)
        started = time.perf_counter()
        search(store, embedder, request, settings)
        if i >= WARMUP:
            timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def report(corpus: str, backend: str, store: KnowledgeStore, embedder, queries: list[str]) -> None:
    embedder.embed_query(queries[0])  # the model loads on first use: not a query's cost
    started = time.perf_counter()
    for query in queries[:50]:
        embedder.embed_query(query)
    embed_ms = (time.perf_counter() - started) * 1000.0 / 50
    print(f"{corpus:18} {backend:13} {'(query embedding)':18} {embed_ms:7.1f} {'':7}")
    for mode in (SearchMode.KEYWORD, SearchMode.SEMANTIC, SearchMode.HYBRID):
        timings = measure(store, embedder, queries, mode)
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"{corpus:18} {backend:13} {mode.value:18} {p50:7.1f} {p95:7.1f}", flush=True)


def build(backend: str, chunks: list[EmbeddedChunk], model: str, es_url: str) -> KnowledgeStore:
    if backend == "sqlite":
        return sqlite_store(chunks, model)
    return es_store(chunks, model, es_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=100_000, help="chunks; 0 skips it")
    args = parser.parse_args()
    settings = EmbeddingSettings()
    embedder = SentenceTransformerEmbedder(settings)
    texts, _ = load_queries()
    scifact_queries = sorted(texts.values())[: args.queries + WARMUP]
    scifact = embedded_corpus(embedder, settings)
    label = f"scifact {len(scifact)}"
    stores = {b: build(b, scifact, settings.model, args.es_url) for b in args.backends.split(",")}
    # millions of Python floats left alive would make every GC pass slow the timed searches;
    # a real process never holds the corpus
    del scifact
    gc.collect()
    print(f"{'corpus':18} {'backend':13} {'mode':18} {'p50 ms':>7} {'p95 ms':>7}")
    for backend, store in stores.items():
        report(label, backend, store, embedder, scifact_queries)
        store.close()
    if args.synthetic:
        queries = synthetic_queries(args.queries + WARMUP)
        for backend in args.backends.split(","):
            store = synthetic_store(backend, args.synthetic, embedder.dim, args.es_url)
            report(f"synthetic {args.synthetic}", backend, store, embedder, queries)
            store.close()
    print(f"stores cached under {CACHE}")


if __name__ == "__main__":
    main()
