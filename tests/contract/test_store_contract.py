"""The store contract: written against the KnowledgeStore protocol only, run on every backend."""

from __future__ import annotations

import math

import pytest

from workflowai.errors import DuplicateChunkError, SchemaMismatchError
from workflowai.knowledge.protocol import INCOMPLETE_HASH, KnowledgeStore
from workflowai.schemas import Chunk, DuplicatePolicy, EmbeddedChunk

MODEL, DIM = "contract-model", 4


def _unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def make(
    doc: str, position: int, text: str, vector: list[float], **meta: str | int | bool
) -> EmbeddedChunk:
    chunk = Chunk(
        id=Chunk.make_id(doc, position, text),
        document_id=doc,
        document_hash=f"hash-{doc}",
        position=position,
        title=doc.replace("-", " "),
        text=text,
        source=f"kb/{doc}.yaml",
        metadata=meta,
    )
    return EmbeddedChunk(chunk=chunk, embedding=_unit(*vector))


CORPUS = [
    make(
        "java-heap",
        0,
        "java.lang.OutOfMemoryError: Java heap space during test",
        [1, 0, 0, 0],
        category="out-of-memory",
        ecosystem="java",
    ),
    make(
        "npm-eresolve",
        0,
        "npm ERR! code ERESOLVE unable to resolve dependency tree",
        [0, 1, 0, 0],
        category="dependency",
        ecosystem="node",
    ),
    make(
        "dns-failure",
        0,
        "Could not resolve host: github.com temporary failure in name resolution",
        [0, 0, 1, 0],
        category="network",
        ecosystem="general",
    ),
    make(
        "dns-failure",
        1,
        "Retry the step; check the runner's resolver configuration",
        [0, 0, 1, 0.2],
        category="network",
        ecosystem="general",
    ),
    make(
        "docker-copy",
        0,
        "COPY failed: file not found in build context or excluded by .dockerignore",
        [0, 0, 0, 1],
        category="configuration",
        ecosystem="docker",
        flaky=False,
    ),
]


@pytest.fixture
def loaded(store: KnowledgeStore) -> KnowledgeStore:
    store.ensure_schema(model=MODEL, dim=DIM)
    assert store.write(CORPUS) == len(CORPUS)
    return store


def test_store_write_then_count(loaded: KnowledgeStore) -> None:
    assert loaded.count() == len(CORPUS)


def test_store_overwrite_is_idempotent(loaded: KnowledgeStore) -> None:
    loaded.write(CORPUS)
    loaded.write(CORPUS, on_duplicate=DuplicatePolicy.OVERWRITE)
    assert loaded.count() == len(CORPUS)


def test_store_skip_policy_writes_only_new_chunks(loaded: KnowledgeStore) -> None:
    extra = make("rust-borrow", 0, "error[E0502]: cannot borrow as mutable", [1, 1, 0, 0])
    written = loaded.write([*CORPUS[:2], extra], on_duplicate=DuplicatePolicy.SKIP)
    assert written == 1
    assert loaded.count() == len(CORPUS) + 1


def test_store_fail_policy_raises_on_duplicate(loaded: KnowledgeStore) -> None:
    with pytest.raises(DuplicateChunkError):
        loaded.write(CORPUS[:1], on_duplicate=DuplicatePolicy.FAIL)
    assert loaded.count() == len(CORPUS)


def test_store_delete_removes_chunks(loaded: KnowledgeStore) -> None:
    loaded.delete([CORPUS[0].chunk.id, "no-such-id"])
    assert loaded.count() == len(CORPUS) - 1
    assert all(h.chunk.id != CORPUS[0].chunk.id for h in loaded.keyword_search("heap", top_k=5))


def test_store_document_hashes_and_delete_documents(loaded: KnowledgeStore) -> None:
    hashes = loaded.document_hashes()
    assert hashes == {c.chunk.document_id: c.chunk.document_hash for c in CORPUS}
    assert loaded.delete_documents(["dns-failure"]) == 2
    assert "dns-failure" not in loaded.document_hashes()
    assert loaded.count() == len(CORPUS) - 2


