"""Run-report tasks: group the jobs' reports, publish the one Markdown comment, clean up.

`prune_storage` is the retention step: uploaded logs older than
`log_storage.retention_days` and flow results in this worker's local result storage older
than `results.retention_days` are deleted (results are redacted reports; the logs are
redacted too, but nothing needs them once analyzed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from tasks.log_storage import load_blob_store
from tasks.policy import task_policy
from workflowai.analysis.report import AnalysisReport
from workflowai.analysis.run_render import render_run_markdown
from workflowai.analysis.run_report import RunReport, build_run_report
from workflowai.blobstore import prune_folder
from workflowai.settings import Settings

DAY_S = 86_400.0


@task(**task_policy(timeout_seconds=60, retries=0))
def group_run_report(jobs: list[tuple[str, AnalysisReport]]) -> RunReport:
    """The run report: each job's report, jobs grouped by failure signature."""
    return build_run_report(jobs)


def run_report_key(run: RunReport) -> str:
    """Artifact key: the same set of causes gives the same key (Prefect versions it)."""
    causes = ",".join(sorted(group.failure_signature for group in run.groups))
    return f"run-report-{hashlib.sha256(causes.encode()).hexdigest()[:16]}"


@task(**task_policy(timeout_seconds=60))
def publish_run_report(run: RunReport) -> str:
    """Publish the run report as ONE Markdown artifact (one PR comment); returns its key."""
    key = run_report_key(run)
    create_markdown_artifact(
        markdown=render_run_markdown(run),
        key=key,
        description=f"{len(run.jobs)} failed job(s), {len(run.groups)} cause(s)",
    )
    return key


def local_result_folder() -> Path | None:
    """This process's local result storage folder, when results are stored locally."""
    from prefect.settings import get_current_settings

    results = get_current_settings().results
    if results.default_storage_block:
        return None  # a remote block: its own lifecycle rules apply
    return Path(results.local_storage_path).expanduser()


@task(**task_policy(timeout_seconds=300))
def prune_storage(settings: Settings) -> int:
    """Delete uploaded logs and local flow results past their retention; returns the count."""
    logs = load_blob_store(settings).prune(settings.log_storage.retention_days * DAY_S)
    folder = local_result_folder()
    results = prune_folder(folder, settings.results.retention_days * DAY_S) if folder else 0
    get_run_logger().info("retention: deleted %d uploaded logs, %d old results", logs, results)
    return logs + results
