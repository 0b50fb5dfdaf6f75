"""Assemble the `AnalysisReport` from signals, retrieved knowledge and (optionally) a model draft.

Without a draft the report is deterministic and built from the typed findings
(`findings.py`, `explain.py`): the summary and root cause name what failed (tests, files and
lines, packages, commands, hosts), the category is the root cause's, and fixes are the fitting
runbooks' `fix` templates filled from the findings (`relevance.py` drops entries whose
ecosystem contradicts the log's). Without findings, the key error line stands in. Confidence
combines rule strength, whether a specific finding exists, and whether retrieval agrees on the
category. With a draft, the prose fields (summary, category,
root cause, fixes, confidence) come from the model; evidence, citations and the signature stay
rule-made. `Provenance` records which part produced each field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workflowai.analysis.explain import (
    GENERIC_FIXES,
    UNKNOWN_FIX,
    compose_root_cause,
    compose_summary,
    fill_template,
    finding_for,
    placeholder_values,
)
from workflowai.analysis.findings import FindingSet
from workflowai.analysis.relevance import relevant_hits
from workflowai.analysis.report import (
    AnalysisReport,
    Category,
    Citation,
    Finding,
    FindingKind,
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
MAX_CITATIONS = 5


def _meta(hit: ScoredChunk, key: str) -> str:
    value = hit.chunk.metadata.get(key)
    return str(value).strip() if value is not None else ""


def _runbooks(hits: Sequence[ScoredChunk]) -> list[ScoredChunk]:
    return [h for h in hits if _meta(h, "kind") == "runbook"]


def _source(hit: ScoredChunk) -> str:
    """Where the entry lives, relative to the knowledge-base root: the `path` the source
    reader recorded, else the part of the source after a `knowledge_base` folder, else the
    file name (never the absolute path of the machine that indexed it)."""
    path = _meta(hit, "path")
    if path:
        return path
    source = hit.chunk.source.replace("\\", "/")
    if "://" in source:
        return source
    marker = "/knowledge_base/"
    if marker in source:
        return source.split(marker, 1)[1]
    return source.rsplit("/", 1)[-1]


def _citation(hit: ScoredChunk) -> Citation:
    entry_id = _meta(hit, "entry_id") or None
    title = hit.chunk.title or entry_id or hit.chunk.document_id
    return Citation(
        chunk_id=hit.chunk.id,
        document_id=hit.chunk.document_id,
        title=title,
        source=_source(hit),
        score=float(hit.score),
        excerpt=hit.chunk.text[:MAX_EXCERPT_CHARS],
        entry_id=entry_id,
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


def _fixes(
    found: FindingSet,
    runbooks: Sequence[ScoredChunk],
    category: Category,
    failing_step: str | None,
) -> list[SuggestedFix]:
    """Fix steps of the fitting runbooks, their placeholders filled from the finding each
    runbook is about; the root finding's own generic step first when no runbook shares the
    report's category."""
    fixes: list[SuggestedFix] = []
    seen: set[str] = set()

    def add(template: str, finding: Finding | None, origin: Origin, entry: str | None) -> None:
        values = placeholder_values(finding, failing_step=failing_step)
        text, filled = fill_template(template, values)
        if text and text not in seen:
            seen.add(text)
            fixes.append(SuggestedFix(text=text, origin=origin, entry_id=entry, filled=filled))

    root = found.findings[0] if found.findings else None
    if root is not None and not any(_runbook_category(h) is category for h in runbooks):
        add(GENERIC_FIXES[root.kind], root, Origin.RULES, None)
    for hit in runbooks:
        finding = finding_for(_runbook_category(hit), found)
        entry = _meta(hit, "entry_id") or hit.chunk.document_id
        for raw in _meta(hit, "fix").splitlines():
            step = raw.strip().lstrip("-*").strip()
            if step:
                add(step, finding, Origin.RETRIEVAL, entry)
    if not fixes:
        if root is not None:
            add(GENERIC_FIXES[root.kind], root, Origin.RULES, None)
        else:
            add(UNKNOWN_FIX, None, Origin.RULES, None)
    return fixes[:MAX_FIXES]


