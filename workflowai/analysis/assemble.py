"""Assemble the `AnalysisReport` from signals, retrieved knowledge and (optionally) a model draft.

Without a draft the report is deterministic: the summary names the failing step and the key
error line, the root cause joins the top key line with the best-matching runbook's cause, fixes
come from the cited runbooks' `fix` metadata, and confidence combines rule strength with
whether retrieval agrees on the category. With a draft, the prose fields (summary, category,
root cause, fixes, confidence) come from the model; evidence, citations and the signature stay
rule-made. `Provenance` records which part produced each field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workflowai.analysis.report import (
    AnalysisReport,
    Category,
    Citation,
    LogType,
    Origin,
    Provenance,
    ReportDraft,
    SuggestedFix,
    ToolCallRecord,
)
from workflowai.schemas import ScoredChunk

if TYPE_CHECKING:
    from workflowai.analysis.signals import Signals

MAX_FIXES = 5
MAX_EXCERPT_CHARS = 300
MAX_KEY_CHARS = 300

# what to try when no knowledge-base entry matched; deliberately generic
GENERIC_FIXES: dict[Category, str] = {
    Category.COMPILE: "Fix the compiler error at the first reported file and line, then rebuild.",
    Category.TEST: "Run the failing test locally with the same inputs and fix the assertion.",
    Category.DEPENDENCY: "Check the requested versions exist and are compatible; pin or "
    "update them and refresh the lock file.",
    Category.NETWORK: "Check the host, DNS and proxy settings of the runner; rerun if the "
    "service was briefly unavailable.",
    Category.TIMEOUT: "Find the step that hangs or slowed down; raise the limit only if the "
    "work legitimately grew.",
    Category.OUT_OF_MEMORY: "Lower memory use (parallelism, heap size) or give the job a "
    "larger runner or memory limit.",
    Category.PERMISSION: "Check the credentials, token scopes and file permissions the step uses.",
    Category.CONFIGURATION: "Check the configuration the failing step reads (paths, variables, "
    "manifests) against what the job provides.",
    Category.INFRASTRUCTURE: "Check the runner, cluster or cloud resources the job depends on.",
    Category.UNKNOWN: "Read the evidence lines below, starting with the highlighted ones.",
}


def _meta(hit: ScoredChunk, key: str) -> str:
    value = hit.chunk.metadata.get(key)
    return str(value).strip() if value is not None else ""


def _runbooks(hits: Sequence[ScoredChunk]) -> list[ScoredChunk]:
    return [h for h in hits if _meta(h, "kind") == "runbook"]


def _citation(hit: ScoredChunk) -> Citation:
    title = hit.chunk.title or _meta(hit, "entry_id") or hit.chunk.document_id
    return Citation(
        chunk_id=hit.chunk.id,
        document_id=hit.chunk.document_id,
        title=title,
        source=hit.chunk.source,
        score=float(hit.score),
        excerpt=hit.chunk.text[:MAX_EXCERPT_CHARS],
    )


def _citations(hits: Sequence[ScoredChunk]) -> list[Citation]:
    seen: set[str] = set()
    out: list[Citation] = []
    for hit in sorted(hits, key=lambda h: -h.score):
        if hit.chunk.document_id not in seen:
            seen.add(hit.chunk.document_id)
            out.append(_citation(hit))
    return out


def _runbook_category(hit: ScoredChunk) -> Category | None:
    try:
        return Category(_meta(hit, "category"))
    except ValueError:
        return None


def _fixes_from_runbooks(runbooks: Sequence[ScoredChunk]) -> list[str]:
    fixes: list[str] = []
    for hit in runbooks:
        for raw in _meta(hit, "fix").splitlines():
            text = raw.strip().lstrip("-*").strip()
            if text and text not in fixes:
                fixes.append(text)
    return fixes[:MAX_FIXES]


def _key_line(signals: Signals) -> tuple[int, str] | None:
    if not signals.key_lines:
        return None
    top = signals.key_lines[0]
    text = top.text.strip()
    return top.number, text[:MAX_KEY_CHARS] + ("…" if len(text) > MAX_KEY_CHARS else "")


def _deterministic_summary(signals: Signals, log_type: LogType, best: ScoredChunk | None) -> str:
    where = f" in step '{signals.failing_step}'" if signals.failing_step else ""
    code = f" with exit code {signals.exit_code}" if signals.exit_code is not None else ""
    key = _key_line(signals)
    if key is None:
        text = f"The {log_type.value} failed{where}{code}; no recognizable error line was found."
    else:
        text = f"The {log_type.value} failed{where}{code}. Key error (line {key[0]}): {key[1]}"
    if best is not None:
        text += f" Matches known issue: {best.chunk.title or _meta(best, 'entry_id')}."
    return text


def _deterministic_root_cause(signals: Signals, best: ScoredChunk | None) -> str:
    key = _key_line(signals)
    parts = [f"Line {key[0]}: {key[1]}" if key else "No error line was recognized in the log."]
    cause = _meta(best, "cause") if best is not None else ""
    if cause:
        parts.append(f"Known cause ({_meta(best, 'entry_id') or 'knowledge base'}): {cause}")
    return "\n".join(parts)


def _confidence(signals: Signals, category: Category, best: ScoredChunk | None) -> float:
    if not signals.blocks:
        return 0.05
    value = 0.2 + 0.5 * max(0.0, min(1.0, signals.category_confidence))
    if best is not None:
        agrees = _runbook_category(best) == category
        value += 0.25 if agrees else 0.05
    return round(max(0.0, min(1.0, value)), 3)


def assemble_report(
    signals: Signals,
    *,
    hits: Sequence[ScoredChunk],
    draft: ReportDraft | None,
    log_type: LogType = LogType.BUILD,
    ci_provider: str | None = None,
    redactions: dict[str, int] | None = None,
    model_name: str | None = None,
    model_error: str | None = None,
    tool_calls: Sequence[ToolCallRecord] = (),
    warnings: Sequence[str] = (),
) -> AnalysisReport:
    """Build the report; see the module docstring for which part fills which field."""
    runbooks = sorted(_runbooks(hits), key=lambda h: -h.score)
    best = runbooks[0] if runbooks else None
    category = signals.category
    category_origin = Origin.RULES
    if category is Category.UNKNOWN and best is not None:
        guessed = _runbook_category(best)
        if guessed is not None:
            category, category_origin = guessed, Origin.RETRIEVAL
    retrieval_fixes = _fixes_from_runbooks(runbooks)
    if draft is None:
        summary = _deterministic_summary(signals, log_type, best)
        root_cause = _deterministic_root_cause(signals, best)
        fixes = [SuggestedFix(text=f, origin=Origin.RETRIEVAL) for f in retrieval_fixes]
        if not fixes:
            fixes = [SuggestedFix(text=GENERIC_FIXES[category], origin=Origin.RULES)]
        confidence = _confidence(signals, category, best)
        prose_origin = Origin.RULES
        root_origin = (
            Origin.RETRIEVAL if best is not None and _meta(best, "cause") else Origin.RULES
        )
        provenance = Provenance(
            category=category_origin,
            root_cause=root_origin,
            summary=prose_origin,
            fixes=[f.origin for f in fixes],
            model=model_name,
            model_error=model_error,
        )
    else:
        model_origin = Origin.AGENT if tool_calls else Origin.MODEL
        summary, root_cause, category = draft.summary, draft.root_cause, draft.category
        fixes = [SuggestedFix(text=f, origin=model_origin) for f in draft.suggested_fixes]
        if not fixes:
            fixes = [SuggestedFix(text=f, origin=Origin.RETRIEVAL) for f in retrieval_fixes]
        confidence = draft.confidence
        provenance = Provenance(
            category=model_origin,
            root_cause=model_origin,
            summary=model_origin,
            fixes=[f.origin for f in fixes],
            model=model_name,
            model_error=model_error,
        )
    return AnalysisReport(
        summary=summary,
        category=category,
        root_cause=root_cause,
        evidence=list(signals.blocks),
        suggested_fixes=fixes[:MAX_FIXES],
        citations=_citations(hits),
        failure_signature=signals.signature_hash,
        signature_text=signals.signature_text,
        confidence=confidence,
        log_type=log_type,
        ci_provider=ci_provider,
        failing_step=signals.failing_step,
        exit_code=signals.exit_code,
        total_lines=signals.total_lines,
        redactions=dict(redactions or {}),
        provenance=provenance,
        tool_calls=list(tool_calls),
        warnings=[*signals.warnings, *warnings],
    )
