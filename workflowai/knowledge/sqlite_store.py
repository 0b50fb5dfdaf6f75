"""The embedded backend: one SQLite file with FTS5 BM25 and stored vectors (exact cosine).

No server. WAL mode lets readers work while a writer commits, and each write batch is one
transaction, so a writer killed mid-batch leaves the file as it was before that batch
(tests/unit/test_sqlite_concurrency.py kills one for real). Vectors are float32 BLOBs; vector
search loads them once into a numpy matrix and reloads only when the index changed (our own
writes drop it; PRAGMA data_version reveals commits from other connections).
SQL lives in `sqlite_queries`; this class does the I/O and translates engine errors.
"""

from __future__ import annotations

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
from workflowai.knowledge import sqlite_queries as q
from workflowai.knowledge.protocol import INCOMPLETE_HASH
from workflowai.knowledge.sqlite_queries import BM25_WEIGHTS, FTS_TOKENIZER, fts_query
from workflowai.schemas import DuplicatePolicy, EmbeddedChunk, Metadata, ScoredChunk, StoreInfo
from workflowai.sqlite_files import open_database

__all__ = ["BM25_WEIGHTS", "FTS_TOKENIZER", "SqliteKnowledgeStore", "fts_query"]
_REINDEX = "run `workflowai reindex` to rebuild it"
_SCHEMA_ERRORS = ("no such table", "no such column", "has no column")


