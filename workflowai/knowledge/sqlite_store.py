"""The embedded backend: one SQLite file with FTS5 BM25 and stored vectors (exact cosine).

No server. WAL mode lets readers work while a writer commits, and each write batch is one
transaction, so a writer killed mid-batch leaves the file as it was before that batch.
Vectors are float32 BLOBs; vector search loads them once into a numpy matrix and reloads only
when the file changed (PRAGMA data_version also sees commits from other processes).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from workflowai.errors import (
    DuplicateChunkError,
    SchemaMismatchError,
    StoreError,
    StoreUnavailableError,
)
from workflowai.schemas import (
    Chunk,
    DuplicatePolicy,
    EmbeddedChunk,
    Metadata,
    ScoredChunk,
    StoreInfo,
)

SCHEMA_VERSION = "1"
# BM25 column weights (title, text) and the FTS5 tokenizer; chosen on SciFact train
# (bench/retrieval_quality.py): stemming and a title boost both help.
BM25_WEIGHTS = (2.0, 1.0)
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+", re.UNICODE)
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")

_DDL = f"""
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
    title, text, content='chunks', content_rowid='rowid', tokenize='{FTS_TOKENIZER}'
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
_FIELDS = "id, document_id, document_hash, position, title, text, source, metadata"
_COLUMNS = "c.rowid, " + ", ".join(f"c.{f}" for f in _FIELDS.split(", "))
_INSERT = f"INSERT INTO chunks({_FIELDS}, embedding) VALUES (?,?,?,?,?,?,?,?,?)"
_UPSERT = (
    _INSERT
    + " ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{f}=excluded.{f}" for f in [*_FIELDS.split(", ")[1:], "embedding"])
)


def fts_query(text: str) -> str | None:
    """Free text -> an FTS5 OR-query of quoted terms (no FTS syntax from users gets through)."""
    terms = list(dict.fromkeys(t.lower() for t in _WORD.findall(text)))
    return " OR ".join(f'"{t}"' for t in terms) or None


