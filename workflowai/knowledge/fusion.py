"""Hybrid search as pure fusion of ranked lists, done on the client for both backends.

Fusing on the client keeps hybrid search on Elasticsearch's free license (its server-side RRF
retriever is a paid feature) and makes both backends rank through exactly this code.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence

from workflowai.schemas import ScoredChunk

# one ranked list's hits -> chunk id -> normalized score; a chunk absent from a list adds 0
Normalizer = Callable[[Sequence[ScoredChunk]], dict[str, float]]


def _ordered(scores: Mapping[str, float], by_id: Mapping[str, ScoredChunk]) -> list[str]:
    # deterministic: score descending, then chunk id
    return sorted(scores, key=lambda cid: (-scores[cid], cid))


def _fused(
    scores: dict[str, float],
    by_id: dict[str, ScoredChunk],
    parts: dict[str, dict[str, float]],
    top_k: int | None,
) -> list[ScoredChunk]:
    ids = _ordered(scores, by_id)[:top_k] if top_k else _ordered(scores, by_id)
    return [
        ScoredChunk(chunk=by_id[cid].chunk, score=scores[cid], scores=parts[cid]) for cid in ids
    ]


def reciprocal_rank_fusion(
    result_lists: Mapping[str, Sequence[ScoredChunk]], *, k: int = 60, top_k: int | None = None
) -> list[ScoredChunk]:
    """RRF: sum over lists of 1 / (k + rank). `result_lists` maps retriever name to hits."""
    scores: dict[str, float] = {}
    by_id: dict[str, ScoredChunk] = {}
    parts: dict[str, dict[str, float]] = {}
    for name, hits in result_lists.items():
        for rank, hit in enumerate(hits, start=1):
            cid = hit.chunk.id
            by_id.setdefault(cid, hit)
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
            parts.setdefault(cid, {})[name] = hit.score
    return _fused(scores, by_id, parts, top_k)


def min_max(hits: Sequence[ScoredChunk]) -> dict[str, float]:
    """Scores scaled to [0, 1] within one list; a list of equal scores maps to 1."""
    if not hits:
        return {}
    values = [h.score for h in hits]
    low, high = min(values), max(values)
    span = high - low
    return {h.chunk.id: (h.score - low) / span if span > 0 else 1.0 for h in hits}


def distribution_based(hits: Sequence[ScoredChunk], *, spread: float = 3.0) -> dict[str, float]:
    """Scores scaled so that mean - `spread` std maps to 0 and mean + `spread` std to 1
    (distribution-based score fusion, DBSF).

    Unlike min-max, the scale does not hang on the two extreme hits: the worst candidate's
    score moves with how many candidates were fetched, and a lone outstanding hit is not
    flattened to the level of an ordinary best hit. Not clipped: a hit beyond 3 std keeps its
    lead (> 1). A chunk absent from the list counts as the floor (0) in `weighted_fusion`.
    A list of equal scores maps to 1, as with `min_max`.
    """
    if not hits:
        return {}
    values = [h.score for h in hits]
    mean, std = statistics.fmean(values), statistics.pstdev(values)
    if std <= 0:
        return {h.chunk.id: 1.0 for h in hits}
    low = mean - spread * std
    return {h.chunk.id: (h.score - low) / (2.0 * spread * std) for h in hits}


def weighted_fusion(
    semantic: Sequence[ScoredChunk],
    keyword: Sequence[ScoredChunk],
    *,
    semantic_weight: float = 0.6,
    top_k: int | None = None,
    normalize: Normalizer = min_max,
) -> list[ScoredChunk]:
    """Weighted sum of per-list normalized scores (min-max unless `normalize` says otherwise);
    absent from a list counts as 0.

    search() keeps min-max: on SciFact train `distribution_based` ranked within noise of it on
    both backends (`bench/retrieval_quality.py --fusion-variants`).
    """
    if not 0.0 <= semantic_weight <= 1.0:
        raise ValueError(f"semantic_weight must be within [0, 1], got {semantic_weight}")
    scores: dict[str, float] = {}
    by_id: dict[str, ScoredChunk] = {}
    parts: dict[str, dict[str, float]] = {}
    for name, hits, weight in (
        ("semantic", semantic, semantic_weight),
        ("keyword", keyword, 1.0 - semantic_weight),
    ):
        for cid, norm in normalize(hits).items():
            scores[cid] = scores.get(cid, 0.0) + weight * norm
        for hit in hits:
            by_id.setdefault(hit.chunk.id, hit)
            parts.setdefault(hit.chunk.id, {})[name] = hit.score
    return _fused(scores, by_id, parts, top_k)