class SqliteKnowledgeStore:
    """KnowledgeStore on a single SQLite file; the constructor only stores configuration."""

    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = 10.0,
        tokenizer: str = FTS_TOKENIZER,
        bm25_weights: tuple[float, float] = BM25_WEIGHTS,
    ) -> None:
        """`timeout_s`: how long to wait for another writer's lock (busy_timeout).
        `tokenizer` applies when the file is created; `bm25_weights` are (title, text).
        Raises ValueError for a malformed tokenizer or negative weights."""
        self._script = q.ddl(tokenizer)
        if len(bm25_weights) != 2 or min(bm25_weights) < 0:
            raise ValueError(f"bm25_weights must be two numbers >= 0 (title, text): {bm25_weights}")
        self.path = Path(path)
        self._timeout = timeout_s
        self._weights = (float(bm25_weights[0]), float(bm25_weights[1]))
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._matrix: np.ndarray | None = None
        self._rowids: np.ndarray | None = None
        self._matrix_version: int | None = None

    # -- connection and errors -------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = open_database(self.path, self._timeout, self._script)
            except sqlite3.Error as exc:
                raise self._translate(exc, "open") from exc
            except OSError as exc:
                raise StoreError(f"SQLite knowledge base {self.path}: cannot open: {exc}") from exc
            self._conn = conn
        return self._conn

    def _translate(self, exc: sqlite3.Error, action: str) -> StoreError:
        text = str(exc)
        message = f"SQLite knowledge base {self.path}: {action} failed: {text}"
        if "locked" in text or "busy" in text:
            return StoreUnavailableError(message)
        if any(marker in text for marker in _SCHEMA_ERRORS):
            return SchemaMismatchError(f"{message}; the file has an older layout: {_REINDEX}")
        return StoreError(message)

    @contextmanager
    def _tx(self, action: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction, committed on success and rolled back on any error.

        Reads see one snapshot (a concurrent prune cannot remove rows between two SELECTs);
        writes take the lock up front (BEGIN IMMEDIATE), waiting up to busy_timeout for it.
        """
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield conn
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from exc

    @staticmethod
    def _meta(conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    # -- schema and writes ------------------------------------------------------------------
    def ensure_schema(self, *, model: str, dim: int) -> None:
        with self._tx("ensure schema", write=True) as conn:
            meta = self._meta(conn)
            if "embedding_model" not in meta:
                conn.executemany(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    [
                        ("embedding_model", model),
                        ("embedding_dim", str(dim)),
                        ("schema_version", q.SCHEMA_VERSION),
                    ],
                )
                return
            found = (meta["embedding_model"], int(meta["embedding_dim"]))
            if found != (model, dim):
                raise SchemaMismatchError(
                    f"{self.path} was built with {found[0]} ({found[1]}-d) but {model} "
                    f"({dim}-d) is configured: {_REINDEX} with the new model"
                )
            if meta.get("schema_version") != q.SCHEMA_VERSION:
                raise SchemaMismatchError(
                    f"{self.path} has layout version {meta.get('schema_version')}, this "
                    f"release uses {q.SCHEMA_VERSION}: {_REINDEX}"
                )

    def _check_dim(self, conn: sqlite3.Connection, chunks: Sequence[EmbeddedChunk]) -> None:
        meta = self._meta(conn)
        if "embedding_dim" not in meta:
            raise StoreError(f"{self.path}: ensure_schema() must run before the first write")
        dim = int(meta["embedding_dim"])
        bad = next((len(c.embedding) for c in chunks if len(c.embedding) != dim), None)
        if bad is not None:
            raise SchemaMismatchError(f"{self.path} holds {dim}-d vectors, got {bad}-d: {_REINDEX}")

    def write(
        self,
        chunks: Sequence[EmbeddedChunk],
        *,
        on_duplicate: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
    ) -> int:
        """Write one batch in one transaction; returns the chunks written.

        Raises DuplicateChunkError (policy FAIL; nothing written), SchemaMismatchError for a
        vector of another dimension, StoreUnavailableError when another writer holds the lock.
        """
        if not chunks:
            return 0
        rows = [q.chunk_row(c) for c in chunks]
        with self._tx("write", write=True) as conn:
            self._check_dim(conn, chunks)
            self._matrix = None
            if on_duplicate is DuplicatePolicy.OVERWRITE:
                conn.executemany(q.UPSERT, rows)
                return len(rows)
            existing = self._existing(conn, [str(r[0]) for r in rows])
            if existing and on_duplicate is DuplicatePolicy.FAIL:
                raise DuplicateChunkError(f"chunks already indexed: {sorted(existing)[:10]}")
            fresh = list({r[0]: r for r in rows if r[0] not in existing}.values())
            conn.executemany(q.INSERT, fresh)
            return len(fresh)

    @staticmethod
    def _existing(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(
                r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", part)
            )
        return found

    @contextmanager
    def bulk(self) -> Iterator[None]:
        # every write commits on its own and is searchable at once: nothing to defer
        yield

    def delete(self, ids: Iterable[str]) -> None:
        with self._tx("delete", write=True) as conn:
            self._matrix = None
            conn.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])

    def delete_documents(self, document_ids: Iterable[str]) -> int:
        with self._tx("delete documents", write=True) as conn:
            self._matrix = None
            cursor = conn.executemany(
                "DELETE FROM chunks WHERE document_id = ?", [(d,) for d in document_ids]
            )
            return max(0, cursor.rowcount)

    # -- reads ------------------------------------------------------------------------------
    def document_hashes(self) -> dict[str, str]:
        with self._tx("read document hashes") as conn:
            rows = conn.execute(
                "SELECT document_id, MIN(document_hash), MAX(document_hash), MIN(position) "
                "FROM chunks GROUP BY document_id"
            ).fetchall()
        return {
            doc: low if low == high and first == 0 else INCOMPLETE_HASH
            for doc, low, high, first in rows
        }

    def count(self) -> int:
        with self._tx("count") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def keyword_search(
        self, query: str, *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        terms = q.fts_terms(query)
        if not terms:
            return []
        where, args = q.where_clause(filters)
        with self._tx("keyword search") as conn:
            match = " OR ".join(self._informative(conn, terms))
            rows = conn.execute(q.keyword_sql(self._weights, where), [match, *args, top_k])
            rows = rows.fetchall()
        return [
            ScoredChunk(chunk=q.row_chunk(r), score=float(r[-1]), scores={"bm25": float(r[-1])})
            for r in rows
        ]

    @staticmethod
    def _informative(conn: sqlite3.Connection, terms: list[str]) -> list[str]:
        """Terms found in fewer than half the chunks. FTS5's bm25() clamps the IDF of the
        others to 1e-6, so they cannot change a ranking, but scoring every row they match
        made queries with common words 2-3x slower."""
        total = int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        count = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
        kept = [t for t in terms if 2 * int(conn.execute(count, [t]).fetchone()[0]) < total]
        return kept or terms

    def _vectors(self, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if self._matrix is None or self._matrix_version != version:
            rows = conn.execute("SELECT rowid, embedding FROM chunks ORDER BY rowid").fetchall()
            dim = int(self._meta(conn).get("embedding_dim", 0))
            self._rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            blob = b"".join(r[1] for r in rows)
            self._matrix = np.frombuffer(blob, dtype=np.float32).reshape(len(rows), dim)
            self._matrix_version = version
        return self._matrix, self._rowids  # type: ignore[return-value]

    def vector_search(
        self, embedding: Sequence[float], *, top_k: int, filters: Metadata | None = None
    ) -> list[ScoredChunk]:
        """Exact cosine over every stored vector (stored vectors are unit length)."""
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
                    f"query has {query.shape[0]} dimensions, {self.path} {matrix.shape[1]}"
                )
            sims = matrix @ (query / norm)
            if filters:
                where, args = q.where_clause(filters)
                sql = f"SELECT c.rowid FROM chunks c WHERE 1=1{where}"
                allowed = np.fromiter((r[0] for r in conn.execute(sql, args)), dtype=np.int64)
                sims = np.where(np.isin(rowids, allowed), sims, -np.inf)
            k = min(top_k, int(np.isfinite(sims).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-sims, k - 1)[:k]
            top = top[np.lexsort((rowids[top], -sims[top]))]
            picked = [int(rowids[i]) for i in top]
            marks = ",".join("?" * len(picked))
            sql = f"SELECT c.rowid, {q.COLUMNS} FROM chunks c WHERE c.rowid IN ({marks})"
            rows = {r[0]: r[1:] for r in conn.execute(sql, picked)}
        return [
            ScoredChunk(
                chunk=q.row_chunk(rows[rid]),
                score=float(sims[i]),
                scores={"cosine": float(sims[i])},
            )
            for i, rid in zip(top, picked, strict=True)
            if rid in rows
        ]

    def embedding_model(self) -> str | None:
        with self._tx("read the embedding model") as conn:
            return self._meta(conn).get("embedding_model")

    def info(self) -> StoreInfo:
        with self._tx("info") as conn:
            meta = self._meta(conn)
            chunks, documents = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT document_id) FROM chunks"
            ).fetchone()
        files = [self.path.with_name(self.path.name + s) for s in ("", "-wal", "-shm")]
        return StoreInfo(
            backend="sqlite",
            location=str(self.path),
            documents=int(documents),
            chunks=int(chunks),
            size_bytes=sum(p.stat().st_size for p in files if p.is_file()),
            embedding_model=meta.get("embedding_model"),
            embedding_dim=int(meta["embedding_dim"]) if "embedding_dim" in meta else None,
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._matrix = self._rowids = None
