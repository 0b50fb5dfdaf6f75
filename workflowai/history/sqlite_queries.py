"""SQL of the SQLite history backend as pure functions and constants (the store does I/O).

Each row keeps the record's JSON (`body`) next to the columns the filters and aggregates use.
Times are stored as fixed-width ISO-8601 UTC text, so text order is time order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from workflowai.history.models import CauseDecision, RunQuery, RunRecord, SignatureStats

SCHEMA_VERSION = "1"
MAX_VALUES = 20  # jobs, branches, repositories listed per fingerprint

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    repository TEXT,
    branch TEXT,
    commit_sha TEXT,
    job TEXT,
    on_default_branch INTEGER NOT NULL,
    fingerprint TEXT,
    failure_signature TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs(fingerprint, recorded_at);
CREATE INDEX IF NOT EXISTS runs_commit ON runs(commit_sha);
CREATE INDEX IF NOT EXISTS runs_time ON runs(recorded_at);
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    failure_signature TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_fingerprint ON decisions(fingerprint);
CREATE INDEX IF NOT EXISTS decisions_signature ON decisions(failure_signature);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
"""

UPSERT_RUN = (
    "INSERT OR REPLACE INTO runs(id, outcome, recorded_at, repository, branch, commit_sha, job, "
    "on_default_branch, fingerprint, failure_signature, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_DECISION = (
    "INSERT OR REPLACE INTO decisions(id, fingerprint, failure_signature, decided_at, body) "
    "VALUES (?, ?, ?, ?, ?)"
)
SELECT_DECISIONS = (
    "SELECT body FROM decisions WHERE fingerprint = ? OR (failure_signature != '' AND "
    "failure_signature = ?) ORDER BY decided_at DESC, id"
)


def timestamp(value: datetime) -> str:
    """Fixed-width UTC text: sorts like the times it stands for."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_row(run: RunRecord) -> tuple[Any, ...]:
    c = run.context
    return (
        run.id,
        run.outcome.value,
        timestamp(run.recorded_at),
        c.repository,
        c.branch,
        c.commit,
        c.job,
        int(run.on_default_branch),
        run.fingerprint,
        run.failure_signature,
        run.model_dump_json(),
    )


def decision_row(decision: CauseDecision) -> tuple[Any, ...]:
    return (
        decision.id,
        decision.fingerprint,
        decision.failure_signature,
        timestamp(decision.decided_at),
        decision.model_dump_json(),
    )


def where_clause(query: RunQuery, *, alias: str = "") -> tuple[str, list[Any]]:
    """` WHERE ...` (or "") and its arguments for the filters of `query`."""
    p = f"{alias}." if alias else ""
    parts: list[str] = []
    args: list[Any] = []
    equal = {
        "fingerprint": query.fingerprint,
        "failure_signature": query.failure_signature,
        "repository": query.repository,
        "job": query.job,
        "outcome": query.outcome.value if query.outcome else None,
    }
    for column, value in equal.items():
        if value is not None:
            parts.append(f"{p}{column} = ?")
            args.append(value)
    if query.on_default_branch is not None:
        parts.append(f"{p}on_default_branch = ?")
        args.append(int(query.on_default_branch))
    if query.commits is not None:
        if not query.commits:
            parts.append("0")
        else:
            parts.append(f"{p}commit_sha IN ({','.join('?' * len(query.commits))})")
            args.extend(query.commits)
    if query.since is not None:
        parts.append(f"{p}recorded_at >= ?")
        args.append(timestamp(query.since))
    if query.until is not None:
        parts.append(f"{p}recorded_at < ?")
        args.append(timestamp(query.until))
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


def find_runs_sql(query: RunQuery) -> tuple[str, list[Any]]:
    where, args = where_clause(query)
    return f"SELECT body FROM runs{where} ORDER BY recorded_at DESC, id LIMIT ?", [
        *args,
        query.limit,
    ]


def stats_sql(query: RunQuery) -> tuple[str, list[Any]]:
    where, args = where_clause(query)
    where = (where + " AND " if where else " WHERE ") + "fingerprint IS NOT NULL"
    sql = f"""
WITH m AS (SELECT * FROM runs{where})
SELECT fingerprint, COUNT(*), MIN(recorded_at), MAX(recorded_at),
       json_group_array(DISTINCT job), json_group_array(DISTINCT branch),
       json_group_array(DISTINCT repository),
       (SELECT l.body FROM m AS l WHERE l.fingerprint = m.fingerprint
        ORDER BY l.recorded_at DESC, l.id LIMIT 1)
FROM m GROUP BY fingerprint ORDER BY COUNT(*) DESC, MAX(recorded_at) DESC, fingerprint LIMIT ?
"""
    return sql, [*args, query.limit]


def _values(raw: str) -> list[str]:
    return sorted({str(v) for v in json.loads(raw) if v is not None})[:MAX_VALUES]


def stats_row(row: Sequence[Any]) -> SignatureStats:
    latest = RunRecord.model_validate_json(row[7])
    return SignatureStats(
        fingerprint=row[0],
        count=int(row[1]),
        first_seen=datetime.fromisoformat(row[2]),
        last_seen=datetime.fromisoformat(row[3]),
        jobs=_values(row[4]),
        branches=_values(row[5]),
        repositories=_values(row[6]),
        signature_text=latest.signature_text,
        summary=latest.summary,
        category=latest.category,
    )