def test_store_reports_an_interrupted_document_as_incomplete(loaded: KnowledgeStore) -> None:
    # the first chunk is written last; a run killed before it leaves the document incomplete
    loaded.delete([CORPUS[2].chunk.id])  # dns-failure position 0
    assert loaded.document_hashes()["dns-failure"] == INCOMPLETE_HASH
    stale = make("java-heap", 1, "a chunk from an older version", [1, 0, 1, 0])
    loaded.write(
        [
            stale.model_copy(
                update={"chunk": stale.chunk.model_copy(update={"document_hash": "old"})}
            )
        ]
    )
    assert loaded.document_hashes()["java-heap"] == INCOMPLETE_HASH
    assert loaded.document_hashes()["npm-eresolve"] == CORPUS[1].chunk.document_hash


def test_store_bulk_block_leaves_its_writes_searchable(store: KnowledgeStore) -> None:
    store.ensure_schema(model=MODEL, dim=DIM)
    with store.bulk():
        with store.bulk():  # nested, as a task inside an index run
            store.write(CORPUS[:3])
        store.write(CORPUS[3:])
        store.delete([CORPUS[0].chunk.id])
    # searched at once: a store that deferred the refresh and never made it fails here
    assert [h.chunk.document_id for h in store.keyword_search("ERESOLVE", top_k=5)] == [
        "npm-eresolve"
    ]
    assert [h.chunk.document_id for h in store.keyword_search("dockerignore", top_k=5)] == [
        "docker-copy"
    ]
    assert store.keyword_search("OutOfMemoryError", top_k=5) == []
    assert store.count() == len(CORPUS) - 1
    assert "java-heap" not in store.document_hashes()


def test_store_bulk_block_that_fails_keeps_what_it_wrote(store: KnowledgeStore) -> None:
    store.ensure_schema(model=MODEL, dim=DIM)
    with pytest.raises(RuntimeError, match="source went away"), store.bulk():
        store.write(CORPUS[:2])
        raise RuntimeError("source went away")
    # visible, like writes outside a block: the next index run skips them by hash
    assert store.document_hashes() == {
        c.chunk.document_id: c.chunk.document_hash for c in CORPUS[:2]
    }


@pytest.mark.parametrize(
    ("query", "expected_doc"),
    [
        ("OutOfMemoryError Java heap", "java-heap"),
        ("ERESOLVE dependency tree", "npm-eresolve"),
        ("could not resolve host", "dns-failure"),
        ("dockerignore build context", "docker-copy"),
    ],
)
def test_store_keyword_search_ranks_the_match_first(
    loaded: KnowledgeStore, query: str, expected_doc: str
) -> None:
    hits = loaded.keyword_search(query, top_k=3)
    assert hits, query
    assert hits[0].chunk.document_id == expected_doc
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_store_keyword_search_ignores_query_syntax(loaded: KnowledgeStore) -> None:
    # operators and quotes from users must not break the engine's query parser
    hits = loaded.keyword_search('heap" AND (NOT -java OR "', top_k=3)
    assert hits[0].chunk.document_id == "java-heap"


def test_store_vector_search_returns_nearest_with_cosine(loaded: KnowledgeStore) -> None:
    hits = loaded.vector_search(_unit(0, 0.1, 1, 0), top_k=2)
    assert [h.chunk.document_id for h in hits] == ["dns-failure", "dns-failure"]
    assert hits[0].score == pytest.approx(_dot(_unit(0, 0.1, 1, 0), CORPUS[2].embedding), abs=1e-3)
    assert hits[0].score >= hits[1].score


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_store_filters_apply_to_both_retrievers(loaded: KnowledgeStore) -> None:
    vector_hits = loaded.vector_search(_unit(1, 0, 0, 0), top_k=5, filters={"category": "network"})
    assert {h.chunk.document_id for h in vector_hits} == {"dns-failure"}
    keyword_hits = loaded.keyword_search("resolve", top_k=5, filters={"ecosystem": "node"})
    assert [h.chunk.document_id for h in keyword_hits] == ["npm-eresolve"]
    assert loaded.keyword_search("resolve", top_k=5, filters={"ecosystem": "none"}) == []


