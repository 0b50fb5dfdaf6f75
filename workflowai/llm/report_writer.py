"""Ask a model for the report's prose, and accept its answer only as a validated ReportDraft.

The model's answer is parsed as data and nothing else: the first JSON object in the text
(code fences and leading prose tolerated) is validated with pydantic against `ReportDraft`.
Anything else yields a `DraftOutcome` with a reason, and the caller keeps the rule-based
report. A bad answer never raises; only an unreachable model does
(`GenerationUnavailableError`, transient, retried by the Prefect task).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from workflowai.analysis.report import Category, EvidenceBlock, Finding, LogType, ReportDraft
from workflowai.errors import GenerationError, is_transient
from workflowai.llm.prompts import report_messages
from workflowai.llm.protocol import Generator
from workflowai.schemas import FinishReason, Generation, GenerationRequest, ScoredChunk

MAX_REASON_CHARS = 500
_DRAFT_FIELDS = set(ReportDraft.model_fields)


class DraftOutcome(BaseModel):
    """A validated draft, or why there is none (then `error` is set and `draft` is None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: ReportDraft | None = None
    error: str | None = None
    model: str | None = None
    generation: Generation | None = None
    raw_text: str = ""

    @property
    def ok(self) -> bool:
        return self.draft is not None


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` (after any prose or ``` fence), or None."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Forgive what small models commonly get wrong without changing meaning: category case
    and spacing, a single fix given as a string, and keys that are not ours (dropped)."""
    out = {k: v for k, v in data.items() if k in _DRAFT_FIELDS}
    category = out.get("category")
    if isinstance(category, str):
        out["category"] = category.strip().lower().replace("_", "-").replace(" ", "-")
    fixes = out.get("suggested_fixes")
    if isinstance(fixes, str):
        out["suggested_fixes"] = [fixes]
    return out


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "answer"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def parse_report_draft(text: str, *, truncated: bool = False) -> DraftOutcome:
    """Validate a model's answer as a ReportDraft; never raises.

    `truncated` (the model hit max_tokens) only makes the failure reason clearer.
    """
    if not text.strip():
        return DraftOutcome(error="the model's answer is empty", raw_text=text)
    data = extract_json_object(text)
    if data is None and "&" in text:
        # llama.cpp's chatml-function-calling template HTML-escapes the chat, and small
        # models then answer escaped JSON (&#34;summary&#34;: ...)
        data = extract_json_object(html.unescape(text))
    if data is None:
        reason = "the model's answer holds no JSON object"
        if truncated:
            reason += " (it was cut off at max_tokens)"
        return DraftOutcome(error=reason, raw_text=text)
    try:
        draft = ReportDraft.model_validate(_normalize(data))
    except ValidationError as exc:
        reason = f"the model's answer does not match the report schema: {_describe(exc)}"
        return DraftOutcome(error=reason[:MAX_REASON_CHARS], raw_text=text)
    return DraftOutcome(draft=draft, raw_text=text)


def write_report_draft(
    generator: Generator,
    *,
    evidence: Sequence[EvidenceBlock],
    hits: Sequence[ScoredChunk],
    findings: Sequence[Finding] = (),
    log_type: LogType = LogType.BUILD,
    category_hint: Category | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
) -> DraftOutcome:
    """Ask `generator` for the report's prose from evidence, findings and retrieved entries.

    Returns a DraftOutcome: a validated draft, or the reason to fall back to the rule-based
    report (unparseable or invalid answer, a non-transient generation failure).
    Raises GenerationUnavailableError when the model cannot be reached (worth retrying).
    """
    messages = report_messages(
        evidence=evidence,
        hits=hits,
        findings=findings,
        log_type=log_type,
        category_hint=category_hint,
    )
    request = GenerationRequest(messages=messages, max_tokens=max_tokens, temperature=temperature)
    try:
        generation = generator.generate(request)
    except GenerationError as exc:
        if is_transient(exc):
            raise
        return DraftOutcome(error=f"the model failed: {exc}"[:MAX_REASON_CHARS])
    outcome = parse_report_draft(
        generation.text, truncated=generation.finish_reason is FinishReason.LENGTH
    )
    return outcome.model_copy(update={"generation": generation, "model": generation.model})
