"""Fusion of ranked lists: reciprocal rank fusion and weighted fusion of normalized scores."""

from __future__ import annotations

import pytest

from workflowai.knowledge.fusion import (
    distribution_based,
    min_max,
    reciprocal_rank_fusion,
    weighted_fusion,
)
from workflowai.schemas import Chunk, ScoredChunk


def hit(cid: str, score: float) -> ScoredChunk:
    chunk = Chunk(
        id=cid, document_id=f"doc-{cid}", document_hash="h", position=0, text=cid, source="s"
    )
    return ScoredChunk(chunk=chunk, score=score)


def ids(hits: list[ScoredChunk]) -> list[str]:
    return [h.chunk.id for h in hits]


SEMANTIC = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.3)]
KEYWORD = [hit("c", 12.0), hit("d", 7.0), hit("a", 2.0)]


def test_rrf_sums_reciprocal_ranks_and_keeps_per_retriever_scores() -> None:
    fused = reciprocal_rank_fusion({"semantic": SEMANTIC, "keyword": KEYWORD}, k=60)
    expected = {
        "a": 1 / 61 + 1 / 63,
        "c": 1 / 63 + 1 / 61,
        "b": 1 / 62,
        "d": 1 / 62,
    }
    assert {h.chunk.id: h.score for h in fused} == pytest.approx(expected)
    # a and c tie exactly, as do b and d: ties break on the chunk id
    assert ids(fused) == ["a", "c", "b", "d"]
    assert fused[0].scores == {"semantic": 0.9, "keyword": 2.0}
    assert fused[3].scores == {"keyword": 7.0}


def test_rrf_top_k_and_empty_lists() -> None:
    assert ids(reciprocal_rank_fusion({"s": SEMANTIC, "k": KEYWORD}, top_k=2)) == ["a", "c"]
    assert reciprocal_rank_fusion({"s": [], "k": []}) == []
    assert ids(reciprocal_rank_fusion({"s": SEMANTIC, "k": []})) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([3.0, 2.0, 1.0], [1.0, 0.5, 0.0]),
        ([-1.0, -3.0], [1.0, 0.0]),
        ([5.0, 5.0], [1.0, 1.0]),  # no spread: every hit counts fully
        ([0.4], [1.0]),
    ],
)
def test_min_max_scales_each_list_to_unit_range(scores: list[float], expected: list[float]) -> None:
    hits = [hit(f"x{i}", s) for i, s in enumerate(scores)]
    assert list(min_max(hits).values()) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # mean 2, std sqrt(2/3): the floor mean - 3 std maps to 0, mean + 3 std to 1
        ([3.0, 2.0, 1.0], [0.5 + 1 / (6 * (2 / 3) ** 0.5), 0.5, 0.5 - 1 / (6 * (2 / 3) ** 0.5)]),
        # one hit 3 std above the mean of ten (mean 0.9, std 2.7): exactly 1; the others sit
        # near the middle, where min-max would put them at 0
        ([9.0] + [0.0] * 9, [1.0] + [4 / 9] * 9),
        # 4 std above the mean of seventeen: past 1, not clipped
        ([1.0] + [0.0] * 16, [7 / 6] + [11 / 24] * 16),
        ([5.0, 5.0], [1.0, 1.0]),  # no spread: every hit counts fully, as with min-max
        ([0.4], [1.0]),
    ],
)
def test_distribution_based_maps_mean_plus_minus_three_std_to_unit_range(
    scores: list[float], expected: list[float]
) -> None:
    hits = [hit(f"x{i}", s) for i, s in enumerate(scores)]
    assert list(distribution_based(hits).values()) == pytest.approx(expected)


def test_distribution_based_of_no_hits_is_empty() -> None:
    assert distribution_based([]) == {}


@pytest.mark.parametrize(
    ("weight", "order"),
    [
        (1.0, ["a", "b", "c", "d"]),  # semantic only; c and d tie at 0, broken by id
        (0.0, ["c", "d", "a", "b"]),  # keyword only
        (0.4, ["c", "a", "b", "d"]),  # c 0.6, a 0.4, b 0.33, d 0.3
        (0.5, ["a", "c", "b", "d"]),  # a and c tie at 0.5
    ],
)
def test_weighted_fusion_orders_by_weighted_normalized_scores(
    weight: float, order: list[str]
) -> None:
    fused = weighted_fusion(SEMANTIC, KEYWORD, semantic_weight=weight)
    assert ids(fused) == order


def test_weighted_fusion_scores_and_parts() -> None:
    fused = {h.chunk.id: h for h in weighted_fusion(SEMANTIC, KEYWORD, semantic_weight=0.6)}
    # semantic min-max: a=1, b=5/6, c=0; keyword: c=1, d=0.5, a=0
    assert fused["a"].score == pytest.approx(0.6)
    assert fused["b"].score == pytest.approx(0.6 * 5 / 6)
    assert fused["c"].score == pytest.approx(0.4)
    assert fused["d"].score == pytest.approx(0.2)
    assert fused["c"].scores == {"semantic": 0.3, "keyword": 12.0}
    assert fused["b"].scores == {"semantic": 0.8}


def test_weighted_fusion_is_deterministic_on_ties_and_honours_top_k() -> None:
    semantic = [hit("z", 1.0), hit("y", 1.0)]
    keyword = [hit("x", 4.0), hit("w", 4.0)]
    fused = weighted_fusion(semantic, keyword, semantic_weight=0.5, top_k=3)
    assert ids(fused) == ["w", "x", "y"]
    assert ids(weighted_fusion(list(reversed(semantic)), keyword, semantic_weight=0.5)) == [
        "w",
        "x",
        "y",
        "z",
    ]


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_weighted_fusion_rejects_weights_outside_unit_range(weight: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        weighted_fusion(SEMANTIC, KEYWORD, semantic_weight=weight)


def test_weighted_fusion_uses_the_given_normalization() -> None:
    # the keyword list's worst candidate is far below the rest: min-max scales by it, so k2 and
    # k3 (0.9, 0.8) look almost as good as k1 and pass the semantic runner-up s2 (2/3); scaled
    # by the spread instead, k3 (0.552) falls behind s2 (0.575) and s1 leads k1 (0.724, 0.637)
    semantic = [hit("s1", 1.0), hit("s2", 0.9), hit("s3", 0.8), hit("s4", 0.7)]
    keyword = [hit("k1", 10.0), hit("k2", 9.0), hit("k3", 8.0), hit("k4", 0.0)]
    by_min_max = weighted_fusion(semantic, keyword, semantic_weight=0.5)
    by_distribution = weighted_fusion(
        semantic, keyword, semantic_weight=0.5, normalize=distribution_based
    )
    assert ids(by_min_max) == ["k1", "s1", "k2", "k3", "s2", "s3", "k4", "s4"]
    assert ids(by_distribution) == ["s1", "k1", "k2", "s2", "k3", "s3", "s4", "k4"]
    # s1: semantic mean 0.85, std sqrt(0.0125); absent from the keyword list, it adds 0 there
    assert by_distribution[0].score == pytest.approx(0.5 * (0.5 + 0.15 / (6 * 0.0125**0.5)))
    assert by_distribution[0].scores == {"semantic": 1.0}
