"""Verdicts end to end through `record_analysis` on a real SQLite history store: new,
recurring, flaky (same commit passed; many branches), broken-base, and people's decisions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.history_builders import context, report
from workflowai.analysis.report import AnalysisReport
from workflowai.history.models import CauseDecision, RunContext, RunQuery, Verdict
from workflowai.history.recording import record_analysis, record_success
from workflowai.history.sqlite_store import SqliteHistoryStore
from workflowai.settings import HistorySettings

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SETTINGS = HistorySettings()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteHistoryStore]:
    history = SqliteHistoryStore(tmp_path / "history.sqlite")
    yield history
    history.close()


def analyze(
    store: SqliteHistoryStore,
    run_id: str,
    hours: float,
    ctx: RunContext | None = None,
    rep: AnalysisReport | None = None,
) -> AnalysisReport:
    return record_analysis(
        store,
        rep or report(),
        ctx or context(),
        SETTINGS,
        run_id=run_id,
        now=T0 + timedelta(hours=hours),
    )


def test_record_analysis_same_log_twice_is_recurring_with_two_occurrences(
    store: SqliteHistoryStore,
) -> None:
    first = analyze(store, "run-1", 0)
    second = analyze(store, "run-2", 5)

    assert first.history is not None and second.history is not None
    assert first.history.verdict is Verdict.NEW
    assert first.history.occurrences == 1
    assert first.history.first_seen is None
    assert second.history.verdict is Verdict.RECURRING
    assert second.history.occurrences == 2
    assert second.history.first_seen == T0
    assert second.history.last_seen == T0
    assert second.history.branches == ["feature/vat"]
    assert second.history.fingerprint == first.history.fingerprint
    assert [r.run_url for r in second.history.earlier_runs] == [
        "https://github.com/acme/shop/actions/runs/4e8932e579d2"
    ]
    assert "seen 1 time before, first 2025-03-03 on feature/vat" in second.history.reason
    # every finding carries its fingerprint; the exit line has none
    assert second.findings[0].fingerprint
    assert second.findings[1].fingerprint == ""


def test_record_analysis_other_failure_or_repository_is_new(store: SqliteHistoryStore) -> None:
    analyze(store, "run-1", 0)
    other_test = analyze(store, "run-2", 1, rep=report("tests/test_tax.py::test_rounding"))
    other_repo = analyze(
        store, "run-3", 2, ctx=context().model_copy(update={"repository": "acme/api"})
    )

    assert other_test.history is not None and other_test.history.verdict is Verdict.NEW
    assert other_repo.history is not None and other_repo.history.verdict is Verdict.NEW


def test_record_analysis_failed_then_passed_on_same_commit_is_flaky(
    store: SqliteHistoryStore,
) -> None:
    analyze(store, "run-1", 0, context(commit="aaaa1111"))
    record_success(
        store, context(commit="aaaa1111").model_copy(update={"attempt": 2}), SETTINGS,
        run_id="run-1-attempt-2", now=T0 + timedelta(hours=1),
    )  # fmt: skip
    later = analyze(store, "run-2", 3, context(commit="bbbb2222"))

    assert later.history is not None
    assert later.history.verdict is Verdict.FLAKY
    assert "passed on commit aaaa1111 (CI / test)" in later.history.reason


def test_record_analysis_success_of_another_job_is_not_flaky(store: SqliteHistoryStore) -> None:
    analyze(store, "run-1", 0, context(commit="aaaa1111"))
    record_success(store, context(commit="aaaa1111", job="CI / lint"), SETTINGS, run_id="s", now=T0)
    later = analyze(store, "run-2", 3, context(commit="aaaa1111"))

    assert later.history is not None and later.history.verdict is Verdict.RECURRING


def test_record_analysis_failed_on_default_branch_is_broken_base(
    store: SqliteHistoryStore,
) -> None:
    analyze(store, "run-1", 0, context(branch="main", commit="c0ffee01"))
    soon = analyze(store, "run-2", 10, context(branch="feature/cart", commit="c0ffee02"))
    on_main = analyze(store, "run-3", 11, context(branch="main", commit="c0ffee03"))
    much_later = analyze(store, "run-4", 24 * 5, context(branch="feature/x", commit="c0ffee04"))

    assert soon.history is not None and soon.history.verdict is Verdict.BROKEN_BASE
    assert "default branch main 10 h ago (commit c0ffee01)" in soon.history.reason
    # on the default branch itself a repeat is the base's own recurring failure
    assert on_main.history is not None and on_main.history.verdict is Verdict.RECURRING
    # the window (72 h by default) has passed
    assert much_later.history is not None and much_later.history.verdict is Verdict.RECURRING
    assert much_later.history.occurrences == 4


def test_record_analysis_default_branch_from_context(store: SqliteHistoryStore) -> None:
    analyze(store, "run-1", 0, context(branch="trunk", default_branch="trunk"))
    later = analyze(store, "run-2", 1, context(branch="feature/a", default_branch="trunk"))

    assert later.history is not None and later.history.verdict is Verdict.BROKEN_BASE


def test_record_analysis_many_branches_in_a_day_is_flaky(store: SqliteHistoryStore) -> None:
    verdicts = [
        analyze(store, f"run-{i}", i * 3, context(branch=f"feature/{name}", commit=f"c{i}"))
        for i, name in enumerate(["cart", "vat", "search"])
    ]

    assert [r.history.verdict for r in verdicts if r.history] == [
        Verdict.NEW,
        Verdict.RECURRING,
        Verdict.FLAKY,
    ]
    assert "3 different branches within 24 h" in (
        verdicts[2].history.reason if verdicts[2].history else ""
    )


def test_record_analysis_generic_exit_lines_are_never_matched(store: SqliteHistoryStore) -> None:
    first = analyze(store, "run-1", 0, rep=report(generic_only=True))
    second = analyze(store, "run-2", 1, rep=report(generic_only=True))

    assert second.history is not None
    assert second.history.verdict is Verdict.NEW
    assert second.history.fingerprint is None
    assert "generic" in second.history.reason
    assert first.history is not None and first.history.fingerprint is None
    assert len(store.find_runs(RunQuery())) == 2  # both recorded all the same


def test_record_analysis_retry_judges_as_first_recording(store: SqliteHistoryStore) -> None:
    analyze(store, "run-1", 0)
    once = analyze(store, "run-2", 2)
    retried = analyze(store, "run-2", 2.1)

    assert retried.history == once.history
    assert len(store.find_runs(RunQuery())) == 2


def test_record_analysis_confirmed_cause_is_cited_first(store: SqliteHistoryStore) -> None:
    first = analyze(store, "run-1", 0)
    assert first.history is not None and first.history.fingerprint
    store.save_decision(
        CauseDecision(
            fingerprint=first.history.fingerprint,
            entry_id="confirmed-vat-fixture",
            decided_at=datetime(2025, 3, 4, 16, 30, tzinfo=UTC),
            title="VAT fixtures not generated before the tax tests",
            cause="tests/fixtures/tax is generated by `make fixtures`, which the test job skips.",
            fix=["Run `make fixtures` before pytest in the test job"],
            document_id="confirmed/confirmed-vat-fixture.yaml",
            chunk_id="9f2c",
            source="confirmed/confirmed-vat-fixture.yaml",
        )
    )
    store.save_decision(
        CauseDecision(
            fingerprint=first.history.fingerprint,
            entry_id="file-not-found",
            rejected=True,
            decided_at=datetime(2025, 3, 4, 16, 31, tzinfo=UTC),
        )
    )

    again = analyze(store, "run-2", 40)

    top = again.citations[0]
    assert (
        top.title
        == "Known issue (confirmed 2025-03-04): VAT fixtures not generated before the tax tests"
    )
    assert top.entry_id == "confirmed-vat-fixture"
    assert top.source == "confirmed/confirmed-vat-fixture.yaml"
    assert [c.entry_id for c in again.citations] == [
        "confirmed-vat-fixture",
        "pytest-missing-fixture-file",
    ]
    assert again.suggested_fixes[0].text == "Run `make fixtures` before pytest in the test job"
    assert "file-not-found" not in {f.entry_id for f in again.suggested_fixes}
    assert again.provenance.fixes == [f.origin for f in again.suggested_fixes]
    assert again.history is not None and again.history.known_issue is not None
    assert again.history.known_issue.entry_id == "confirmed-vat-fixture"
    assert again.history.rejected_entries == ["file-not-found"]


def test_record_success_needs_a_commit(store: SqliteHistoryStore) -> None:
    with pytest.raises(ValueError, match="commit"):
        record_success(store, RunContext(job="test"), SETTINGS, run_id="x", now=T0)
