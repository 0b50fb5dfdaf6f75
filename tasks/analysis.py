"""Analysis tasks: read (and redact) a log, read a baseline, extract signals, retrieve
knowledge, assemble the report and publish it as a Prefect artifact.

Redaction happens inside `read_log`, line by line as the log streams in: an unredacted line is
never returned by a task, so it never reaches Prefect's state, logs or result storage.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact

from tasks.history import without_rejected_matches
from tasks.inputs import worker_path
from tasks.log_storage import load_blob_store
from tasks.policy import task_policy
from tasks.resources import get_embedder, get_store
from workflowai.analysis import normalize
from workflowai.analysis import signals as signals_lib
from workflowai.analysis.assemble import assemble_report as build_report
from workflowai.analysis.baseline import Baseline, build_baseline
from workflowai.analysis.normalize import NormalizedLog
from workflowai.analysis.query import build_retrieval_query
from workflowai.analysis.redact import Redactor
from workflowai.analysis.relevance import RETRIEVAL_OVERFETCH
from workflowai.analysis.render import render_markdown
from workflowai.analysis.report import AnalysisReport, LogType
from workflowai.analysis.signals import Signals
from workflowai.knowledge.search import search
from workflowai.llm.agent import AgentOutcome
from workflowai.logpack import open_baseline, open_log
from workflowai.logref import LogRef
from workflowai.schemas import ScoredChunk, SearchRequest
from workflowai.settings import SearchMode, Settings

_KEY_CHARS = re.compile(r"[^a-z0-9-]+")


@task(**task_policy(timeout_seconds=900, retries=0))
def read_log(source: LogRef | Path, settings: Settings) -> NormalizedLog:
    """Stream the log in: decode, clean, redact each line, keep what evidence needs.

    A LogRef is read from the log storage (size and sha256 checked, redacted again); a path is
    read on the worker, in a deployment run only under the allowed roots.
    Raises LogParseError for an empty, binary or unreadable log, LogRefError for a reference
    that cannot be read or does not match, PathNotAllowedError (none retried).
    """
    if isinstance(source, LogRef):
        return open_log(load_blob_store(settings), source, settings)
    return normalize.read_log(
        worker_path(source, settings),
        max_bytes=settings.analysis.max_log_bytes,
        redactor=Redactor(),
    )


@task(**task_policy(timeout_seconds=900, retries=0))
def read_baseline(source: LogRef | Path | None, settings: Settings) -> Baseline | None:
    """The line templates of a passing run of the same job (None: no baseline given)."""
    if source is None:
        return None
    if isinstance(source, LogRef):
        return open_baseline(load_blob_store(settings), source, settings)
    return build_baseline(worker_path(source, settings), max_bytes=settings.analysis.max_log_bytes)


@task(**task_policy(timeout_seconds=600, retries=0))
def extract_signals(log: NormalizedLog, baseline: Baseline | None, settings: Settings) -> Signals:
    """Ranked evidence blocks (verbatim lines, original numbers), category, step, signature."""
    return signals_lib.extract_signals(log, baseline=baseline, settings=settings.analysis)


@task(**task_policy(timeout_seconds=120))
def retrieve_context(
    signals: Signals, top_k: int, mode: SearchMode, settings: Settings
) -> list[ScoredChunk]:
    """Knowledge-base entries matching the failure (none when there is no evidence), minus
    those people rejected for this failure (`workflowai reject`)."""
    query = build_retrieval_query(signals)
    if not query:
        return []
    # fetch more than will be cited: entries that do not fit the log are dropped at assembly
    request = SearchRequest(query=query, top_k=top_k * RETRIEVAL_OVERFETCH, mode=mode)
    hits = search(get_store(settings), get_embedder(settings), request, settings.search).hits
    return without_rejected_matches(hits, signals.signature_hash, settings)


@task(**task_policy(timeout_seconds=60, retries=0))
def assemble_report(
    signals: Signals,
    hits: list[ScoredChunk],
    model: AgentOutcome | None,
    log_type: LogType,
    ci_provider: str | None,
    top_k: int = 5,
) -> AnalysisReport:
    """The report: rule-made evidence and citations (the `top_k` entries that fit the log),
    prose from the model's draft if valid."""
    outcome = model.outcome if model is not None else None
    return build_report(
        signals,
        hits=[*hits, *(model.hits if model is not None else [])],
        draft=outcome.draft if outcome is not None else None,
        log_type=log_type,
        ci_provider=ci_provider or signals.ci_provider,
        redactions=signals.redactions,
        model_name=outcome.model if outcome is not None else None,
        model_error=outcome.error if outcome is not None else None,
        tool_calls=model.tool_calls if model is not None else [],
        warnings=outcome.warnings if outcome is not None else [],
        max_citations=top_k,
    )


def report_key(report: AnalysisReport) -> str:
    """Artifact key: lowercase letters, digits and dashes only (Prefect's rule)."""
    signature = _KEY_CHARS.sub("-", report.failure_signature.lower()).strip("-")
    return f"report-{signature[:32] or 'no-signature'}"


@task(**task_policy(timeout_seconds=60))
def publish_report(report: AnalysisReport) -> str:
    """Publish the rendered report as a Markdown artifact; returns its key."""
    key = report_key(report)
    create_markdown_artifact(
        markdown=render_markdown(report),
        key=key,
        description=f"{report.category.value}: {report.summary[:200]}",
    )
    return key
