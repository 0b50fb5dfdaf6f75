"""Elasticsearch request bodies, built without a cluster (the real node runs them in
tests/contract and tests/integration)."""

from __future__ import annotations

from typing import Any

import pytest

from workflowai.knowledge import es_queries as q
from workflowai.knowledge.stemming import stem_text
from workflowai.schemas import Chunk, EmbeddedChunk
from workflowai.settings import Stemming

CHUNK = Chunk(
    id="c1",
    document_id="runbooks/npm-eresolve.yaml",
    document_hash="h1",
    position=3,
    title="npm ERESOLVE",
    text="npm ERR! code ERESOLVE unable to resolve dependency tree",
    source="knowledge_base/npm-eresolve.yaml",
    metadata={"category": "dependency", "ecosystem": "npm", "flaky": False},
)


def test_index_body_maps_text_vector_keywords_and_meta() -> None:
    body = q.index_body(model="all-MiniLM-L6-v2", dim=384)
    mappings = body["mappings"]
    props = mappings["properties"]
    assert mappings["_meta"] == {
        "embedding_model": "all-MiniLM-L6-v2",
        "embedding_dim": 384,
        "schema_version": q.SCHEMA_VERSION,
        "stemming": "none",
    }
    assert props["embedding"] == {
        "type": "dense_vector",
        "dims": 384,
        "index": True,
        "similarity": "cosine",
    }
    assert {props[f]["type"] for f in ("title", "text")} == {"text"}
    assert {props[f]["type"] for f in ("document_id", "document_hash", "source")} == {"keyword"}
    template = mappings["dynamic_templates"][0]["metadata_as_keywords"]
    assert template["path_match"] == "metadata.*"
    assert template["mapping"]["type"] == "keyword"
    assert mappings["dynamic"] == "strict"  # a typo in a field name fails, not a new field


@pytest.mark.parametrize(
    ("analyzer", "defined"),
    [("standard", False), ("standard_stop", True)],
)
def test_index_body_defines_custom_analyzers_only(analyzer: str, defined: bool) -> None:
    body = q.index_body(model="m", dim=8, analyzer=analyzer)
    assert body["mappings"]["properties"]["text"]["analyzer"] == analyzer
    assert ("analysis" in body["settings"]) is defined


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "m", "dim": 8, "analyzer": "english"}, "analyzer must be one of"),
        ({"model": "m", "dim": 0}, "dim must be >= 1"),
    ],
)
def test_index_body_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        q.index_body(**kwargs)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, []),
        ({}, []),
        ({"ecosystem": "npm"}, [{"term": {"metadata.ecosystem": "npm"}}]),
        # keyword mapping indexes booleans and numbers as their text
        ({"flaky": True}, [{"term": {"metadata.flaky": "true"}}]),
        ({"priority": 2}, [{"term": {"metadata.priority": "2"}}]),
        (
            {"kind": "runbook", "category": "dependency"},
            [
                {"term": {"metadata.category": "dependency"}},
                {"term": {"metadata.kind": "runbook"}},
            ],
        ),
    ],
)
def test_filter_clauses_are_keyword_terms(filters: Any, expected: list[dict[str, Any]]) -> None:
    assert q.filter_clauses(filters) == expected


def test_keyword_query_scores_title_and_text_and_filters_without_scoring() -> None:
    body = q.keyword_query("ERESOLVE peer dep", top_k=7, filters={"ecosystem": "npm"})
    assert body["size"] == 7
    bool_query = body["query"]["bool"]
    assert bool_query["must"] == {
        "combined_fields": {
            "query": "ERESOLVE peer dep",
            "fields": [f"title^{q.TITLE_BOOST:g}", "text"],
        }
    }
    assert bool_query["filter"] == [{"term": {"metadata.ecosystem": "npm"}}]
    assert "embedding" not in body["_source"]  # vectors never travel back with hits


@pytest.mark.parametrize(
    ("match_type", "boost", "expected_must"),
    [
        (
            "most_fields",
            0.5,
            {
                "multi_match": {
                    "query": "oom",
                    "fields": ["title^0.5", "text"],
                    "type": "most_fields",
                }
            },
        ),
        (
            "combined_fields",
            2.0,
            {"combined_fields": {"query": "oom", "fields": ["title^2", "text"]}},
        ),
    ],
)
def test_keyword_query_match_types(
    match_type: str, boost: float, expected_must: dict[str, Any]
) -> None:
    body = q.keyword_query("oom", top_k=3, title_boost=boost, match_type=match_type)
    assert body["query"]["bool"]["must"] == expected_must


def test_keyword_query_rejects_unknown_match_type() -> None:
    with pytest.raises(ValueError, match="match_type must be one of"):
        q.keyword_query("oom", top_k=3, match_type="phrase")


@pytest.mark.parametrize(
    ("top_k", "candidates", "expected_candidates"),
    [(5, 0, 50), (20, 0, 80), (5, 200, 200)],
)
def test_knn_query_candidates(top_k: int, candidates: int, expected_candidates: int) -> None:
    body = q.knn_query([0.1, 0.2], top_k=top_k, candidates=candidates)
    knn = body["knn"]
    assert (knn["k"], knn["num_candidates"], body["size"]) == (top_k, expected_candidates, top_k)
    assert knn["field"] == "embedding"
    assert "filter" not in knn


