"""Verdicts, confirmed causes and the digest on the Elasticsearch history backend (a real
node): the same judgements the SQLite unit tests check, through the team backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.history_builders import context, report
from workflowai.history.digest import build_digest
from workflowai.history.elasticsearch_store import ElasticsearchHistoryStore
from workflowai.history.models import CauseDecision, Verdict
from workflowai.history.recording import record_analysis, record_success
from workflowai.settings import ElasticsearchSettings, HistorySettings

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SETTINGS = HistorySettings()


@pytest.fixture
def store(es_url: str) -> Iterator[ElasticsearchHistoryStore]:
    history = ElasticsearchHistoryStore(
        ElasticsearchSettings(url=es_url), f"test-history-{uuid.uuid4().hex[:12]}"
    )
    yield history
    history.drop()
    history.close()


def test_es_history_verdicts_known_issue_and_digest(store: ElasticsearchHistoryStore) -> None:
    def analyze(run_id: str, hours: float, **ctx: object):  # type: ignore[no-untyped-def]
        return record_analysis(
            store,
            report(),
            context(**ctx),
            SETTINGS,
            run_id=run_id,
            now=T0 + timedelta(hours=hours),
        )

    first = analyze("r1", 0, branch="main", commit="c1")
    second = analyze("r2", 2, branch="feature/a", commit="c2")
    assert first.history is not None and first.history.verdict is Verdict.NEW
    assert second.history is not None and second.history.verdict is Verdict.BROKEN_BASE
    assert second.history.occurrences == 2

    fingerprint = second.history.fingerprint or ""
    store.save_decision(
        CauseDecision(
            fingerprint=fingerprint,
            entry_id="confirmed-vat",
            title="VAT fixtures not generated",
            cause="make fixtures is skipped",
            fix=["Run make fixtures before pytest"],
            decided_at=T0 + timedelta(hours=3),
        )
    )
    record_success(store, context(commit="c2"), SETTINGS, run_id="s2", now=T0 + timedelta(hours=4))
    third = analyze("r3", 5, branch="feature/b", commit="c3")

    assert third.history is not None and third.history.verdict is Verdict.FLAKY
    assert third.history.occurrences == 3
    assert (
        third.citations[0].title == "Known issue (confirmed 2025-03-03): VAT fixtures not generated"
    )
    digest = build_digest(
        store, since=T0 - timedelta(hours=1), until=T0 + timedelta(days=1), top=5, settings=SETTINGS
    )
    assert [(r.signature, r.count, r.verdict) for r in digest.rows] == [
        (fingerprint, 3, Verdict.FLAKY)
    ]