class SqliteKnowledgeStore:
    """KnowledgeStore on a single SQLite file."""

    def __init__(self, path: Path, *, timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._matrix: np.ndarray | None = None
        self._rowids: np.ndarray | None = None
        self._matrix_version: int | None = None

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self._timeout, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_DDL)
            except sqlite3.Error as exc:
                raise self._translate(exc, "open") from exc
            self._conn = conn
        return self._conn

    def _translate(self, exc: sqlite3.Error, action: str) -> StoreError:
        message = f"SQLite knowledge base {self.path}: {action} failed: {exc}"
        if "locked" in str(exc) or "busy" in str(exc):
            return StoreUnavailableError(message)
        return StoreError(message)

    @contextmanager
    def _tx(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    yield conn
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from exc

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    # -- protocol ---------------------------------------------------------------------------
    def ensure_schema(self, *, model: str, dim: int) -> None:
        with self._tx("ensure schema") as conn:
            meta = self._meta(conn)
            if "embedding_model" in meta:
                if meta["embedding_model"] != model or int(meta["embedding_dim"]) != dim:
                    raise SchemaMismatchError(
                        f"{self.path} was built with {meta['embedding_model']} "
                        f"({meta['embedding_dim']}-d) but {model} ({dim}-d) is configured: "
                        "run `workflowai reindex` to rebuild it with the new model"
                    )
                return
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("embedding_model", model),
                    ("embedding_dim", str(dim)),
                    ("schema_version", SCHEMA_VERSION),
                ],
            )

    def _check_dim(self, conn: sqlite3.Connection, vectors: Sequence[Sequence[float]]) -> None:
        meta = self._meta(conn)
        if "embedding_dim" not in meta:
            raise StoreError(f"{self.path}: ensure_schema() must run before the first write")
        dim = int(meta["embedding_dim"])
        bad = next((len(v) for v in vectors if len(v) != dim), None)
        if bad is not None:
            raise SchemaMismatchError(
                f"{self.path} holds {dim}-d vectors, got {bad}-d: run `workflowai reindex`"
            )

    def write(
        self,
        chunks: Sequence[EmbeddedChunk],
        *,
        on_duplicate: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
    ) -> int:
        if not chunks:
            return 0
        rows = [
            (
                e.chunk.id,
                e.chunk.document_id,
                e.chunk.document_hash,
                e.chunk.position,
                e.chunk.title,
                e.chunk.text,
                e.chunk.source,
                json.dumps(e.chunk.metadata, sort_keys=True),
                np.asarray(e.embedding, dtype=np.float32).tobytes(),
            )
            for e in chunks
        ]
        with self._tx("write") as conn:
            self._check_dim(conn, [e.embedding for e in chunks])
            self._matrix = None  # our own commits do not move PRAGMA data_version
            if on_duplicate is DuplicatePolicy.OVERWRITE:
                conn.executemany(_UPSERT, rows)
                return len(rows)
            existing = self._existing(conn, [r[0] for r in rows])
            if existing and on_duplicate is DuplicatePolicy.FAIL:
                raise DuplicateChunkError(f"chunks already indexed: {sorted(existing)[:10]}")
            fresh = [r for r in rows if r[0] not in existing]
            conn.executemany(_INSERT, fresh)
            return len(fresh)

    def _existing(self, conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(
                r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", part)
            )
        return found

    def delete(self, ids: Iterable[str]) -> None:
        with self._tx("delete") as conn:
            self._matrix = None
            conn.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])

    def document_hashes(self) -> dict[str, str]:
        with self._tx("read document hashes") as conn:
            return dict(conn.execute("SELECT DISTINCT document_id, document_hash FROM chunks"))

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        with self._tx("delete documents") as conn:
            self._matrix = None
            before = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            conn.executemany(
                "DELETE FROM chunks WHERE document_id = ?", [(d,) for d in document_ids]
            )
            return before - conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def count(self) -> int:
        with self._tx("count") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def _where(self, filters: Metadata | None) -> tuple[str, list[object]]:
        if not filters:
            return "", []
        clauses, args = [], []
        for key, value in sorted(filters.items()):
            if not _FILTER_KEY.match(key):
                raise ValueError(f"invalid metadata filter key {key!r}: use letters, digits, _ . -")
            clauses.append(f"json_extract(c.metadata, '$.\"{key}\"') = ?")
            args.append(value)
        return " AND " + " AND ".join(clauses), args

    def keyword_search(
        self, query: str, *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        match = fts_query(query)
        if match is None:
            return []
        where, args = self._where(filters)
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        sql = (
            f"SELECT {_COLUMNS}, bm25(chunks_fts, {weights}) AS rank FROM chunks_fts "
            f"JOIN chunks c ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH ?{where} "
            "ORDER BY rank LIMIT ?"
        )
        with self._tx("keyword search") as conn:
            rows = conn.execute(sql, [match, *args, top_k]).fetchall()
        return [
            ScoredChunk(chunk=_chunk(r), score=-float(r[-1]), scores={"bm25": -float(r[-1])})
            for r in rows
        ]

    def _vectors(self, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        total = int(conn.execute("SELECT COUNT(*), total(rowid) FROM chunks").fetchone()[0])
        stale = (
            self._matrix is None or self._matrix_version != version or len(self._rowids) != total
        )  # type: ignore[arg-type]
        if stale:
            rows = conn.execute("SELECT rowid, embedding FROM chunks ORDER BY rowid").fetchall()
            dim = int(self._meta(conn).get("embedding_dim", 0))
            self._rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.empty((len(rows), dim), dtype=np.float32)
            for i, row in enumerate(rows):
                matrix[i] = np.frombuffer(row[1], dtype=np.float32)
            self._matrix, self._matrix_version = matrix, version
        return self._matrix, self._rowids  # type: ignore[return-value]

    def vector_search(
        self, embedding: Sequence[float], *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        query = np.asarray(embedding, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            return []
        with self._tx("vector search") as conn:
            matrix, rowids = self._vectors(conn)
            if matrix.shape[0] == 0:
                return []
            if matrix.shape[1] != query.shape[0]:
                raise SchemaMismatchError(
                    f"query has {query.shape[0]} dimensions, the index {matrix.shape[1]}"
                )
            sims = matrix @ (query / norm)  # stored vectors are unit length
            if filters:
                where, args = self._where(filters)
                allowed = [
                    r[0]
                    for r in conn.execute(f"SELECT c.rowid FROM chunks c WHERE 1=1{where}", args)
                ]
                mask = np.isin(rowids, np.asarray(allowed, dtype=np.int64))
                sims = np.where(mask, sims, -np.inf)
            k = min(top_k, int(np.isfinite(sims).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-sims, k - 1)[:k]
            top = top[np.lexsort((rowids[top], -sims[top]))]
            picked = [int(rowids[i]) for i in top]
            marks = ",".join("?" * len(picked))
            rows = {
                r[0]: r
                for r in conn.execute(
                    f"SELECT {_COLUMNS} FROM chunks c WHERE c.rowid IN ({marks})", picked
                )
            }
        return [
            ScoredChunk(
                chunk=_chunk(rows[rid]), score=float(sims[i]), scores={"cosine": float(sims[i])}
            )
            for i, rid in zip(top, picked, strict=True)
        ]

    def info(self) -> StoreInfo:
        with self._tx("info") as conn:
            meta = self._meta(conn)
            chunks, documents = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT document_id) FROM chunks"
            ).fetchone()
        size = sum(
            p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()
        )
        return StoreInfo(
            backend="sqlite",
            location=str(self.path),
            documents=int(documents),
            chunks=int(chunks),
            size_bytes=size,
            embedding_model=meta.get("embedding_model"),
            embedding_dim=int(meta["embedding_dim"]) if "embedding_dim" in meta else None,
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._matrix = self._rowids = None


def _chunk(row: Sequence[object]) -> Chunk:
    return Chunk(
        id=str(row[1]),
        document_id=str(row[2]),
        document_hash=str(row[3]),
        position=int(row[4]),  # type: ignore[arg-type]
        title=str(row[5]),
        text=str(row[6]),
        source=str(row[7]),
        metadata=json.loads(str(row[8])),
    )