def test_store_round_trips_chunk_fields(loaded: KnowledgeStore) -> None:
    hit = loaded.keyword_search("dockerignore", top_k=1)[0]
    assert hit.chunk == CORPUS[4].chunk


def test_store_rejects_another_model_or_dimension(loaded: KnowledgeStore) -> None:
    with pytest.raises(SchemaMismatchError, match="reindex"):
        loaded.ensure_schema(model="other-model", dim=DIM)
    with pytest.raises(SchemaMismatchError, match="reindex"):
        loaded.ensure_schema(model=MODEL, dim=DIM + 1)
    loaded.ensure_schema(model=MODEL, dim=DIM)  # the same model is fine


class _Vectors:
    """An embedder that returns fixed 4-d vectors under a chosen model name: the contract
    corpus's vectors are hand-made, so no real model made them (the real models' search
    runs in tests/unit/test_search.py and tests/flows)."""

    def __init__(self, model_name: str) -> None:
        self.model_name, self.dim = model_name, DIM

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0, 0.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0, 0.0]

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


def test_store_search_refuses_vectors_of_another_model(store: KnowledgeStore) -> None:
    from workflowai.knowledge.search import search
    from workflowai.schemas import SearchRequest
    from workflowai.settings import SearchMode, SearchSettings

    assert store.embedding_model() is None  # nothing set up yet: nothing to compare
    store.ensure_schema(model=MODEL, dim=DIM)
    store.write(CORPUS)
    assert store.embedding_model() == MODEL
    request = SearchRequest(query="heap", top_k=3)
    assert search(store, _Vectors(MODEL), request, SearchSettings()).hits
    for mode in (SearchMode.HYBRID, SearchMode.SEMANTIC):
        other = request.model_copy(update={"mode": mode})
        with pytest.raises(SchemaMismatchError, match=f"built with {MODEL} but other-model"):
            search(store, _Vectors("other-model"), other, SearchSettings())
    keyword = request.model_copy(update={"mode": SearchMode.KEYWORD})  # no vectors compared
    assert search(store, _Vectors("other-model"), keyword, SearchSettings()).hits


def test_store_info_reports_counts_and_model(loaded: KnowledgeStore) -> None:
    info = loaded.info()
    assert (info.documents, info.chunks) == (4, 5)
    assert (info.embedding_model, info.embedding_dim) == (MODEL, DIM)
    assert info.size_bytes is None or info.size_bytes > 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "network", "ecosystem": "general"}, {"dns-failure"}),
        ({"category": "network", "ecosystem": "node"}, set()),  # keys AND, never OR
        ({"flaky": False}, {"docker-copy"}),
        ({"ecosystem": "java"}, {"java-heap"}),
    ],
)
def test_store_filters_are_equality_on_every_key(
    loaded: KnowledgeStore, filters: dict[str, str | bool], expected: set[str]
) -> None:
    vector_hits = loaded.vector_search(_unit(1, 1, 1, 1), top_k=10, filters=filters)
    assert {h.chunk.document_id for h in vector_hits} == expected


def test_store_searches_with_nothing_to_match(loaded: KnowledgeStore) -> None:
    assert loaded.keyword_search("zzzz-unknown-term", top_k=5) == []
    assert loaded.keyword_search("!!! ???", top_k=5) == []
    assert len(loaded.vector_search(_unit(1, 1, 1, 1), top_k=50)) == len(CORPUS)


def test_store_overwrite_replaces_a_chunk_in_both_indexes(loaded: KnowledgeStore) -> None:
    old = CORPUS[1].chunk
    changed = EmbeddedChunk(
        chunk=old.model_copy(update={"title": "yarn lockfile", "metadata": {"ecosystem": "yarn"}}),
        embedding=_unit(1, 0, 0, 0.1),
    )
    loaded.write([changed])
    assert loaded.count() == len(CORPUS)
    assert loaded.keyword_search("yarn lockfile", top_k=1)[0].chunk == changed.chunk
    nearest = loaded.vector_search(_unit(1, 0, 0, 0.1), top_k=1)[0]
    assert nearest.chunk.id == old.id
    assert loaded.vector_search(_unit(1, 0, 0, 0), top_k=1, filters={"ecosystem": "node"}) == []
