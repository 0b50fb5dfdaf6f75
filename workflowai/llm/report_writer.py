"""Ask a model for the report's prose, and accept its answer only as a reviewed ReportDraft.

The model's answer is parsed as data and nothing else. The WHOLE answer must be one JSON
object: surrounding whitespace and at most one ```json code fence around it are tolerated;
prose before or after it, a second object, duplicate keys or NaN are not. ("The first JSON
object wins" let an echoed report from the log become the report.) The object is validated
with pydantic against `ReportDraft`, its text cleaned (NFKC, invisible characters dropped), and
then reviewed against the prompt it answers (`draft_checks`: category, cited lines, findings'
subjects, pipe-to-shell fixes; confidence capped). Anything else yields a `DraftOutcome` with
the reason, and the caller keeps the rule-made report. A bad answer never raises; only an
unreachable model does (`GenerationUnavailableError`, transient, retried by the Prefect task).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflowai.analysis.report import Category, EvidenceBlock, Finding, LogType, ReportDraft
from workflowai.errors import GenerationError, is_transient
from workflowai.llm.draft_checks import review_draft
from workflowai.llm.fences import clean_text
from workflowai.llm.prompts import ReportPrompt, answer_schema, build_report_prompt
from workflowai.llm.protocol import Generator
from workflowai.schemas import FinishReason, Generation, GenerationRequest, ScoredChunk

MAX_REASON_CHARS = 500
_DRAFT_FIELDS = set(ReportDraft.model_fields)
_CODE_FENCE = re.compile(r"\A```(?:json)?[ \t]*\n(?P<body>.*)\n[ \t]*```\Z", re.DOTALL | re.I)
NO_OBJECT = "the model's answer holds no JSON object"


class DraftOutcome(BaseModel):
    """A validated draft, or why there is none (then `error` is set and `draft` is None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: ReportDraft | None = None
    error: str | None = None
    warnings: list[str] = Field(
        default_factory=list, description="what the review changed in an accepted draft"
    )
    model: str | None = None
    generation: Generation | None = None
    raw_text: str = ""

    @property
    def ok(self) -> bool:
        return self.draft is not None


class _AnswerError(ValueError):
    """The answer is not exactly one JSON object; the message says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise _AnswerError(f"the model's answer repeats the key {repeated[0]!r}")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _AnswerError(f"the model's answer holds {name}, which is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def whole_json_object(text: str) -> dict[str, Any]:
    """`text` as one JSON object: whitespace and one ```json fence around it allowed.

    Raises ValueError saying what else the text holds (prose, a second object, no object,
    invalid JSON, a repeated key).
    """
    body = text.strip()
    if body.startswith("```"):
        fenced = _CODE_FENCE.match(body)
        if fenced is None:
            raise _AnswerError("the model's answer opens a code fence it does not close")
        body = fenced.group("body").strip()
    if "{" not in body:
        raise _AnswerError(NO_OBJECT)
    if not body.startswith("{"):
        raise _AnswerError("the model's answer is not only a JSON object: text comes before it")
    try:
        value, end = _DECODER.raw_decode(body)
    except json.JSONDecodeError as exc:
        raise _AnswerError(f"the model's answer is not valid JSON ({exc.msg})") from exc
    rest = body[end:].strip()
    if rest.startswith("{"):
        raise _AnswerError("the model's answer holds more than one JSON object")
    if rest:
        raise _AnswerError("the model's answer is not only a JSON object: text follows it")
    if not isinstance(value, dict):  # cannot happen for a body starting with "{"
        raise _AnswerError(NO_OBJECT)
    return value


def _answer_object(text: str) -> dict[str, Any]:
    try:
        return whole_json_object(text)
    except ValueError:
        # llama.cpp's chatml-function-calling template HTML-escapes the chat, and small
        # models then answer escaped JSON (&#34;summary&#34;: ...): the same rule applies to
        # the unescaped text, and its reason is the one that describes the answer
        unescaped = html.unescape(text)
        if unescaped == text:
            raise
        return whole_json_object(unescaped)


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Forgive what small models commonly get wrong without changing meaning: category case
    and spacing, a single fix given as a string, and keys that are not ours (dropped). Text
    is cleaned like fenced data (NFKC, no invisible characters), so what the checks read is
    what the report shows."""
    out = {k: v for k, v in data.items() if k in _DRAFT_FIELDS}
    category = out.get("category")
    if isinstance(category, str):
        out["category"] = clean_text(category).strip().lower().replace("_", "-").replace(" ", "-")
    fixes = out.get("suggested_fixes")
    if isinstance(fixes, str):
        fixes = out["suggested_fixes"] = [fixes]
    if isinstance(fixes, list):
        out["suggested_fixes"] = [clean_text(f).strip() if isinstance(f, str) else f for f in fixes]
    for name in ("summary", "root_cause"):
        if isinstance(out.get(name), str):
            out[name] = clean_text(out[name]).strip()
    return out


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "answer"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def parse_report_draft(
    text: str, *, truncated: bool = False, prompt: ReportPrompt | None = None
) -> DraftOutcome:
    """Validate a model's answer as a ReportDraft and review it against `prompt`; never raises.

    Without `prompt` only the shape is checked (one JSON object, the schema). `truncated`
    (the model hit max_tokens) only makes the failure reason clearer.
    """
    if not text.strip():
        return DraftOutcome(error="the model's answer is empty", raw_text=text)
    try:
        data = _answer_object(text)
    except ValueError as exc:
        reason = str(exc)
        if truncated:
            reason += " (it was cut off at max_tokens)"
        return DraftOutcome(error=reason[:MAX_REASON_CHARS], raw_text=text)
    try:
        draft = ReportDraft.model_validate(_normalize(data))
    except ValidationError as exc:
        reason = f"the model's answer does not match the report schema: {_describe(exc)}"
        return DraftOutcome(error=reason[:MAX_REASON_CHARS], raw_text=text)
    if prompt is None:
        return DraftOutcome(draft=draft, raw_text=text)
    review = review_draft(draft, prompt)
    if review.draft is None:
        reason = "the model's answer was rejected: it " + "; it ".join(review.problems)
        return DraftOutcome(error=reason[:MAX_REASON_CHARS], raw_text=text)
    return DraftOutcome(draft=review.draft, warnings=review.warnings, raw_text=text)


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

    `category_hint` is the rule-made category: a draft that contradicts it (when it is not
    unknown) is rejected. With `findings`, the root cause must name one of their subjects.
    Returns a DraftOutcome: a reviewed draft, or the reason to fall back to the rule-made
    report (unparseable, invalid or rejected answer, a non-transient generation failure).
    Raises GenerationUnavailableError when the model cannot be reached (worth retrying).
    """
    prompt = build_report_prompt(
        evidence=evidence,
        hits=hits,
        findings=findings,
        log_type=log_type,
        category_hint=category_hint,
    )
    request = GenerationRequest(
        messages=prompt.messages(),
        max_tokens=max_tokens,
        temperature=temperature,
        json_schema=answer_schema(),
    )
    try:
        generation = generator.generate(request)
    except GenerationError as exc:
        if is_transient(exc):
            raise
        return DraftOutcome(error=f"the model failed: {exc}"[:MAX_REASON_CHARS])
    outcome = parse_report_draft(
        generation.text, truncated=generation.finish_reason is FinishReason.LENGTH, prompt=prompt
    )
    return outcome.model_copy(update={"generation": generation, "model": generation.model})
