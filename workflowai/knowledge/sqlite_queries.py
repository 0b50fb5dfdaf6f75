"""SQL for the SQLite backend as pure functions and constants (the store only does I/O).

Owns the schema (chunks table, FTS5 index kept in sync by triggers, meta table), the FTS5
query built from free text, the metadata filter clause and the row -> Chunk mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np

from workflowai.schemas import Chunk, EmbeddedChunk, Metadata

SCHEMA_VERSION = "1"
# FTS5 tokenizer and BM25 column weights (title, text), chosen on SciFact train with
# bench/retrieval_quality.py --bm25-variants (figures in bench/README.md).
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
BM25_WEIGHTS = (2.0, 1.0)

_WORD = re.compile(r"\w+", re.UNICODE)
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_TOKENIZER = re.compile(r"^[a-z0-9_ ]+$")

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    document_hash TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    metadata TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, content='chunks', content_rowid='rowid', tokenize='{tokenizer}'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, title, text)
    VALUES ('delete', old.rowid, old.title, old.text);
    INSERT INTO chunks_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
END;
"""
_FIELDS = ["id", "document_id", "document_hash", "position", "title", "text", "source", "metadata"]
COLUMNS = ", ".join(f"c.{f}" for f in _FIELDS)
INSERT = f"INSERT INTO chunks({', '.join(_FIELDS)}, embedding) VALUES (?,?,?,?,?,?,?,?,?)"
UPSERT = (
    INSERT
    + " ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{f}=excluded.{f}" for f in [*_FIELDS[1:], "embedding"])
)


def ddl(tokenizer: str) -> str:
    """The schema script for an FTS5 `tokenizer` such as FTS_TOKENIZER.

    Raises ValueError for anything but lowercase words (it is spliced into the DDL).
    """
    if not _TOKENIZER.match(tokenizer):
        raise ValueError(f"invalid FTS5 tokenizer {tokenizer!r}, e.g. {FTS_TOKENIZER!r}")
    return DDL.format(tokenizer=tokenizer)


def fts_terms(text: str) -> list[str]:
    """Free text -> distinct quoted FTS5 terms (no FTS syntax from users gets through)."""
    return [f'"{t}"' for t in dict.fromkeys(t.lower() for t in _WORD.findall(text))]


def fts_query(text: str) -> str | None:
    """Free text -> an FTS5 OR-query of quoted terms, None when it has no word."""
    return " OR ".join(fts_terms(text)) or None


def keyword_sql(weights: tuple[float, float], where: str) -> str:
    """BM25 over title and text; FTS5's bm25() is lower-is-better, so it is negated.

    Without filters the top rowids come from the FTS index alone and only those rows are
    read from `chunks` (joining first would read every matching row: 2.5x slower).
    """
    title, text = (float(w) for w in weights)
    score = f"-bm25(chunks_fts, {title!r}, {text!r})"
    if where:
        return (
            f"SELECT {COLUMNS}, {score} AS score FROM chunks_fts "
            f"JOIN chunks c ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH ?{where} "
            "ORDER BY score DESC, c.rowid LIMIT ?"
        )
    return (
        f"SELECT {COLUMNS}, k.score FROM (SELECT rowid, {score} AS score FROM chunks_fts "
        "WHERE chunks_fts MATCH ? ORDER BY score DESC, rowid LIMIT ?) k "
        "JOIN chunks c ON c.rowid = k.rowid ORDER BY k.score DESC, c.rowid"
    )


def where_clause(filters: Metadata | None) -> tuple[str, list[object]]:
    """` AND ...` equality on metadata keys (all must match) and its arguments.

    Raises ValueError for a key outside letters, digits, `_ . -` (keys go into a JSON path).
    """
    if not filters:
        return "", []
    clauses: list[str] = []
    args: list[object] = []
    for key, value in sorted(filters.items()):
        if not _FILTER_KEY.match(key):
            raise ValueError(f"invalid metadata filter key {key!r}: use letters, digits, _ . -")
        clauses.append(f"json_extract(c.metadata, '$.\"{key}\"') = ?")
        # JSON booleans come back from json_extract as 1/0
        args.append(int(value) if isinstance(value, bool) else value)
    return " AND " + " AND ".join(clauses), args


def chunk_row(item: EmbeddedChunk) -> tuple[object, ...]:
    c = item.chunk
    vector = np.asarray(item.embedding, dtype=np.float32).tobytes()
    metadata = json.dumps(c.metadata, sort_keys=True)
    return (c.id, c.document_id, c.document_hash, c.position, c.title, c.text, c.source,
            metadata, vector)  # fmt: skip


def row_chunk(row: Sequence[object]) -> Chunk:
    """A Chunk from the first len(_FIELDS) columns of a row selected with COLUMNS."""
    return Chunk(
        id=str(row[0]),
        document_id=str(row[1]),
        document_hash=str(row[2]),
        position=int(row[3]),  # type: ignore[call-overload]
        title=str(row[4]),
        text=str(row[5]),
        source=str(row[6]),
        metadata=json.loads(str(row[7])),
    )
