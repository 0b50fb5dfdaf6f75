"""Pure builders for Elasticsearch: index body, queries and bulk actions. No I/O here.

Works on the minimal integ-test distribution too: only core analysis (`standard` tokenizer,
`lowercase` and `stop` filters; no stemmers or language analyzers, which live in the
analysis-common module) and core APIs (no delete_by_query, which lives in the reindex module).
The analyzer and title boost were picked by measurement: `bench/es_bm25_analyzer.py` (BM25
nDCG@10 on SciFact train; figures in that script's docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from workflowai.schemas import Chunk, EmbeddedChunk, Metadata

SCHEMA_VERSION = "1"
TITLE_BOOST = 1.5
DEFAULT_ANALYZER = "standard"
MATCH_TYPE = "combined_fields"
MATCH_TYPES = frozenset({"most_fields", "combined_fields"})
# analyzers that need only core analysis components (None: built in, no definition needed)
ANALYZERS: dict[str, dict[str, Any] | None] = {
    "standard": None,
    "standard_stop": {
        "type": "custom",
        "tokenizer": "standard",
        "filter": ["lowercase", "stop"],  # `stop` defaults to the English stop words
    },
}
SOURCE_FIELDS = ["document_id", "document_hash", "position", "title", "text", "source", "metadata"]


def index_body(*, model: str, dim: int, analyzer: str = DEFAULT_ANALYZER) -> dict[str, Any]:
    """Settings and mappings of one physical index version.

    Raises ValueError for an analyzer outside ANALYZERS or a dimension below 1.
    """
    if analyzer not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {sorted(ANALYZERS)}, got {analyzer!r}")
    if dim < 1:
        raise ValueError(f"embedding dim must be >= 1, got {dim}")
    index_settings: dict[str, Any] = {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "refresh_interval": "1s",
    }
    definition = ANALYZERS[analyzer]
    if definition is not None:
        index_settings["analysis"] = {"analyzer": {analyzer: definition}}
    return {
        "settings": index_settings,
        "mappings": {
            "_meta": {
                "embedding_model": model,
                "embedding_dim": dim,
                "schema_version": SCHEMA_VERSION,
            },
            "dynamic": "strict",
            "properties": {
                "document_id": {"type": "keyword"},
                "document_hash": {"type": "keyword"},
                "position": {"type": "integer"},
                "source": {"type": "keyword"},
                "title": {"type": "text", "analyzer": analyzer},
                "text": {"type": "text", "analyzer": analyzer},
                "embedding": {
                    "type": "dense_vector",
                    "dims": dim,
                    "index": True,
                    "similarity": "cosine",
                },
                "metadata": {"type": "object", "dynamic": True},
            },
            "dynamic_templates": [
                {
                    "metadata_as_keywords": {
                        "path_match": "metadata.*",
                        "mapping": {"type": "keyword", "ignore_above": 4096},
                    }
                }
            ],
        },
    }


def filter_clauses(filters: Metadata | None) -> list[dict[str, Any]]:
    return [{"term": {f"metadata.{k}": _keyword(v)}} for k, v in sorted((filters or {}).items())]


def _keyword(value: object) -> str:
    # metadata is mapped as keyword: booleans are indexed as "true"/"false"
    return str(value).lower() if isinstance(value, bool) else str(value)


def keyword_query(
    text: str,
    *,
    top_k: int,
    filters: Metadata | None = None,
    title_boost: float = TITLE_BOOST,
    match_type: str = MATCH_TYPE,
) -> dict[str, Any]:
    """BM25 over title (boosted) and text; metadata filters do not affect the score.

    match_type "most_fields" sums a BM25 score per field; "combined_fields" scores title and
    text as one field (BM25F, boosts >= 1). Raises ValueError for another type.
    """
    if match_type not in MATCH_TYPES:
        raise ValueError(f"match_type must be one of {sorted(MATCH_TYPES)}, got {match_type!r}")
    match: dict[str, Any] = {"query": text, "fields": [f"title^{title_boost:g}", "text"]}
    if match_type == "combined_fields":
        must: dict[str, Any] = {"combined_fields": match}
    else:
        must = {"multi_match": {**match, "type": match_type}}
    return {
        "size": top_k,
        "_source": SOURCE_FIELDS,
        "query": {
            "bool": {
                "must": must,
                "filter": filter_clauses(filters),
            }
        },
    }


def knn_query(
    vector: Sequence[float], *, top_k: int, filters: Metadata | None = None, candidates: int = 0
) -> dict[str, Any]:
    knn: dict[str, Any] = {
        "field": "embedding",
        "query_vector": list(vector),
        "k": top_k,
        "num_candidates": max(candidates, top_k * 4, 50),
    }
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    return {"size": top_k, "_source": SOURCE_FIELDS, "knn": knn}


def cosine_from_score(score: float) -> float:
    """Elasticsearch reports cosine kNN scores as (1 + cosine) / 2."""
    return 2.0 * score - 1.0


def document_ids_query(document_ids: Sequence[str]) -> dict[str, Any]:
    return {"terms": {"document_id": list(document_ids)}}


def hashes_aggregation(after: dict[str, Any] | None = None, size: int = 1000) -> dict[str, Any]:
    composite: dict[str, Any] = {
        "size": size,
        "sources": [
            {"document_id": {"terms": {"field": "document_id"}}},
            {"document_hash": {"terms": {"field": "document_hash"}}},
        ],
    }
    if after:
        composite["after"] = after
    # the first chunk is written last: without position 0 a document is incomplete
    first = {"first_position": {"min": {"field": "position"}}}
    return {"size": 0, "aggs": {"docs": {"composite": composite, "aggs": first}}}


def chunk_source(chunk: Chunk, embedding: Sequence[float]) -> dict[str, Any]:
    return {
        "document_id": chunk.document_id,
        "document_hash": chunk.document_hash,
        "position": chunk.position,
        "title": chunk.title,
        "text": chunk.text,
        "source": chunk.source,
        "metadata": dict(chunk.metadata),  # _source keeps types; the mapping indexes keywords
        "embedding": list(embedding),
    }


def index_actions(
    index: str, chunks: Iterable[EmbeddedChunk], op_type: str
) -> Iterator[dict[str, Any]]:
    """Bulk actions; op_type "index" overwrites, "create" fails (or is skipped) on duplicates."""
    for item in chunks:
        yield {
            "_op_type": op_type,
            "_index": index,
            "_id": item.chunk.id,
            "_source": chunk_source(item.chunk, item.embedding),
        }


def delete_actions(index: str, ids: Iterable[str]) -> Iterator[dict[str, Any]]:
    for chunk_id in ids:
        yield {"_op_type": "delete", "_index": index, "_id": chunk_id}


def chunk_from_hit(hit: dict[str, Any]) -> Chunk:
    src = hit["_source"]
    return Chunk(
        id=hit["_id"],
        document_id=src["document_id"],
        document_hash=src["document_hash"],
        position=int(src["position"]),
        title=src.get("title", ""),
        text=src["text"],
        source=src["source"],
        metadata=dict(src.get("metadata") or {}),
    )