def _key_line(signals: Signals) -> tuple[int, str] | None:
    if not signals.key_lines:
        return None
    top = signals.key_lines[0]
    text = top.text.strip()
    return top.number, text[:MAX_KEY_CHARS] + ("…" if len(text) > MAX_KEY_CHARS else "")


def _summary(signals: Signals, log_type: LogType) -> str:
    composed = compose_summary(
        signals.findings, failing_step=signals.failing_step, exit_code=signals.exit_code
    )
    if composed:
        return composed
    where = f" in step '{signals.failing_step}'" if signals.failing_step else ""
    code = f" with exit code {signals.exit_code}" if signals.exit_code is not None else ""
    key = _key_line(signals)
    if key is None:
        return f"The {log_type.value} failed{where}{code}; no recognizable error line was found."
    return f"The {log_type.value} failed{where}{code}. Key error (line {key[0]}): {key[1]}"


def _root_cause(signals: Signals, best: ScoredChunk | None, category: Category) -> str:
    """What failed, from the findings (else the key line); then, when the best fitting runbook
    is about the same category, its explanation of why such failures happen."""
    composed = compose_root_cause(signals.findings)
    if not composed:
        key = _key_line(signals)
        composed = f"Line {key[0]}: {key[1]}" if key else "No error line was recognized in the log."
    if best is not None and _meta(best, "cause") and _runbook_category(best) is category:
        entry = _meta(best, "entry_id") or "knowledge base"
        composed += f" Typical cause ({entry}): {_meta(best, 'cause')}"
    return composed


def _category(signals: Signals, best: ScoredChunk | None) -> tuple[Category, Origin]:
    """The root finding's category; else the rules' vote; else the best runbook's."""
    if signals.findings.category is not Category.UNKNOWN:
        return signals.findings.category, Origin.RULES
    if signals.category is not Category.UNKNOWN:
        return signals.category, Origin.RULES
    guessed = _runbook_category(best) if best is not None else None
    if guessed is not None and guessed is not Category.UNKNOWN:
        return guessed, Origin.RETRIEVAL
    return Category.UNKNOWN, Origin.RULES


def _confidence(signals: Signals, category: Category, best: ScoredChunk | None) -> float:
    if not signals.blocks:
        return 0.05
    value = 0.2 + 0.5 * max(0.0, min(1.0, signals.category_confidence))
    root = signals.findings.findings[0] if signals.findings.findings else None
    if root is not None and root.kind is not FindingKind.PROCESS_EXIT:
        value = max(value, 0.55)
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
    max_citations: int = MAX_CITATIONS,
) -> AnalysisReport:
    """Build the report; see the module docstring for which part fills which field."""
    found = signals.findings
    fitting = relevant_hits(
        hits,
        ecosystems=found.ecosystems,
        tools=found.tools,
        ci_provider=ci_provider or signals.ci_provider,
    )[:max_citations]
    runbooks = _runbooks(fitting)
    best = runbooks[0] if runbooks else None
    category, category_origin = _category(signals, best)
    retrieval_fixes = _fixes(found, runbooks, category, signals.failing_step)
    if draft is None:
        summary = _summary(signals, log_type)
        root_cause = _root_cause(signals, best, category)
        fixes = retrieval_fixes
        confidence = _confidence(signals, category, best)
        provenance = Provenance(
            category=category_origin,
            root_cause=Origin.RULES,
            summary=Origin.RULES,
            fixes=[f.origin for f in fixes],
            model=model_name,
            model_error=model_error,
        )
    else:
        model_origin = Origin.AGENT if tool_calls else Origin.MODEL
        summary, root_cause, category = draft.summary, draft.root_cause, draft.category
        fixes = [SuggestedFix(text=f, origin=model_origin) for f in draft.suggested_fixes]
        if not fixes:
            fixes = retrieval_fixes
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
        findings=list(found.findings),
        findings_total=found.total,
        suggested_fixes=fixes[:MAX_FIXES],
        citations=_citations(fitting),
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
