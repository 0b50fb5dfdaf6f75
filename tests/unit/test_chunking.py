"""Token-aware chunking with MiniLM's own tokenizer: nothing embedded is ever cut by the model's
256-token window, nothing is lost, and chunk ids are stable."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest

from workflowai.knowledge.chunking import Chunker, chunk_documents
from workflowai.knowledge.embedding import (
    FakeEmbedder,
    SentenceTransformerEmbedder,
    embedding_input,
)
from workflowai.schemas import Document
from workflowai.settings import EmbeddingSettings

LOG_LINE = (
    "2024-05-01T10:00:00Z ##[error]Process completed with exit code 1: "
    "npm ERR! code ERESOLVE unable to resolve dependency tree while resolving react@18.2.0"
)
# adversarial inputs: text without any whitespace, a wall of log lines, CJK without spaces,
# long paragraphs of prose, a minified JSON line
TEXTS = {
    # no whitespace at all: a long URL-like path of hex segments (~20 tokens each)
    "blob": "/".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(80)),
    "log": "\n".join(f"[{i:04d}] {LOG_LINE}" for i in range(120)),
    "cjk": "構建失敗因為依賴樹無法解析。" * 120,
    "prose": "\n\n".join(
        f"Paragraph {p}. " + " ".join(f"The runner ran step {i} of the build." for i in range(40))
        for p in range(6)
    ),
    "json": '{"errors":['
    + ",".join(f'{{"code":{i},"msg":"disk quota exceeded"}}' for i in range(300))
    + "]}",
}


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(EmbeddingSettings(device="cpu"))


def doc(text: str, title: str = "Build failure runbook", doc_id: str = "kb/x.md") -> Document:
    return Document(id=doc_id, title=title, content=text, source=doc_id)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize(("chunk_tokens", "overlap"), [(200, 32), (64, 8), (256, 0)])
def test_every_embedded_chunk_fits_the_model_window_and_nothing_is_lost(
    minilm: SentenceTransformerEmbedder, name: str, chunk_tokens: int, overlap: int
) -> None:
    chunker = Chunker(minilm, chunk_tokens=chunk_tokens, overlap=overlap)
    text = TEXTS[name]
    chunks = chunker.chunk(doc(text))
    assert len(chunks) > 1
    for c in chunks:
        assert minilm.count_tokens(embedding_input(c)) <= minilm.max_seq_length
    # every word of the document is in some chunk (splits fall between or inside words)
    joined = "".join(c.text for c in chunks)
    if name != "blob":
        assert set(words(text)) <= set(words(" ".join(c.text for c in chunks)))
    assert len(joined) >= len(text.replace("\n", "").replace(" ", "")) * 0.99


def test_chunks_respect_the_configured_size_and_overlap(
    minilm: SentenceTransformerEmbedder,
) -> None:
    chunker = Chunker(minilm, chunk_tokens=64, overlap=16)
    chunks = chunker.chunk(doc(TEXTS["prose"]))
    sizes = [len(minilm.tokenizer.tokenize(c.text)) for c in chunks]
    assert max(sizes) <= 64
    assert sum(sizes) > len(minilm.tokenizer.tokenize(TEXTS["prose"]))  # overlap repeats text
    shared = [set(words(a.text)) & set(words(b.text)) for a, b in itertools.pairwise(chunks)]
    assert sum(bool(s) for s in shared) >= len(shared) // 2


def test_a_long_title_leaves_room_in_the_window(minilm: SentenceTransformerEmbedder) -> None:
    title = "very long title " * 60
    chunks = Chunker(minilm, chunk_tokens=200, overlap=0).chunk(doc(TEXTS["log"], title=title))
    assert all(minilm.count_tokens(embedding_input(c)) <= 256 for c in chunks)
    assert all(c.title == chunks[0].title for c in chunks)


def test_chunk_ids_are_stable_and_follow_content(minilm: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(minilm, chunk_tokens=64, overlap=8)
    first = chunker.chunk(doc(TEXTS["prose"]))
    again = chunker.chunk(doc(TEXTS["prose"]))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert [c.position for c in first] == list(range(len(first)))
    edited = chunker.chunk(doc(TEXTS["prose"] + "\n\nOne more paragraph."))
    assert edited[0].id == first[0].id and edited[-1].id != first[-1].id
    assert edited[0].document_hash != first[0].document_hash


def test_chunks_carry_document_fields(minilm: SentenceTransformerEmbedder) -> None:
    source = Document(
        id="kb/runbooks/npm.yaml",
        title="npm ERESOLVE",
        content="short text",
        source="/abs/kb/runbooks/npm.yaml",
        metadata={"kind": "runbook", "category": "dependency"},
    )
    (only,) = Chunker(minilm).chunk(source)
    assert (only.document_id, only.title, only.text, only.source, only.metadata) == (
        source.id,
        source.title,
        "short text",
        source.source,
        source.metadata,
    )
    assert only.document_hash == source.content_hash


def test_empty_document_has_no_chunks_and_chunk_documents_flattens() -> None:
    chunker = Chunker(FakeEmbedder(), chunk_tokens=16, overlap=2)
    docs = [doc("   "), doc("alpha beta " * 30, doc_id="a"), doc("gamma", doc_id="b")]
    chunks = chunk_documents(docs, chunker)
    assert {c.document_id for c in chunks} == {"a", "b"}
    assert all(FakeEmbedder().count_tokens(embedding_input(c)) <= 256 for c in chunks)


@pytest.mark.parametrize(("chunk_tokens", "overlap"), [(32, 32), (32, 40)])
def test_overlap_must_be_smaller_than_chunk_size(chunk_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        Chunker(FakeEmbedder(), chunk_tokens=chunk_tokens, overlap=overlap)