def test_knn_query_filters_inside_the_knn_search() -> None:
    # a post-filter would drop hits after the top k were chosen; a kNN filter does not
    knn = q.knn_query([1.0, 0.0], top_k=3, filters={"kind": "runbook"})["knn"]
    assert knn["filter"] == {"bool": {"filter": [{"term": {"metadata.kind": "runbook"}}]}}


@pytest.mark.parametrize(("score", "cosine"), [(1.0, 1.0), (0.5, 0.0), (0.0, -1.0), (0.75, 0.5)])
def test_cosine_from_score(score: float, cosine: float) -> None:
    assert q.cosine_from_score(score) == pytest.approx(cosine)


def test_hashes_aggregation_pages_with_after_key() -> None:
    first = q.hashes_aggregation(size=10)
    composite = first["aggs"]["docs"]["composite"]
    assert first["size"] == 0 and composite["size"] == 10 and "after" not in composite
    assert [next(iter(s)) for s in composite["sources"]] == ["document_id", "document_hash"]
    after = {"document_id": "a", "document_hash": "h"}
    assert q.hashes_aggregation(after)["aggs"]["docs"]["composite"]["after"] == after


def test_document_ids_query_is_a_terms_query() -> None:
    assert q.document_ids_query(["a", "b"]) == {"terms": {"document_id": ["a", "b"]}}


@pytest.mark.parametrize("op_type", ["index", "create"])
def test_index_actions_carry_id_op_and_source(op_type: str) -> None:
    (action,) = q.index_actions(
        "kb-v1", [EmbeddedChunk(chunk=CHUNK, embedding=[0.5, 0.5])], op_type
    )
    assert (action["_op_type"], action["_index"], action["_id"]) == (op_type, "kb-v1", "c1")
    assert action["_source"]["embedding"] == [0.5, 0.5]
    assert action["_source"]["document_id"] == CHUNK.document_id


def test_delete_actions() -> None:
    assert list(q.delete_actions("kb", ["a", "b"])) == [
        {"_op_type": "delete", "_index": "kb", "_id": "a"},
        {"_op_type": "delete", "_index": "kb", "_id": "b"},
    ]


def test_chunk_round_trips_through_source_and_hit() -> None:
    hit = {"_id": CHUNK.id, "_source": q.chunk_source(CHUNK, [0.1, 0.2])}
    assert q.chunk_from_hit(hit) == CHUNK


@pytest.mark.parametrize(
    ("text", "stems"),
    [
        ("npm ERR! code ERESOLVE unable to resolve dependency tree",
         "npm err code eresolv unabl to resolv depend tree"),
        ("FAILED tests/test_invoices.py::test_apply_discount",
         "fail test test invoic py test appli discount"),
        ("Tests failed: 3 failures, 2 errors", "test fail 3 failur 2 error"),
        ("Connection refused (os error 111)", "connect refus o error 111"),
        ("", ""),
    ],
)  # fmt: skip
def test_stem_text_splits_like_unicode61_and_porter_stems(text: str, stems: str) -> None:
    assert stem_text(text) == stems


def test_client_stemming_adds_stemmed_fields_and_searches_them() -> None:
    body = q.index_body(model="m", dim=8, stemming=Stemming.CLIENT)
    props = body["mappings"]["properties"]
    assert body["mappings"]["_meta"]["stemming"] == "client"
    assert props["title_stem"] == props["text_stem"] == {"type": "text", "analyzer": "standard"}
    assert props["text"]["analyzer"] == "standard"  # the originals stay as they were
    source = q.chunk_source(CHUNK, [0.1], Stemming.CLIENT)
    assert source["title_stem"] == "npm eresolv"
    assert source["text_stem"] == "npm err code eresolv unabl to resolv depend tree"
    assert q.chunk_from_hit({"_id": CHUNK.id, "_source": source}) == CHUNK
    match = q.keyword_query("Dependencies resolving", top_k=3, stemming=Stemming.CLIENT)
    combined = match["query"]["bool"]["must"]["combined_fields"]
    assert combined == {"query": "depend resolv", "fields": ["title_stem^1.5", "text_stem"]}


def test_english_stemming_uses_the_english_analyzer_and_plain_fields() -> None:
    body = q.index_body(model="m", dim=8, stemming=Stemming.ENGLISH)
    props = body["mappings"]["properties"]
    assert props["title"]["analyzer"] == props["text"]["analyzer"] == "english"
    assert "text_stem" not in props
    match = q.keyword_query("Dependencies", top_k=3, stemming=Stemming.ENGLISH)
    assert match["query"]["bool"]["must"]["combined_fields"]["query"] == "Dependencies"
    assert "title_stem" not in q.chunk_source(CHUNK, [0.1], Stemming.ENGLISH)


def test_index_body_needs_a_resolved_stemming_mode() -> None:
    with pytest.raises(ValueError, match=r"resolve Stemming\.AUTO"):
        q.index_body(model="m", dim=8, stemming=Stemming.AUTO)
