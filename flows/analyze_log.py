"""The `analyze-log` workflow: why did this CI/CD job fail?

read (+ redact) -> [baseline] -> signals -> [starter KB if empty] -> retrieve (minus matches
people rejected) -> [model draft] -> assemble -> history (fingerprints, verdict) -> publish.
Without a model the report is rules plus retrieval; with one, the model writes the prose and
an unusable answer falls back to the rule-based report with `provenance.model_error` saying why.

`analysis_steps` is the one composition. Deployment runs call each step as a task run (its own
retries, timeout, state); a warm task worker's background analysis (flows/task_worker.py) and
the kept local server's CLI analyses (flows/local_analysis.py) call them `inline`, because each
task run is rows and events the Prefect server records and that was what bounded them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from prefect import Task, flow
from prefect.utilities.annotations import BaseAnnotation, opaque

from flows.results import PERSIST_JSON
from tasks.analysis import (
    assemble_report,
    extract_signals,
    publish_report,
    read_baseline,
    read_log,
    retrieve_context,
)
from tasks.generation import generate_report_draft
from tasks.history import record_history
from tasks.knowledge_base import ensure_knowledge_base, knowledge_base_ready, prepare_indexing
from tasks.resources import get_embedder, load_generator
from workflowai.analysis.report import AnalysisReport
from workflowai.params import AnalyzeLogParams
from workflowai.settings import Settings

Step = Callable[..., Any]
"""How a step is called: `as_task_run` (a task run each) or `inline` (plain calls)."""


def as_task_run(step: Task[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run the step as a Prefect task run (its retries, timeout, state and logs)."""
    return step(*args, **kwargs)


def inline(step: Task[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the step's function in this thread, with no task run of its own.

    For an analysis already recorded as one run (a background task run, a kept-server flow run):
    every task run is rows and events the Prefect server records, and with a run per step the
    server was what limited analyses per second (`bench/trigger_load.py`). A tagged step (model
    generation: `gpu`, under a tag concurrency limit) stays a task run, so the limit holds.
    """
    if step.tags:
        return step(*args, **kwargs)
    plain = [_unwrapped(a) for a in args]
    return step.fn(*plain, **{k: _unwrapped(v) for k, v in kwargs.items()})


def _unwrapped(value: Any) -> Any:
    return value.unwrap() if isinstance(value, BaseAnnotation) else value


def warm_up(params: AnalyzeLogParams) -> None:
    """Load in this process what an analysis with `params` is about to need, while the caller
    waits for something else (the CLI: the local server starting): the query encoder and,
    with `ensure_knowledge_base`, the store and, where the starter knowledge base is still to
    be indexed, the indexing code and the embedding model (`prepare_indexing`); for a run with
    the model, the generator (`load_generator`). Only per-process caches change; errors are
    the run's to report."""
    settings = Settings()
    get_embedder(settings).embed_query("warm up")
    if params.ensure_knowledge_base:
        prepare_indexing(settings)
    if params.use_model or params.agent:
        load_generator(settings)


def analysis_steps(params: AnalyzeLogParams, call: Step = as_task_run) -> AnalysisReport:
    """The analysis, step by step; `call` decides whether each step is a task run."""
    settings = Settings()
    # a task run is rows and events the Prefect server records (its task-run recorder is what
    # limits analyses per second under load), so steps with nothing to do are not called
    log = call(read_log, params.log_source, settings)
    baseline = None
    if params.baseline_source is not None:
        baseline = call(read_baseline, params.baseline_source, settings)
    # opaque(x): Prefect links x to the task that made it but does not walk into it; walking
    # the inputs (a 10,000-line log, its signals, hits, report) cost ~0.9 s of a ~3 s analysis
    signals = call(extract_signals, opaque(log), opaque(baseline), settings)
    if params.ensure_knowledge_base and not knowledge_base_ready(settings):
        call(ensure_knowledge_base, settings)
    hits = call(retrieve_context, opaque(signals), params.top_k, params.mode, settings)
    model = None
    if params.use_model or params.agent:
        model = call(
            generate_report_draft,
            opaque(signals.blocks),
            opaque(hits),
            agent=params.agent,
            log_type=params.log_type,
            category_hint=signals.explained_category,
            findings=opaque(signals.findings.findings),
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            settings=settings,
        )
    report = call(
        assemble_report,
        opaque(signals),
        opaque(hits),
        opaque(model),
        params.log_type,
        params.ci_provider,
        top_k=params.top_k,
    )
    report = call(record_history, opaque(report), params, settings)
    if params.publish:
        call(publish_report, opaque(report))
    return report


_flow_steps: ContextVar[Step] = ContextVar("analyze_log_flow_steps", default=as_task_run)


@contextmanager
def flow_steps_inline() -> Iterator[None]:
    """`analyze-log` flow runs started in this block (this thread) call their steps inline: the
    flow run, its logs and the report artifact are recorded, not a task run per step. For the
    kept local server's warm CLI analyses (flows/local_analysis.py), where the same process
    serves the API that would record those task runs."""
    token = _flow_steps.set(inline)
    try:
        yield
    finally:
        _flow_steps.reset(token)


@flow(name="analyze-log", flow_run_name="analyze-log-{params.run_label}", **PERSIST_JSON)
def analyze_log_flow(params: AnalyzeLogParams) -> AnalysisReport:
    return analysis_steps(params, _flow_steps.get())
