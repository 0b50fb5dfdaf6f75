"""Warm analyses: a long-lived Prefect task worker that keeps the store and models loaded.

A deployment's flow run starts a new Python process on the worker, which imports Prefect and
the analysis code and loads the embedder again: seconds of CPU per run, so two cores finish
well under one analysis a second. Background tasks are Prefect's answer for request-sized
work: a client creates the task run through the API (`analyze_log_background.delay(params)`),
the server pushes it to a task worker subscribed to it, and the worker runs it in a thread of
its long-lived process, where `tasks/resources.py` keeps one store, embedder and generator.
Each background run calls the `analyze-log` flow, so the analysis is recorded as before (flow
run, task runs, report artifact) as a child of the background task run.

Parameters and results travel through Prefect's task-scheduling storage (PREFECT_HOME's local
storage by default): clients and task workers must share it (the same machine, or a remote
default storage block such as S3).

    python -m flows.task_worker --limit 4          # what `workflowai serve` starts
"""

from __future__ import annotations

import argparse

from prefect import task
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_worker import serve

from flows.analyze_log import analyze_log_flow
from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.analysis.report import AnalysisReport
from workflowai.params import AnalyzeLogParams
from workflowai.settings import Settings


@task(
    name="analyze-log-background",
    task_run_name="analyze-log-{params.run_label}",
    **task_policy(timeout_seconds=900, retries=0),
)
def analyze_log_background(params: AnalyzeLogParams) -> AnalysisReport:
    """The `analyze-log` flow, run inside this long-lived process (retries live on its tasks)."""
    return analyze_log_flow(params)


def warm_up(settings: Settings) -> None:
    """Open the store and load the embedder now, so the first analysis does not wait."""
    get_store(settings).count()
    get_embedder(settings).embed_query("warm up")


def main() -> None:
    parser = argparse.ArgumentParser(description="serve background analyses")
    parser.add_argument("--limit", type=int, default=4, help="analyses at once (threads)")
    args = parser.parse_args()
    warm_up(Settings())
    # no flow-run heartbeat thread: the engine joins it when each flow run ends, which holds
    # the analysis up to a second; the background task run around it records the outcome
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        serve(analyze_log_background, limit=args.limit)


if __name__ == "__main__":
    main()
