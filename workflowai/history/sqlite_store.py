"""The embedded history backend: one SQLite file (WAL), no server.

Each write is one transaction; SQL lives in `sqlite_queries`; engine errors are translated
here ("database is locked" is transient: tasks retry it).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workflowai.errors import HistoryError, HistoryUnavailableError
from workflowai.history import sqlite_queries as q
from workflowai.history.models import CauseDecision, RunQuery, RunRecord, SignatureStats
from workflowai.sqlite_files import open_database


class SqliteHistoryStore:
    """HistoryStore on a single SQLite file; the constructor only stores configuration."""

    def __init__(self, path: Path, *, timeout_s: float = 10.0) -> None:
        """`timeout_s`: how long to wait for another writer's lock (busy_timeout)."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.path = Path(path)
        self._timeout = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = open_database(self.path, self._timeout, q.DDL)
                try:
                    version = conn.execute(
                        "SELECT value FROM meta WHERE key = 'schema_version'"
                    ).fetchone()
                except sqlite3.Error:
                    conn.close()
                    raise
            except sqlite3.Error as exc:
                raise self._translate(exc, "open") from exc
            except OSError as exc:
                raise HistoryError(f"SQLite history {self.path}: cannot open: {exc}") from exc
            if version is None or version[0] != q.SCHEMA_VERSION:
                conn.close()
                raise HistoryError(
                    f"SQLite history {self.path} has layout {version and version[0]}, this "
                    f"release uses {q.SCHEMA_VERSION}"
                )
            self._conn = conn
        return self._conn

    def _translate(self, exc: sqlite3.Error, action: str) -> HistoryError:
        text = str(exc)
        message = f"SQLite history {self.path}: {action} failed: {text}"
        if "locked" in text or "busy" in text:
            return HistoryUnavailableError(message)
        return HistoryError(message)

    @contextmanager
    def _tx(self, action: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield conn
            except sqlite3.Error as exc:
                raise self._translate(exc, action) from exc

    def record(self, run: RunRecord) -> None:
        with self._tx("record run", write=True) as conn:
            conn.execute(q.UPSERT_RUN, q.run_row(run))

    def find_runs(self, query: RunQuery) -> list[RunRecord]:
        sql, args = q.find_runs_sql(query)
        with self._tx("find runs") as conn:
            rows = conn.execute(sql, args).fetchall()
        return [RunRecord.model_validate_json(r[0]) for r in rows]

    def stats(self, query: RunQuery) -> list[SignatureStats]:
        sql, args = q.stats_sql(query)
        with self._tx("aggregate runs") as conn:
            rows = conn.execute(sql, args).fetchall()
        return [q.stats_row(r) for r in rows]

    def save_decision(self, decision: CauseDecision) -> None:
        with self._tx("save decision", write=True) as conn:
            conn.execute(q.UPSERT_DECISION, q.decision_row(decision))

    def decisions(self, key: str) -> list[CauseDecision]:
        with self._tx("read decisions") as conn:
            rows = conn.execute(q.SELECT_DECISIONS, [key, key]).fetchall()
        return [CauseDecision.model_validate_json(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
