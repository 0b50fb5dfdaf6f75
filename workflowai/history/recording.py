"""Record an analysis in the history and give the report its verdict.

`record_analysis` fills each finding's fingerprint, computes the run's grouping key, asks the
store for the earlier runs with that key, judges (`verdict.judge`), applies people's decisions
(`known`), writes the run and returns the report with `history` set. `record_success` writes a
passing run, which turns earlier failures on the same commit and job into flaky ones.
"""

from __future__ import annotations

from datetime import datetime

from workflowai.analysis.fingerprint import run_fingerprint, with_fingerprints
from workflowai.analysis.report import AnalysisReport, Finding
from workflowai.history.known import apply_decisions, as_known_issue, known_issue, rejected_entries
from workflowai.history.models import (
    Outcome,
    RunContext,
    RunHistory,
    RunQuery,
    RunRecord,
    SignatureStats,
)
from workflowai.history.protocol import HistoryStore
from workflowai.history.verdict import judge
from workflowai.settings import HistorySettings

MAX_EARLIER = 200  # earlier failures read per verdict (counts come from the aggregate)
MAX_FINDING_LINES = 10
MAX_SUMMARY_CHARS = 300


def is_default_branch(context: RunContext, settings: HistorySettings) -> bool:
    default = context.default_branch or settings.default_branch
    return context.branch is not None and context.branch == default


def finding_line(finding: Finding) -> str:
    """`kind subject: message` in one line, for history listings and confirmed entries."""
    subject = next(iter(finding.subjects()), "")
    head = f"{finding.kind.value} {subject}".strip()
    return f"{head}: {finding.message}"[:300] if finding.message else head


def _run_record(
    report: AnalysisReport,
    context: RunContext,
    settings: HistorySettings,
    *,
    run_id: str,
    now: datetime,
) -> RunRecord:
    ecosystem = next((f.ecosystem for f in report.findings if f.ecosystem), "")
    return RunRecord(
        id=run_id,
        outcome=Outcome.FAILURE,
        recorded_at=now,
        context=context,
        on_default_branch=is_default_branch(context, settings),
        fingerprint=run_fingerprint(report),
        failure_signature=report.failure_signature,
        signature_text=report.signature_text,
        category=report.category.value,
        summary=report.summary[:MAX_SUMMARY_CHARS],
        ecosystem=ecosystem or "",
        finding_fingerprints=[f.fingerprint for f in report.findings if f.fingerprint],
        finding_lines=[finding_line(f) for f in report.findings[:MAX_FINDING_LINES]],
        cited_entries=[c.entry_id or c.document_id for c in report.citations],
    )


def history_of(store: HistoryStore, run: RunRecord, settings: HistorySettings) -> RunHistory:
    """The verdict on `run` from the runs recorded before it (not from `run` itself)."""
    if run.fingerprint is None:
        return judge(run, earlier=[], stats=None, successes=[], settings=settings)
    repository = run.context.repository
    same = RunQuery(
        fingerprint=run.fingerprint,
        repository=repository,
        outcome=Outcome.FAILURE,
        until=run.recorded_at,
        limit=MAX_EARLIER,
    )
    earlier = [r for r in store.find_runs(same) if r.id != run.id]
    stats: SignatureStats | None = None
    if earlier:
        found = store.stats(same.model_copy(update={"limit": 1}))
        stats = found[0] if found else None
    commits = sorted({c for c in (r.context.commit for r in [run, *earlier]) if c})
    successes = (
        store.find_runs(
            RunQuery(repository=repository, commits=commits, outcome=Outcome.SUCCESS, limit=1000)
        )
        if commits
        else []
    )
    return judge(run, earlier=earlier, stats=stats, successes=successes, settings=settings)


def record_analysis(
    store: HistoryStore,
    report: AnalysisReport,
    context: RunContext,
    settings: HistorySettings,
    *,
    run_id: str,
    now: datetime,
) -> AnalysisReport:
    """Record `report` as run `run_id` and return it with fingerprints and `history` set.

    Recording the same `run_id` again (a retried task) replaces the run and judges it against
    the runs before its first recording. Raises HistoryError (HistoryUnavailableError when the
    store is unreachable or locked).
    """
    report = report.model_copy(update={"findings": with_fingerprints(report.findings)})
    run = _run_record(report, context, settings, run_id=run_id, now=now)
    if run.fingerprint is not None:
        mine = RunQuery(fingerprint=run.fingerprint, limit=MAX_EARLIER)
        first = next((r for r in store.find_runs(mine) if r.id == run_id), None)
        if first is not None:  # a retry: judge as of the first recording
            run = run.model_copy(update={"recorded_at": first.recorded_at})
    history = history_of(store, run, settings)
    if run.fingerprint is not None:
        decisions = store.decisions(run.fingerprint)
        report = apply_decisions(report, decisions)
        known = known_issue(decisions)
        history = history.model_copy(
            update={
                "known_issue": as_known_issue(known) if known else None,
                "rejected_entries": rejected_entries(decisions),
            }
        )
    run = run.model_copy(
        update={"cited_entries": [c.entry_id or c.document_id for c in report.citations]}
    )
    store.record(run)
    return report.model_copy(update={"history": history})


def record_success(
    store: HistoryStore,
    context: RunContext,
    settings: HistorySettings,
    *,
    run_id: str,
    now: datetime,
) -> RunRecord:
    """Record a passing run (needs the commit: successes only matter on the same commit)."""
    if not context.commit:
        raise ValueError("a success needs its commit (--commit, or a CI environment that has it)")
    run = RunRecord(
        id=run_id,
        outcome=Outcome.SUCCESS,
        recorded_at=now,
        context=context,
        on_default_branch=is_default_branch(context, settings),
    )
    store.record(run)
    return run
