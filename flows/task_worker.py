"""Warm analyses: a long-lived Prefect task worker that keeps the store and models loaded.

A deployment's flow run starts a new Python process on the worker, which imports Prefect and
the analysis code and loads the embedder again: seconds of CPU per run, so two cores finish
well under one analysis a second. Background tasks are Prefect's answer for request-sized
work: a client creates the task run through the API (`analyze_log_background.delay(params)`),
the server pushes it to a task worker subscribed to it, and the worker runs it in a thread of
its long-lived process, where `tasks/resources.py` keeps one store, embedder and generator.

How much of an analysis the server records is the worker's choice (`--steps`):
- `inline` (default): the analysis is the background task run; its steps are plain calls
  (model generation stays a `gpu`-tagged task run, under its concurrency limit). The run, its
  logs and the report artifact are recorded; the steps are not.
- `flow`: each background run calls the `analyze-log` flow, recorded as a deployment's run is
  (flow run, a task run per step, artifact), as a child of the background task run.
On 2 cores with the server, PostgreSQL and the worker on the same machine, 100 analyses at
once ran at 1.95/s inline and 0.88/s as flows in one run (1.89-2.19/s inline over three runs;
`bench/trigger_load.py`, bench/README.md): the server's task-run recorder and flow-run
orchestration were the busiest code. Sharing one API client across runs (`main`) took the
inline figure from 2.30-2.48/s to 2.63-2.72/s (two runs each, alternating, a day later).

Parameters and results travel through Prefect's task-scheduling storage (PREFECT_HOME's local
storage by default): clients and task workers must share it (the same machine, or a remote
default storage block such as S3).

    python -m flows.task_worker --limit 4          # what `workflowai serve` starts
"""

from __future__ import annotations

import argparse
from typing import Literal

from prefect import task
from prefect.context import SyncClientContext
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_worker import serve

from flows.analyze_log import analysis_steps, analyze_log_flow, inline
from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.analysis.report import AnalysisReport
from workflowai.params import AnalyzeLogParams
from workflowai.settings import Settings

StepMode = Literal["inline", "flow"]
STEP_MODES: tuple[StepMode, ...] = ("inline", "flow")
_steps: StepMode = "inline"


@task(
    name="analyze-log-background",
    task_run_name="analyze-log-{params.run_label}",
    **task_policy(timeout_seconds=900),
)
def analyze_log_background(params: AnalyzeLogParams) -> AnalysisReport:
    """The `analyze-log` analysis in this long-lived process, its steps inline or as a flow.

    Retried only on transient errors, as each step would be; a retry records the same history
    run again (keyed by the flow run's id, or inline by this task run's), not a second one.
    """
    if _steps == "flow":
        # the run's settings are the client's (serialized with the task run), so the flow-run
        # heartbeat is switched off here: the engine joins its thread when the flow run ends,
        # which held each analysis up to a second
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return analyze_log_flow(params)
    return analysis_steps(params, inline)


def set_step_mode(mode: StepMode) -> None:
    """Choose how this process runs background analyses (see the module docstring)."""
    global _steps
    if mode not in STEP_MODES:
        raise ValueError(f"steps must be one of {', '.join(STEP_MODES)}, not {mode!r}")
    _steps = mode


def warm_up(settings: Settings) -> None:
    """Open the store and load the embedder now, so the first analysis does not wait."""
    get_store(settings).count()
    get_embedder(settings).embed_query("warm up")


def main() -> None:
    parser = argparse.ArgumentParser(description="serve background analyses")
    parser.add_argument("--limit", type=int, default=4, help="analyses at once (threads)")
    parser.add_argument(
        "--steps",
        choices=STEP_MODES,
        default="inline",
        help="inline: one task run per analysis; flow: an analyze-log flow run per analysis",
    )
    args = parser.parse_args()
    set_step_mode(args.steps)
    warm_up(Settings())
    # One API client for every run: the engine takes the client of the context it runs in
    # (the worker's threads copy this one), where it built two per background run, each with
    # an SSL context loaded from certifi's bundle even for a plain-http API (~a third of the
    # worker's CPU per analysis under py-spy). Shared across threads as a flow's task runner
    # shares its client.
    with SyncClientContext.get_or_create():
        serve(analyze_log_background, limit=args.limit)


if __name__ == "__main__":
    main()
