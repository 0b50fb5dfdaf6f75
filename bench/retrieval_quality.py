"""Retrieval quality on SciFact (BEIR): nDCG@10 and recall@100 per search mode and backend.

The corpus (5,183 abstracts) goes through the real pipeline: `Chunker` with MiniLM's tokenizer,
`embed_chunks`, `store.write`; every query goes through `workflowai.knowledge.search.search`,
so both backends rank through the same fusion code. A document's rank is that of its best
chunk. Corpus and query embeddings are cached under .cache/bench/ (gitignored): the first run
embeds ~5k abstracts on the CPU (minutes), reruns take seconds per configuration.

The first row, "hybrid (defaults)", is what a user gets: `SearchSettings()` as shipped (fusion,
weight, candidates per retriever). Every other row changes one knob from those defaults;
`--candidates N` changes the candidates of all rows (earlier figures used 300). Each query asks
for top_k = candidates chunks: search() fetches max(candidates, top_k) per retriever and cuts
after fusion, so the ranking is the one any top_k up to that sees. R@100 is the recall of the
documents within those chunks (fewer than 100 documents: ~2.3 chunks a document).

    .venv/bin/python bench/retrieval_quality.py                       # SQLite
    .venv/bin/python bench/retrieval_quality.py --backends sqlite,elasticsearch \
        --es-url http://127.0.0.1:9200                                # needs scripts/es-start.sh
    .venv/bin/python bench/retrieval_quality.py --bm25-variants       # FTS5 tokenizer/weights
    .venv/bin/python bench/retrieval_quality.py \
        --backends sqlite,elasticsearch:none,elasticsearch:client --es-url http://127.0.0.1:9200
    .venv/bin/python bench/retrieval_quality.py --fusion-variants     # score normalizations
    .venv/bin/python bench/retrieval_quality.py --paired \
        --backends sqlite,elasticsearch:none,elasticsearch:client     # differences with intervals
    .venv/bin/python bench/retrieval_quality.py --paired \
        --models sentence-transformers/all-MiniLM-L6-v2,BAAI/bge-small-en-v1.5   # vs the first

Published anchors (test split): BM25 0.665, all-MiniLM-L6-v2 0.645, bge-small-en-v1.5 0.713;
min-max fusion of unstemmed BM25 + MiniLM (0.6 dense) reaches 0.722 on train. `--models`
measures several embedding models in one run (the default: the product's). Measured figures:
bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from workflowai.knowledge.chunking import Chunker  # noqa: E402
from workflowai.knowledge.embedding import (  # noqa: E402
    SentenceTransformerEmbedder,
    embedding_input,
)
from workflowai.knowledge.fusion import (  # noqa: E402
    Normalizer,
    distribution_based,
    min_max,
    reciprocal_rank_fusion,
    weighted_fusion,
)
from workflowai.knowledge.protocol import KnowledgeStore  # noqa: E402
from workflowai.knowledge.search import search  # noqa: E402
from workflowai.knowledge.sqlite_store import BM25_WEIGHTS, FTS_TOKENIZER  # noqa: E402
from workflowai.schemas import (  # noqa: E402
    Chunk,
    Document,
    EmbeddedChunk,
    ScoredChunk,
    SearchRequest,
)
from workflowai.settings import (  # noqa: E402
    ElasticsearchSettings,
    EmbeddingDtype,
    EmbeddingSettings,
    FusionMethod,
    SearchMode,
    SearchSettings,
    Stemming,
)

SCIFACT = REPO.parent / "shared" / "eval" / "scifact"
CACHE = REPO / ".cache" / "bench"
DEFAULTS = SearchSettings()  # the product's search settings: the headline row measures these


# -- data -----------------------------------------------------------------------------------
def load_corpus(folder: Path = SCIFACT) -> list[Document]:
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [
        Document(id=r["_id"], title=r.get("title", ""), content=r["text"], source="scifact")
        for r in rows
        if r["text"].strip()
    ]


def load_queries(folder: Path = SCIFACT, split: str = "train") -> tuple[dict, dict]:
    """(query id -> text, query id -> {doc id: relevance}) for the queries judged in `split`."""
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, rel = line.split("\t")
            qrels.setdefault(qid, {})[did] = int(rel)
    with (folder / "queries.jsonl").open(encoding="utf-8") as handle:
        texts = {r["_id"]: r["text"] for r in map(json.loads, handle) if r["_id"] in qrels}
    return texts, qrels


# -- embeddings (cached) --------------------------------------------------------------------
class CachedQueries:
    """An Embedder that answers known queries from precomputed vectors (bench only)."""

    def __init__(self, inner: SentenceTransformerEmbedder, vectors: dict[str, list[float]]):
        self._inner, self._vectors = inner, vectors
        self.model_name, self.dim = inner.model_name, inner.dim

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vectors.get(text) or self._inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)


def _cached_matrix(name: str, texts: list[str], embed: Callable[[list[str]], list]) -> np.ndarray:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    matrix = np.asarray(embed(texts), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    print(f"embedded {len(texts)} {name} texts in {time.perf_counter() - started:.0f}s")
    return matrix


def _tag(embedder: SentenceTransformerEmbedder) -> str:
    """Names cached vectors by model and dtype (MiniLM keeps the names of earlier runs)."""
    name = embedder.model_name.rsplit("/", 1)[-1]
    return embedder.dtype if name == "all-MiniLM-L6-v2" else f"{name}-{embedder.dtype}"


def embedded_corpus(embedder: SentenceTransformerEmbedder, settings: EmbeddingSettings):
    chunker = Chunker(embedder, chunk_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap)
    chunks: list[Chunk] = [c for d in load_corpus() for c in chunker.chunk(d)]
    texts = [embedding_input(c) for c in chunks]
    matrix = _cached_matrix(f"scifact-chunks-{_tag(embedder)}", texts, embedder.embed_texts)
    return [EmbeddedChunk(chunk=c, embedding=v.tolist()) for c, v in zip(chunks, matrix)]  # noqa: B905


def query_embedder(embedder: SentenceTransformerEmbedder, queries: dict[str, str]) -> CachedQueries:
    """Query vectors as `embed_query` makes them (the model's query prompt first), batched."""
    texts = sorted(queries.values())
    prompt = embedder.query_prompt
    matrix = _cached_matrix(
        f"scifact-queries-{_tag(embedder)}",
        texts,
        lambda batch: embedder.embed_texts([prompt + t for t in batch]),
    )
    return CachedQueries(embedder, {t: v.tolist() for t, v in zip(texts, matrix)})  # noqa: B905


# -- stores ---------------------------------------------------------------------------------
def _fill(store: KnowledgeStore, chunks: list[EmbeddedChunk], model: str) -> KnowledgeStore:
    store.ensure_schema(model=model, dim=len(chunks[0].embedding))
    if store.count() != len(chunks):
        started = time.perf_counter()
        for start in range(0, len(chunks), 500):
            store.write(chunks[start : start + 500])
        print(
            f"wrote {len(chunks)} chunks to {type(store).__name__} "
            f"in {time.perf_counter() - started:.1f}s"
        )
    return store


def _vectors_tag(chunks: list[EmbeddedChunk]) -> str:
    """Names a cached store by its vectors too: float32 and bfloat16 runs get their own."""
    return hashlib.sha256(np.asarray(chunks[0].embedding, np.float32).tobytes()).hexdigest()[:8]


def sqlite_store(chunks, model, tokenizer=FTS_TOKENIZER, weights=BM25_WEIGHTS) -> KnowledgeStore:
    from workflowai.knowledge.sqlite_store import SqliteKnowledgeStore

    key = f"{tokenizer}|{len(chunks)}|{chunks[0].chunk.id}|{_vectors_tag(chunks)}"
    tag = hashlib.sha256(key.encode()).hexdigest()
    path = CACHE / f"scifact-{tag[:12]}.sqlite"
    store = SqliteKnowledgeStore(path, tokenizer=tokenizer, bm25_weights=weights)
    return _fill(store, chunks, model)


def es_store(chunks, model, url: str, stemming: str = "auto") -> KnowledgeStore:
    """An index per stemming mode (auto: the english analyzer if the node has it, else stems
    made on the client); the mode the index got is in its `_meta`."""
    from workflowai.knowledge.elasticsearch_store import ElasticsearchKnowledgeStore

    corpus = f"{len(chunks)}-{chunks[0].chunk.id[:8]}-{_vectors_tag(chunks)}"
    index = f"bench-scifact-{corpus}-{stemming}"
    settings = ElasticsearchSettings(url=url, stemming=Stemming(stemming))
    return _fill(ElasticsearchKnowledgeStore(settings, index=index), chunks, model)


# -- metrics --------------------------------------------------------------------------------
def ndcg_at(ranked: Sequence[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], rels: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, r in rels.items() if r > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def documents(hits) -> list[str]:
    """Document ranking from chunk hits: each document at the rank of its best chunk."""
    return list(dict.fromkeys(h.chunk.document_id for h in hits))


def evaluate(
    store, embedder, queries, qrels, mode, fusion=None, weight=None, settings=DEFAULTS
) -> tuple[float, float]:
    """Mean nDCG@10 and R@100 through search(); fusion/weight None: the settings' own."""
    ndcg = recall = 0.0
    for qid, text in queries.items():
        request = SearchRequest(
            query=text, mode=mode, top_k=settings.candidates, fusion=fusion, semantic_weight=weight
        )
        ranked = documents(search(store, embedder, request, settings).hits)
        ndcg += ndcg_at(ranked, qrels[qid])
        recall += recall_at(ranked, qrels[qid])
    return ndcg / len(queries), recall / len(queries)


def per_query_ndcg(store, embedder, queries, qrels, settings=DEFAULTS) -> np.ndarray:
    """nDCG@10 of each query (in `queries` order) for the product's default hybrid search."""
    scores = []
    for qid, text in queries.items():
        request = SearchRequest(query=text, mode=SearchMode.HYBRID, top_k=settings.candidates)
        hits = search(store, embedder, request, settings).hits
        scores.append(ndcg_at(documents(hits), qrels[qid]))
    return np.asarray(scores)


def paired_interval(a: np.ndarray, b: np.ndarray, resamples: int = 5000) -> tuple[float, float]:
    """95% bootstrap interval of mean(a - b) over queries resampled with replacement (paired:
    both systems see the same resampled queries, so per-query difficulty cancels out)."""
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(a), size=(resamples, len(a)))
    means = (a - b)[draws].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


CONFIGS: list[tuple[str, SearchMode, FusionMethod | None, float | None]] = [
    ("hybrid (defaults)", SearchMode.HYBRID, None, None),
    ("keyword (BM25)", SearchMode.KEYWORD, None, None),
    ("semantic", SearchMode.SEMANTIC, None, None),
    *[
        (f"hybrid weighted w={w}", SearchMode.HYBRID, FusionMethod.WEIGHTED, w)
        for w in (0.3, 0.4, 0.5, 0.6, 0.7)
    ],
    (f"hybrid rrf k={DEFAULTS.rrf_k}", SearchMode.HYBRID, FusionMethod.RRF, None),
]


def floor_max(hits: Sequence[ScoredChunk]) -> dict[str, float]:
    """Min-max against a fixed floor of 0 instead of the list's worst candidate (bench only):
    BM25 is >= 0 and a cosine below 0 counts as no match."""
    high = max((h.score for h in hits), default=0.0)
    return {h.chunk.id: max(h.score, 0.0) / high if high > 0 else 1.0 for h in hits}


NORMALIZERS: dict[str, Normalizer] = {
    "min-max": min_max,
    "distribution (mean+-3sd)": distribution_based,
    "max, floor 0": floor_max,
}


def fusion_variants(store, embedder, queries, qrels, backend: str, settings=DEFAULTS) -> None:
    """Weighted fusion per normalization and weight, and RRF, over the candidate lists search()
    fetches with `settings` (fetched once per query, fused here through the same functions)."""
    lists: dict[str, tuple[list[ScoredChunk], list[ScoredChunk]]] = {}
    for qid, text in queries.items():
        vector = embedder.embed_query(text)
        lists[qid] = (
            store.vector_search(vector, top_k=settings.candidates),
            store.keyword_search(text, top_k=settings.candidates),
        )

    def score(fuse: Callable[[list[ScoredChunk], list[ScoredChunk]], list[ScoredChunk]]) -> str:
        ndcg = sum(ndcg_at(documents(fuse(*lists[q])), qrels[q]) for q in queries)
        return f"{ndcg / len(queries):8.4f}"

    weights = (0.4, 0.5, 0.6)
    for name, normalize in NORMALIZERS.items():
        cells = [
            score(
                lambda s, k, w=w, n=normalize: weighted_fusion(
                    s, k, semantic_weight=w, top_k=settings.candidates, normalize=n
                )
            )
            for w in weights
        ]
        print(f"{backend:14} {name:26} " + " ".join(cells), flush=True)
    rrf = score(
        lambda s, k: reciprocal_rank_fusion(
            {"semantic": s, "keyword": k}, k=settings.rrf_k, top_k=settings.candidates
        )
    )
    print(f"{backend:14} {f'rrf k={settings.rrf_k}':26} {rrf}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backends",
        default="sqlite",
        help="sqlite,elasticsearch; elasticsearch:none|client|english|auto picks ES stemming",
    )
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--split", default="train")
    parser.add_argument(
        "--candidates",
        type=int,
        default=DEFAULTS.candidates,
        help=f"chunks per retriever for every row (product default {DEFAULTS.candidates})",
    )
    parser.add_argument(
        "--fusion-variants",
        action="store_true",
        help="hybrid only: nDCG@10 per score normalization x semantic weight, and RRF",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="default hybrid only: each backend against the first, per-query paired bootstrap",
    )
    parser.add_argument(
        "--bm25-variants",
        action="store_true",
        help="keyword mode only, over FTS5 tokenizers and title weights",
    )
    parser.add_argument(
        "--dtype",
        default=EmbeddingDtype.AUTO.value,
        choices=[d.value for d in EmbeddingDtype],
        help="the embedding model's dtype for corpus and queries (product default auto)",
    )
    parser.add_argument(
        "--models",
        default=EmbeddingSettings().model,
        help="comma-separated embedding models, each measured in turn (product default "
        f"{EmbeddingSettings().model}; all-MiniLM-L6-v2 is the one before it)",
    )
    parser.add_argument(
        "--semantic-weights",
        default="",
        help="comma-separated, one per model: the hybrid rows' semantic weight for that model "
        f"(default: the product's, {DEFAULTS.semantic_weight})",
    )
    args = parser.parse_args()
    models = args.models.split(",")
    weights = [float(w) for w in args.semantic_weights.split(",") if w]
    if weights and len(weights) != len(models):
        parser.error("--semantic-weights needs one weight per model")
    baseline: dict[str, np.ndarray] = {}
    for index, model in enumerate(models):
        scores = measure(args, model, weights[index] if weights else DEFAULTS.semantic_weight)
        if index == 0:
            baseline = scores
            continue
        for backend, ours in scores.items():  # --paired: each model against the first
            low, high = paired_interval(ours, baseline[backend])
            print(
                f"{backend:14} {model} minus the first model: "
                f"{ours.mean() - baseline[backend].mean():+.4f} [{low:+.4f}, {high:+.4f}]"
            )


def measure(args: argparse.Namespace, model: str, weight: float) -> dict[str, np.ndarray]:
    """Every row the arguments ask for, with one embedding model; with --paired, the
    per-query hybrid nDCG@10 of each backend."""
    settings = EmbeddingSettings(model=model, dtype=EmbeddingDtype(args.dtype))
    embedder = SentenceTransformerEmbedder(settings)
    queries, qrels = load_queries(split=args.split)
    chunks = embedded_corpus(embedder, settings)
    gc.freeze()  # the corpus stays alive: keep the collector from walking it on every pass
    search_settings = DEFAULTS.model_copy(
        update={"candidates": args.candidates, "semantic_weight": weight}
    )
    print(
        f"SciFact {args.split}: {len(queries)} queries, {len(chunks)} chunks, "
        f"{settings.model} ({embedder.dtype}), chunk_tokens={settings.chunk_tokens}; "
        "search defaults: "
        f"{DEFAULTS.fusion.value} fusion, semantic_weight={search_settings.semantic_weight}, "
        f"candidates={search_settings.candidates}"
        + ("" if search_settings == DEFAULTS else " (overridden)")
    )
    if args.bm25_variants:
        print(f"{'tokenizer':34} {'title,text':>10} {'nDCG@10':>8} {'R@100':>7}")
        for tokenizer in ("unicode61 remove_diacritics 2", FTS_TOKENIZER):
            for weights in ((1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (5.0, 1.0)):
                store = sqlite_store(chunks, settings.model, tokenizer, weights)
                ndcg, rec = evaluate(
                    store, embedder, queries, qrels, SearchMode.KEYWORD, settings=search_settings
                )
                print(f"{tokenizer:34} {weights[0]:>4g},{weights[1]:<5g} {ndcg:8.4f} {rec:7.4f}")
                store.close()
        return {}
    cached = query_embedder(embedder, queries)
    if args.fusion_variants:
        print(f"{'backend':14} {'nDCG@10 at semantic_weight':26} {'0.4':>8} {'0.5':>8} {'0.6':>8}")
    elif args.paired:
        print(f"{'backend':14} {'hybrid nDCG@10':>14} {'SE':>7}   minus the first [95% interval]")
    else:
        print(f"{'backend':14} {'mode':24} {'nDCG@10':>8} {'R@100':>7} {'s':>5}")
    first: np.ndarray | None = None  # --paired: the first backend's per-query scores
    paired: dict[str, np.ndarray] = {}
    for backend in args.backends.split(","):
        engine, _, stemming = backend.partition(":")
        store = (
            sqlite_store(chunks, settings.model)
            if engine == "sqlite"
            else es_store(chunks, settings.model, args.es_url, stemming or "auto")
        )
        if engine != "sqlite":
            backend = f"es:{store.stemming().value}"  # type: ignore[attr-defined]
        if args.fusion_variants:
            fusion_variants(store, cached, queries, qrels, backend, search_settings)
            store.close()
            continue
        if args.paired:
            scores = per_query_ndcg(store, cached, queries, qrels, search_settings)
            store.close()
            se = scores.std(ddof=1) / math.sqrt(len(scores))
            line = f"{backend:14} {scores.mean():14.4f} {se:7.4f}"
            if first is not None:
                low, high = paired_interval(scores, first)
                line += f"   {scores.mean() - first.mean():+.4f} [{low:+.4f}, {high:+.4f}]"
            print(line, flush=True)
            first = scores if first is None else first
            paired[backend] = scores
            continue
        for label, mode, fusion, weight in CONFIGS:
            started = time.perf_counter()
            ndcg, rec = evaluate(
                store, cached, queries, qrels, mode, fusion, weight, search_settings
            )
            print(
                f"{backend:14} {label:24} {ndcg:8.4f} {rec:7.4f} "
                f"{time.perf_counter() - started:5.1f}",
                flush=True,
            )
        store.close()
    return paired


if __name__ == "__main__":
    main()
