"""The history-store protocol, implemented by the SQLite and Elasticsearch backends.

Six methods, like the knowledge store's: write a run, read runs, aggregate runs by fingerprint,
and write/read people's decisions (confirmed causes, rejected matches). Verdicts are computed
by `workflowai.history.verdict` from what these return, so both backends judge the same way.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from workflowai.history.models import CauseDecision, RunQuery, RunRecord, SignatureStats


@runtime_checkable
class HistoryStore(Protocol):
    def record(self, run: RunRecord) -> None:
        """Write one run; a run with the same id is replaced (a retried task writes once)."""

    def find_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching every filter of `query`, newest first, at most `query.limit`."""

    def stats(self, query: RunQuery) -> list[SignatureStats]:
        """Runs matching `query` that have a fingerprint, grouped by it: most runs first
        (ties: most recent first), at most `query.limit` groups."""

    def save_decision(self, decision: CauseDecision) -> None:
        """Write a decision; the same fingerprint and entry replace the earlier one."""

    def decisions(self, key: str) -> list[CauseDecision]:
        """Decisions whose fingerprint or failure signature is `key`, newest first."""

    def close(self) -> None: ...
