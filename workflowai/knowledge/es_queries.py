"""Pure builders for Elasticsearch: index body, queries and bulk actions. No I/O here.

Works on the minimal integ-test distribution too: only core analysis (`standard` tokenizer,
`lowercase` and `stop` filters; no stemmers or language analyzers, which live in the
analysis-common module) and core APIs (no delete_by_query, which lives in the reindex module).
The analyzer and title boost were picked by measurement: `bench/es_bm25_analyzer.py` (BM25
nDCG@10 on SciFact train; figures in that script's docstring).

Stemming (`Stemming`): CLIENT writes Porter-stemmed copies of title and text (`title_stem`,
`text_stem`, made by `stemming.stem_text`) and keyword queries search those with the query
stemmed the same way: works on any node. ENGLISH uses the `english` analyzer on title and text
(needs the analysis-common module); NONE searches the unstemmed fields. An index records its
mode in `_meta.stemming`; indices from before it have none and are searched as NONE.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from workflowai.knowledge.stemming import stem_text
from workflowai.schemas import Chunk, EmbeddedChunk, Metadata
from workflowai.settings import Stemming

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
STEMMED = ("title", "text")
SOURCE_FIELDS = ["document_id", "document_hash", "position", "title", "text", "source", "metadata"]


def index_body(
    *,
    model: str,
    dim: int,
    analyzer: str = DEFAULT_ANALYZER,
    stemming: Stemming = Stemming.NONE,
) -> dict[str, Any]:
    """Settings and mappings of one physical index version.

    Raises ValueError for an analyzer outside ANALYZERS, a dimension below 1, or a stemming
    mode that is not resolved (AUTO is for settings: the store picks CLIENT or ENGLISH).
    """
    if stemming is Stemming.AUTO:
        raise ValueError("resolve Stemming.AUTO to client or english before building the index")
    if analyzer not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {sorted(ANALYZERS)}, got {analyzer!r}")
    if dim < 1:
        raise ValueError(f"embedding dim must be >= 1, got {dim}")
    index_settings: dict[str, Any] = {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        # no refresh_interval: left unset, a shard nobody searches skips background refreshes
        # (search idle) during a bulk load; the store refreshes after writes itself
    }
    definition = ANALYZERS[analyzer]
    if definition is not None:
        index_settings["analysis"] = {"analyzer": {analyzer: definition}}
    text_analyzer = "english" if stemming is Stemming.ENGLISH else analyzer
    stem_fields: dict[str, Any] = {}
    if stemming is Stemming.CLIENT:  # pre-stemmed, space-separated: standard splits on spaces
        stem_fields = {f"{f}_stem": {"type": "text", "analyzer": "standard"} for f in STEMMED}
    return {
        "settings": index_settings,
        "mappings": {
            "_meta": {
                "embedding_model": model,
                "embedding_dim": dim,
                "schema_version": SCHEMA_VERSION,
                "stemming": stemming.value,
            },
            "dynamic": "strict",
            "properties": {
                "document_id": {"type": "keyword"},
                "document_hash": {"type": "keyword"},
                "position": {"type": "integer"},
                "source": {"type": "keyword"},
                "title": {"type": "text", "analyzer": text_analyzer},
                "text": {"type": "text", "analyzer": text_analyzer},
                **stem_fields,
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
    stemming: Stemming = Stemming.NONE,
) -> dict[str, Any]:
    """BM25 over title (boosted) and text; metadata filters do not affect the score.
    With CLIENT stemming: over their stemmed copies, with the query stemmed alike.

    match_type "most_fields" sums a BM25 score per field; "combined_fields" scores title and
    text as one field (BM25F, boosts >= 1). Raises ValueError for another type.
    """
    if match_type not in MATCH_TYPES:
        raise ValueError(f"match_type must be one of {sorted(MATCH_TYPES)}, got {match_type!r}")
    suffix = "_stem" if stemming is Stemming.CLIENT else ""
    match: dict[str, Any] = {
        "query": stem_text(text) if suffix else text,
        "fields": [f"title{suffix}^{title_boost:g}", f"text{suffix}"],
    }
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


def chunk_source(
    chunk: Chunk, embedding: Sequence[float], stemming: Stemming = Stemming.NONE
) -> dict[str, Any]:
    source = {
        "document_id": chunk.document_id,
        "document_hash": chunk.document_hash,
        "position": chunk.position,
        "title": chunk.title,
        "text": chunk.text,
        "source": chunk.source,
        "metadata": dict(chunk.metadata),  # _source keeps types; the mapping indexes keywords
        "embedding": list(embedding),
    }
    if stemming is Stemming.CLIENT:
        source["title_stem"] = stem_text(chunk.title)
        source["text_stem"] = stem_text(chunk.text)
    return source


def index_actions(
    index: str,
    chunks: Iterable[EmbeddedChunk],
    op_type: str,
    stemming: Stemming = Stemming.NONE,
) -> Iterator[dict[str, Any]]:
    """Bulk actions; op_type "index" overwrites, "create" fails (or is skipped) on duplicates."""
    for item in chunks:
        yield {
            "_op_type": op_type,
            "_index": index,
            "_id": item.chunk.id,
            "_source": chunk_source(item.chunk, item.embedding, stemming),
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
