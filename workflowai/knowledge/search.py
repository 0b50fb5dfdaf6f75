"""Search the knowledge base: keyword (BM25), semantic (cosine kNN) or hybrid (fused)."""

from __future__ import annotations

import time

from workflowai.errors import SchemaMismatchError
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.knowledge.fusion import reciprocal_rank_fusion, weighted_fusion
from workflowai.knowledge.protocol import KnowledgeStore
from workflowai.schemas import ScoredChunk, SearchRequest, SearchResult
from workflowai.settings import FusionMethod, SearchMode, SearchSettings


def search(
    store: KnowledgeStore,
    embedder: Embedder,
    request: SearchRequest,
    settings: SearchSettings,
) -> SearchResult:
    """Run `request` against `store`.

    keyword: BM25 only; semantic: cosine kNN on the embedded query; hybrid: both retrievers
    fetch `settings.candidates` (at least top_k) chunks with the same filters, fused on the
    client (`request.fusion`/`semantic_weight`, else the settings'). `took_ms` includes the
    query embedding. Store errors propagate (StoreUnavailableError is transient).

    Raises SchemaMismatchError, before any vector is compared, when the store's vectors were
    made by another embedding model than `embedder`: two models' vectors of the same size do
    not fail, they rank at random.
    """
    started = time.perf_counter()
    if request.mode is not SearchMode.KEYWORD:
        check_model(store, embedder)
    filters = request.filters or None
    candidates = max(settings.candidates, request.top_k)
    hits: list[ScoredChunk]
    if request.mode is SearchMode.KEYWORD:
        hits = store.keyword_search(request.query, top_k=request.top_k, filters=filters)
    elif request.mode is SearchMode.SEMANTIC:
        vector = embedder.embed_query(request.query)
        hits = store.vector_search(vector, top_k=request.top_k, filters=filters)
    else:
        vector = embedder.embed_query(request.query)
        semantic = store.vector_search(vector, top_k=candidates, filters=filters)
        keyword = store.keyword_search(request.query, top_k=candidates, filters=filters)
        method = request.fusion or settings.fusion
        if method is FusionMethod.RRF:
            hits = reciprocal_rank_fusion(
                {"semantic": semantic, "keyword": keyword}, k=settings.rrf_k, top_k=request.top_k
            )
        else:
            weight = (
                request.semantic_weight
                if request.semantic_weight is not None
                else settings.semantic_weight
            )
            hits = weighted_fusion(semantic, keyword, semantic_weight=weight, top_k=request.top_k)
    return SearchResult(
        query=request.query,
        mode=request.mode,
        hits=hits,
        took_ms=(time.perf_counter() - started) * 1000.0,
    )


def check_model(store: KnowledgeStore, embedder: Embedder) -> None:
    """Raise SchemaMismatchError when the store was built with another embedding model."""
    built = store.embedding_model()
    if built is not None and built != embedder.model_name:
        raise SchemaMismatchError(
            f"the knowledge base was built with {built} but {embedder.model_name} is "
            "configured, and their vectors do not compare: run `workflowai reindex` to rebuild "
            f"it with {embedder.model_name} (or set WORKFLOWAI_EMBEDDING__MODEL={built})"
        )
