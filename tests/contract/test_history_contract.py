"""The history-store contract: written against the HistoryStore protocol, run on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflowai.history.models import (
    CauseDecision,
    Outcome,
    RunContext,
    RunQuery,
    RunRecord,
)
from workflowai.history.protocol import HistoryStore

T0 = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)
FP_DNS, FP_TEST = "3f1c9a7be0d24c11", "a81be0c4d5f60712"


def run(
    run_id: str,
    hours: float,
    *,
    fingerprint: str | None = FP_DNS,
    outcome: Outcome = Outcome.FAILURE,
    repository: str = "acme/shop",
    branch: str = "feature/cart",
    commit: str = "4e8932e579d2",
    job: str = "test (3.11)",
    default: bool = False,
    signature_text: str = "curl: (<N>) Could not resolve host: registry.acme.internal",
) -> RunRecord:
    return RunRecord(
        id=run_id,
        outcome=outcome,
        recorded_at=T0 + timedelta(hours=hours),
        context=RunContext(
            repository=repository,
            branch=branch,
            commit=commit,
            job=job,
            attempt=1,
            provider="github-actions",
            run_url=f"https://github.com/{repository}/actions/runs/{run_id}",
            default_branch="main",
        ),
        on_default_branch=default,
        fingerprint=fingerprint if outcome is Outcome.FAILURE else None,
        failure_signature="sig-" + (fingerprint or "none"),
        signature_text=signature_text,
        category="network",
        summary=f"run {run_id} failed",
        ecosystem="python",
        finding_fingerprints=["f1", "f2"],
        finding_lines=["network-error registry.acme.internal: Could not resolve host"],
        cited_entries=["dns-resolution-failure"],
    )


def ids(runs: list[RunRecord]) -> list[str]:
    return [r.id for r in runs]


def test_history_store_returns_a_recorded_run_unchanged(history_store: HistoryStore) -> None:
    original = run("101", 0)
    history_store.record(original)

    assert history_store.find_runs(RunQuery()) == [original]


def test_history_store_record_with_the_same_id_replaces(history_store: HistoryStore) -> None:
    history_store.record(run("101", 0, branch="first"))
    history_store.record(run("101", 0, branch="second"))

    found = history_store.find_runs(RunQuery())
    assert [r.context.branch for r in found] == ["second"]


def test_history_store_empty_answers_empty(history_store: HistoryStore) -> None:
    assert history_store.find_runs(RunQuery(fingerprint=FP_DNS)) == []
    assert history_store.stats(RunQuery()) == []
    assert history_store.decisions(FP_DNS) == []


def test_history_store_find_runs_filters_and_orders_newest_first(
    history_store: HistoryStore,
) -> None:
    runs = [
        run("1", 0),
        run("2", 1, fingerprint=FP_TEST, job="lint"),
        run("3", 2, commit="77be03d1aa00", default=True, branch="main"),
        run("4", 3, repository="acme/api"),
        run("5", 4, outcome=Outcome.SUCCESS),
        run("6", 5, fingerprint=None),
    ]
    for r in runs:
        history_store.record(r)

    def find(**filters: object) -> list[str]:
        return ids(history_store.find_runs(RunQuery(**filters)))  # type: ignore[arg-type]

    assert find() == ["6", "5", "4", "3", "2", "1"]
    assert find(fingerprint=FP_DNS) == ["4", "3", "1"]
    assert find(fingerprint=FP_DNS, repository="acme/shop") == ["3", "1"]
    assert find(commits=["77be03d1aa00"]) == ["3"]
    assert find(commits=["4e8932e579d2"], outcome=Outcome.SUCCESS) == ["5"]
    assert find(commits=[]) == []
    assert find(job="lint") == ["2"]
    assert find(failure_signature="sig-" + FP_TEST) == ["2"]
    assert find(on_default_branch=True) == ["3"]
    assert find(since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=4)) == ["4", "3"]
    assert find(limit=2) == ["6", "5"]


def test_history_store_stats_group_by_fingerprint(history_store: HistoryStore) -> None:
    history_store.record(run("1", 0, job="test (3.11)", branch="feature/cart"))
    history_store.record(run("2", 1, job="test (3.12)", branch="main", default=True))
    history_store.record(
        run("3", 2, job="test (3.11)", repository="acme/api", signature_text="newest template")
    )
    history_store.record(run("4", 3, fingerprint=FP_TEST, job="lint"))
    history_store.record(run("5", 4, outcome=Outcome.SUCCESS))
    history_store.record(run("6", 5, fingerprint=None))

    stats = history_store.stats(RunQuery())

    assert [(s.fingerprint, s.count) for s in stats] == [(FP_DNS, 3), (FP_TEST, 1)]
    dns = stats[0]
    assert dns.first_seen == T0
    assert dns.last_seen == T0 + timedelta(hours=2)
    assert dns.jobs == ["test (3.11)", "test (3.12)"]
    assert dns.branches == ["feature/cart", "main"]
    assert dns.repositories == ["acme/api", "acme/shop"]
    assert dns.signature_text == "newest template"
    assert dns.category == "network"
    assert dns.summary == "run 3 failed"


def test_history_store_stats_apply_filters_and_limit(history_store: HistoryStore) -> None:
    history_store.record(run("1", 0, fingerprint=FP_TEST))
    history_store.record(run("2", 1))
    history_store.record(run("3", 2))
    history_store.record(run("4", 3, fingerprint=FP_TEST))
    history_store.record(run("5", 4, fingerprint="c0ffee0000000001"))

    # a tie on count goes to the fingerprint seen last
    assert [s.fingerprint for s in history_store.stats(RunQuery())] == [
        FP_TEST,
        FP_DNS,
        "c0ffee0000000001",
    ]
    recent = history_store.stats(RunQuery(since=T0 + timedelta(hours=2)))
    assert [(s.fingerprint, s.count) for s in recent] == [
        ("c0ffee0000000001", 1),
        (FP_TEST, 1),
        (FP_DNS, 1),
    ]
    assert len(history_store.stats(RunQuery(limit=1))) == 1
    only = history_store.stats(RunQuery(fingerprint=FP_DNS))
    assert [(s.fingerprint, s.count) for s in only] == [(FP_DNS, 2)]


def test_history_store_decisions_by_fingerprint_or_signature(history_store: HistoryStore) -> None:
    confirmed = CauseDecision(
        fingerprint=FP_DNS,
        failure_signature="9c1e22d0a4b7f310",
        entry_id="confirmed-dns-registry",
        decided_at=T0,
        title="Internal registry DNS record missing",
        cause="The registry's DNS record was removed during the network migration.",
        fix=["Restore the A record of registry.acme.internal", "Rerun the job"],
        document_id="confirmed/confirmed-dns-registry.yaml",
        chunk_id="0b5d8c5e3c3d4a1f9e2b7c6d5e4f3a2b",
        source="confirmed/confirmed-dns-registry.yaml",
    )
    rejected = CauseDecision(
        fingerprint=FP_DNS,
        entry_id="dns-resolution-failure",
        rejected=True,
        decided_at=T0 + timedelta(hours=1),
    )
    other = CauseDecision(fingerprint=FP_TEST, entry_id="pytest-assertion", decided_at=T0)
    for decision in (confirmed, rejected, other):
        history_store.save_decision(decision)

    assert history_store.decisions(FP_DNS) == [rejected, confirmed]
    assert history_store.decisions("9c1e22d0a4b7f310") == [confirmed]
    assert history_store.decisions("unknown") == []

    # a later decision on the same fingerprint and entry replaces the earlier one
    reversed_ = confirmed.model_copy(update={"rejected": True, "decided_at": T0 + timedelta(2)})
    history_store.save_decision(reversed_)
    assert history_store.decisions(FP_DNS) == [reversed_, rejected]


def test_history_store_keeps_data_after_close(history_store: HistoryStore) -> None:
    history_store.record(run("1", 0))
    history_store.save_decision(CauseDecision(fingerprint=FP_DNS, entry_id="e", decided_at=T0))
    history_store.close()

    assert ids(history_store.find_runs(RunQuery())) == ["1"]
    assert [d.entry_id for d in history_store.decisions(FP_DNS)] == ["e"]
