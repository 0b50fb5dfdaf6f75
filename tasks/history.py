"""History tasks: record an analysis and its verdict, drop rejected matches at retrieval,
record a success, confirm or reject a cause, and publish the failure digest.

History is best effort inside `analyze-log`: an unreachable or failing history store adds a
warning to the report and the analysis goes on (the report matters more than its verdict).
The standalone history workflows fail on such errors, with transient ones retried.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run, task_run

from tasks.policy import task_policy
from tasks.resources import get_embedder, get_history_store, get_store
from workflowai.analysis.report import AnalysisReport
from workflowai.errors import HistoryError
from workflowai.history import confirm as confirm_lib
from workflowai.history.context import context_of
from workflowai.history.digest import Digest, build_digest, chart_markdown, table
from workflowai.history.known import drop_rejected_hits
from workflowai.history.models import CauseDecision, RunRecord
from workflowai.history.recording import record_analysis, record_success
from workflowai.knowledge.chunking import Chunker
from workflowai.params import (
    AnalyzeLogParams,
    ConfirmCauseParams,
    FailureDigestParams,
    RecordSuccessParams,
)
from workflowai.schemas import ScoredChunk
from workflowai.settings import Settings


def _run_id() -> str:
    """This flow run's id, or the task run's where the analysis runs inline in one background
    task run: a retried run records the same run again, not a second one."""
    return str(flow_run.get_id() or task_run.get_id() or uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


def without_rejected_matches(
    hits: list[ScoredChunk], failure_signature: str, settings: Settings
) -> list[ScoredChunk]:
    """Knowledge-base hits without entries people rejected for this failure.

    A function called by `retrieve_context`, not a task of its own: every task run is rows and
    events the Prefect server records, and under load the server's task-run recorder is what
    limits analyses per second.
    """
    if not settings.history.enabled or not hits:
        return hits
    try:
        decisions = get_history_store(settings).decisions(failure_signature)
    except HistoryError as exc:
        get_run_logger().warning("history unavailable, rejected matches not applied: %s", exc)
        return hits
    return drop_rejected_hits(hits, decisions)


@task(**task_policy(timeout_seconds=60, retries=0))
def record_history(
    report: AnalysisReport, params: AnalyzeLogParams, settings: Settings
) -> AnalysisReport:
    """The report with fingerprints and its verdict, recorded in the failure history."""
    if not (settings.history.enabled and params.record_history):
        return report
    try:
        return record_analysis(
            get_history_store(settings),
            report,
            context_of(params),
            settings.history,
            run_id=_run_id(),
            now=_now(),
        )
    except HistoryError as exc:
        get_run_logger().warning("failure not recorded in the history: %s", exc)
        warning = f"not recorded in the failure history: {exc}"
        return report.model_copy(update={"warnings": [*report.warnings, warning]})


@task(**task_policy(timeout_seconds=60))
def record_success_run(params: RecordSuccessParams, settings: Settings) -> RunRecord:
    return record_success(
        get_history_store(settings),
        context_of(params),
        settings.history,
        run_id=_run_id(),
        now=_now(),
    )


@task(**task_policy(timeout_seconds=600))
def confirm_or_reject(params: ConfirmCauseParams, settings: Settings) -> CauseDecision:
    """Confirm the cause (indexed KB entry) or reject a proposed entry for the failure."""
    history = get_history_store(settings)
    if params.reject:
        return confirm_lib.reject_match(
            history, key=params.signature, entry_id=params.entry_id, now=_now()
        )
    embedder = get_embedder(settings)
    chunker = Chunker(
        embedder,
        chunk_tokens=settings.embedding.chunk_tokens,
        overlap=settings.embedding.chunk_overlap,
    )
    return confirm_lib.confirm_cause(
        history,
        get_store(settings),
        embedder,
        chunker,
        key=params.signature,
        title=params.title or "",
        cause=params.cause or "",
        fix=params.fix,
        directory=settings.confirmed_dir,
        now=_now(),
    )


@task(**task_policy(timeout_seconds=300))
def collect_digest(params: FailureDigestParams, settings: Settings) -> Digest:
    until = _now()
    return build_digest(
        get_history_store(settings),
        since=until - timedelta(days=params.since_days),
        until=until,
        top=params.top,
        settings=settings.history,
        repository=params.repository,
    )


@task(**task_policy(timeout_seconds=60))
def publish_digest(digest: Digest) -> None:
    """A table artifact of the top signatures and a Markdown chart of their daily counts."""
    period = f"{digest.since:%Y-%m-%d %H:%M} to {digest.until:%Y-%m-%d %H:%M} UTC"
    create_table_artifact(
        table=table(digest),
        key="failure-digest",
        description=f"Most frequent failures, {period}",
    )
    create_markdown_artifact(
        markdown=chart_markdown(digest),
        key="failure-digest-daily",
        description=f"Daily failures of the top signatures, {period}",
    )
