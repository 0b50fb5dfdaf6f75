"""Token-aware chunking with the embedding model's own tokenizer.

LangChain's RecursiveCharacterTextSplitter does the splitting (paragraphs, then lines, then
words), measuring length with the model's tokenizer, so no vocabulary is downloaded at run
time (tiktoken would). Every chunk is checked against the model's real limit after splitting:
all-MiniLM-L6-v2 silently truncates past 256 tokens, so an oversize chunk is split again
rather than embedded cut.

Lengths are memoized per chunker: the splitter measures a piece when it splits and again when
it merges, and the indexer reports the tokens of each chunk the chunker already counted.
Measuring through the tokenizer's Python wrapper was most of the chunking time (2.2 of 2.9 s
for 300 SciFact abstracts); the embedder's own Rust tokenizer gives the same counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from workflowai.knowledge.embedding import embedding_input
from workflowai.knowledge.embedding_protocol import Embedder
from workflowai.schemas import Chunk, Document

MAX_TITLE_CHARS = 200
_MEMO = 16_384  # memoized lengths per chunker (pieces and chunks of the current batch)
_SEPARATORS = ["\n\n", "\n", ". ", " ", ""]


class Chunker:
    """Splits documents into chunks whose embedded text fits the model's sequence limit."""

    def __init__(self, embedder: Embedder, *, chunk_tokens: int = 200, overlap: int = 32) -> None:
        if overlap >= chunk_tokens:
            raise ValueError(
                f"overlap ({overlap}) must be smaller than chunk_tokens ({chunk_tokens})"
            )
        self._count: Callable[[str], int] = lru_cache(maxsize=_MEMO)(embedder.count_tokens)
        self.max_tokens = int(getattr(embedder, "max_seq_length", 512))
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap
        # pieces are measured without special tokens: the splitter sums the lengths of the
        # pieces (and separators) it merges, so a per-call overhead would be counted many times
        piece_len: Callable[[str], int] | None = getattr(embedder, "count_piece_tokens", None)
        if piece_len is None:
            tokenizer = getattr(embedder, "tokenizer", None)
            overhead = self._count("")
            piece_len = (
                (lambda t: len(tokenizer(t, add_special_tokens=False, verbose=False).input_ids))
                if tokenizer is not None
                else (lambda text: max(0, self._count(text) - overhead))
            )
        self._piece_len: Callable[[str], int] = lru_cache(maxsize=_MEMO)(piece_len)

    def _splitter(self, budget: int) -> RecursiveCharacterTextSplitter:
        return RecursiveCharacterTextSplitter(
            chunk_size=budget,
            chunk_overlap=min(self.overlap, budget // 2),
            length_function=self._piece_len,
            separators=_SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def _fits(self, title: str, text: str) -> bool:
        probe = Chunk(
            id="-",
            document_id="-",
            document_hash="-",
            position=0,
            title=title,
            text=text,
            source="-",
        )
        return self._count(embedding_input(probe)) <= self.max_tokens

    def _split(self, title: str, text: str, budget: int) -> list[str]:
        pieces: list[str] = []
        for piece in self._splitter(budget).split_text(text):
            if self._fits(title, piece):
                pieces.append(piece)
            elif budget > 8:
                pieces.extend(self._split(title, piece, budget // 2))
            else:  # a single "word" longer than the model's window: cut it by characters
                half = max(1, len(piece) // 2)
                pieces.extend(self._split(title, piece[:half], budget))
                pieces.extend(self._split(title, piece[half:], budget))
        return pieces

    def tokens(self, chunk: Chunk) -> int:
        """Tokens the model sees for `chunk` (memoized: chunking counted them already)."""
        return self._count(embedding_input(chunk))

    def chunk(self, document: Document) -> list[Chunk]:
        title = document.title[:MAX_TITLE_CHARS]
        title_tokens = self._count(title) if title else 0
        budget = max(8, min(self.chunk_tokens, self.max_tokens - title_tokens - 4))
        texts = self._split(title, document.content, budget) if document.content.strip() else []
        doc_hash = document.content_hash
        return [
            Chunk(
                id=Chunk.make_id(document.id, position, text),
                document_id=document.id,
                document_hash=doc_hash,
                position=position,
                title=title,
                text=text,
                source=document.source,
                metadata=document.metadata,
            )
            for position, text in enumerate(texts)
        ]


def chunk_documents(documents: Iterable[Document], chunker: Chunker) -> list[Chunk]:
    """Chunks in write order: each document's position-0 chunk comes after its others.

    Stores report a document without its first chunk as incomplete, so a run killed between
    two writes of one document makes the next run rewrite it rather than skip it.
    """
    return [
        chunk
        for document in documents
        for chunk in sorted(chunker.chunk(document), key=lambda c: (c.position == 0, c.position))
    ]
