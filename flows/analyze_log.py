"""The `analyze-log` workflow: why did this CI/CD job fail?

read (+ redact) -> [baseline] -> signals -> [starter KB if empty] -> retrieve (minus matches
people rejected) -> [model draft] -> assemble -> history (fingerprints, verdict) -> publish.
Without a model the report is rules plus retrieval; with one, the model writes the prose and
an unusable answer falls back to the rule-based report with `provenance.model_error` saying why.
"""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import opaque

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
from tasks.knowledge_base import ensure_knowledge_base, knowledge_base_ready
from workflowai.analysis.report import AnalysisReport
from workflowai.params import AnalyzeLogParams
from workflowai.settings import Settings


@flow(name="analyze-log", flow_run_name="analyze-log-{params.run_label}", **PERSIST_JSON)
def analyze_log_flow(params: AnalyzeLogParams) -> AnalysisReport:
    settings = Settings()
    # a task run is rows and events the Prefect server records (its task-run recorder is what
    # limits analyses per second under load), so steps with nothing to do are not called
    log = read_log(params.log_source, settings)
    baseline = None
    if params.baseline_source is not None:
        baseline = read_baseline(params.baseline_source, settings)
    # opaque(x): Prefect links x to the task that made it but does not walk into it; walking
    # the inputs (a 10,000-line log, its signals, hits, report) cost ~0.9 s of a ~3 s analysis
    signals = extract_signals(opaque(log), opaque(baseline), settings)
    if params.ensure_knowledge_base and not knowledge_base_ready(settings):
        ensure_knowledge_base(settings)
    hits = retrieve_context(opaque(signals), params.top_k, params.mode, settings)
    model = None
    if params.use_model or params.agent:
        model = generate_report_draft(
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
    report = assemble_report(
        opaque(signals),
        opaque(hits),
        opaque(model),
        params.log_type,
        params.ci_provider,
        top_k=params.top_k,
    )
    report = record_history(opaque(report), params, settings)
    if params.publish:
        publish_report(opaque(report))
    return report
