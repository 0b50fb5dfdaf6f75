"""The `analyze-run` workflow: the failed jobs of one CI workflow run, one report.

Each job is analyzed by the `analyze-log` flow itself, called as a subflow (so the single-log
pipeline is reused, never copied, and each job shows up as a child run in the UI), without
publishing its own artifact. The reports are grouped by failure signature into a `RunReport`,
published as ONE Markdown artifact (one PR comment), and old uploads and results are pruned.
"""

from __future__ import annotations

from prefect import flow

from flows.analyze_log import analyze_log_flow
from flows.results import PERSIST_JSON
from tasks.run_report import group_run_report, prune_storage, publish_run_report
from workflowai.analysis.run_report import RunReport
from workflowai.params import AnalyzeRunParams
from workflowai.settings import Settings


@flow(name="analyze-run", flow_run_name="analyze-run-{params.run_label}", **PERSIST_JSON)
def analyze_run_flow(params: AnalyzeRunParams) -> RunReport:
    settings = Settings()
    reports = [(job.name, analyze_log_flow(params.job_params(job))) for job in params.jobs]
    run = group_run_report(reports)
    if params.publish:
        publish_run_report(run)
    prune_storage(settings)
    return run
