"""The analysis agent: a tool-calling model may search the knowledge base before it answers.

Why a plain bounded loop instead of a framework agent (LangGraph, AgentExecutor): every
guarantee we need is a line here rather than a framework option to trust: at most
`max_iterations` model calls, a wall-clock deadline checked before each call (and given to the
client as its timeout), exactly one tool that only reads (`search_knowledge_base`), arguments
validated before it runs, every call recorded as a ToolCallRecord, and a final answer that
goes through the same ReportDraft validation, review and fallback as `report_writer`
(reviewed against the same `ReportPrompt`; search results come back fenced with that
prompt's random marker). It uses
LangChain's messages and `ChatOpenAI.bind_tools`, so any OpenAI-compatible server with tool
calling works (vLLM, llama.cpp's `chatml-function-calling`, OpenAI).

Log text cannot cause an action: a tool call naming anything else is refused and recorded,
the search callable is the only code a tool call can reach, and the answer is parsed as data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages import ToolMessage as LcToolMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflowai.analysis.report import Category, EvidenceBlock, Finding, LogType, ToolCallRecord
from workflowai.errors import EmbeddingError, GenerationError, StoreError, is_transient
from workflowai.llm.fences import fence
from workflowai.llm.openai_backend import OpenAIGenerator, finish_reason_of
from workflowai.llm.prompts import MAX_HIT_CHARS, build_report_prompt
from workflowai.llm.report_writer import DraftOutcome, parse_report_draft
from workflowai.schemas import FinishReason, ScoredChunk, SearchRequest, SearchResult
from workflowai.settings import SearchSettings

SEARCH_TOOL = "search_knowledge_base"
MAX_QUERY_CHARS = 300
MAX_TOP_K = 10
MAX_RECORDED_ARG_CHARS = 200
# query, top_k -> hits; read-only by contract (the only thing a tool call can reach)
SearchFn = Callable[[str, int], list[ScoredChunk]]

AGENT_NOTE = (
    f"You may call the tool {SEARCH_TOOL}(query, top_k) to search the knowledge base for "
    "runbooks and known failure causes; it is the only tool. When you know enough, answer."
)

FINAL_NUDGE = "No more tool calls are possible. Write the JSON answer now."


def knowledge_search_tool(store: Any, embedder: Any, settings: SearchSettings) -> SearchFn:
    """The agent's search callable over a knowledge store: `(query, top_k) -> hits`.

    Wraps `workflowai.knowledge.search.search` with the configured search mode and fusion;
    only `query` and `top_k` come from the model (validated before this runs).
    """
    from workflowai.knowledge.search import search as kb_search

    def run(query: str, top_k: int) -> list[ScoredChunk]:
        request = SearchRequest(query=query, top_k=top_k, mode=settings.mode)
        result = kb_search(store, embedder, request, settings)
        return list(result.hits if isinstance(result, SearchResult) else result)

    return run


class SearchArgs(BaseModel):
    """Arguments of the search tool, validated before it runs."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="what to look for")
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K, description="how many entries to return")


SEARCH_TOOL_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": SEARCH_TOOL,
        "description": "Search the CI/CD knowledge base (runbooks, known failure causes).",
        "parameters": SearchArgs.model_json_schema(),
    },
}


class AgentOutcome(BaseModel):
    """The agent's draft (or why there is none), the tool calls it made and how it stopped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: DraftOutcome
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0
    hits: list[ScoredChunk] = Field(default_factory=list, description="what searches returned")


def _recorded_args(args: Any) -> dict[str, str | int | float | bool | None]:
    if not isinstance(args, dict):
        return {"raw": str(args)[:MAX_RECORDED_ARG_CHARS]}
    out: dict[str, str | int | float | bool | None] = {}
    for key, value in list(args.items())[:10]:
        if value is None or isinstance(value, bool | int | float):
            out[str(key)[:50]] = value
        else:
            out[str(key)[:50]] = str(value)[:MAX_RECORDED_ARG_CHARS]
    return out


def _run_tool(
    call: dict[str, Any], search: SearchFn, found: list[ScoredChunk], marker: str
) -> tuple[ToolCallRecord, str]:
    """Run one tool call if it is the search tool with valid arguments; else refuse it."""
    start = time.perf_counter()
    name = str(call.get("name"))
    args = call.get("args")
    if name != SEARCH_TOOL:
        summary = f"refused: unknown tool {name[:80]!r}; the only tool is {SEARCH_TOOL}"
        return _record(name, args, summary, start), summary
    try:
        parsed = SearchArgs.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        summary = f"refused: invalid arguments ({problems})"
        return _record(name, args, summary, start), summary
    try:
        hits = search(parsed.query, parsed.top_k)
    except (StoreError, EmbeddingError) as exc:
        summary = f"search failed: {exc}"
        return _record(name, args, summary, start), summary
    found.extend(hits)
    titles = ", ".join(h.chunk.title or h.chunk.document_id for h in hits[:5])
    summary = f"{len(hits)} hits: {titles}" if hits else "0 hits"
    body = "\n\n".join(
        fence(
            "KNOWLEDGE BASE ENTRY",
            str(i),
            f"title: {h.chunk.title}\n{h.chunk.text[:MAX_HIT_CHARS]}",
            marker,
        )
        for i, h in enumerate(hits, start=1)
    )
    return _record(name, args, summary, start), body or "no entries matched"


def _record(name: str, args: Any, summary: str, start: float) -> ToolCallRecord:
    return ToolCallRecord(
        tool=name[:80],
        arguments=_recorded_args(args),
        result_summary=summary[:500],
        seconds=time.perf_counter() - start,
    )


def run_agent(
    generator: OpenAIGenerator,
    search: SearchFn,
    *,
    evidence: Sequence[EvidenceBlock],
    hits: Sequence[ScoredChunk] = (),
    findings: Sequence[Finding] = (),
    log_type: LogType = LogType.BUILD,
    category_hint: Category | None = None,
    max_iterations: int | None = None,
    timeout_s: float | None = None,
    force_search: bool = True,
    max_tokens: int = 512,
) -> AgentOutcome:
    """Let the model search the knowledge base, then validate its answer as a ReportDraft.

    `max_iterations`/`timeout_s` default to the generator's settings (agent_max_iterations,
    agent_timeout_s). `force_search` makes the first call a forced search-tool call (models
    that rarely call tools by themselves still consult the knowledge base); the last allowed
    call offers no tools, so the model must answer. The answer is reviewed like
    `write_report_draft`'s (`category_hint` is the rule-made category, `findings` the
    subjects the root cause must name). Never raises for a bad answer or a
    stopped loop (the outcome says why); raises GenerationUnavailableError when the model
    cannot be reached.
    """
    settings = generator.settings
    limit = max_iterations or settings.agent_max_iterations
    deadline_s = timeout_s or settings.agent_timeout_s
    start = time.perf_counter()
    prompt = build_report_prompt(
        evidence=evidence,
        hits=hits,
        findings=findings,
        log_type=log_type,
        category_hint=category_hint,
        extra=AGENT_NOTE,
    )
    messages: list[BaseMessage] = [
        SystemMessage(content=prompt.system),
        HumanMessage(content=prompt.user),
    ]
    records: list[ToolCallRecord] = []
    found: list[ScoredChunk] = []

    def finish(outcome: DraftOutcome, iterations: int) -> AgentOutcome:
        return AgentOutcome(
            outcome=outcome,
            tool_calls=records,
            iterations=iterations,
            seconds=time.perf_counter() - start,
            hits=found,
        )

    for iteration in range(1, limit + 1):
        remaining = deadline_s - (time.perf_counter() - start)
        if remaining <= 0:
            reason = f"the agent timed out after {deadline_s:g} s ({iteration - 1} model calls)"
            return finish(DraftOutcome(error=reason, model=settings.model), iteration - 1)
        call_timeout_s = min(settings.timeout_s, remaining)
        model = generator.chat_model(
            max_tokens=max_tokens, temperature=0.0, timeout_s=call_timeout_s
        )
        if iteration < limit:
            choice: Any = SEARCH_TOOL if force_search and iteration == 1 else "auto"
            runnable: Any = model.bind_tools([SEARCH_TOOL_SPEC], tool_choice=choice)
        else:  # last call: no tools offered, the model has to answer
            messages.append(HumanMessage(content=FINAL_NUDGE))
            runnable = model
        try:
            with generator.errors(call_timeout_s):
                reply = runnable.invoke(messages)
        except GenerationError as exc:
            if time.perf_counter() - start >= deadline_s:  # the call used up the agent's time
                reason = f"the agent timed out after {deadline_s:g} s ({iteration} model calls)"
                return finish(DraftOutcome(error=reason, model=settings.model), iteration)
            if is_transient(exc):
                raise
            return finish(DraftOutcome(error=f"the model failed: {exc}"[:500]), iteration)
        if not isinstance(reply, AIMessage):
            reason = f"the model answered a {type(reply).__name__}, not a message"
            return finish(DraftOutcome(error=reason, model=settings.model), iteration)
        if reply.tool_calls:
            # llama.cpp's server rejects an assistant turn whose content is null, which is
            # what LangChain sends for "" next to tool calls: keep a short text there
            messages.append(
                AIMessage(content=reply.content or "(tool call)", tool_calls=reply.tool_calls)
            )
            for call in reply.tool_calls:
                record, content = _run_tool(dict(call), search, found, prompt.marker)
                records.append(record)
                messages.append(LcToolMessage(content=content, tool_call_id=call.get("id") or ""))
            continue
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        truncated = finish_reason_of(reply) is FinishReason.LENGTH
        outcome = parse_report_draft(text, truncated=truncated, prompt=prompt)
        model_id = str(reply.response_metadata.get("model_name") or settings.model)
        return finish(outcome.model_copy(update={"model": model_id}), iteration)
    reason = f"the agent made {limit} model calls without a final answer"
    return finish(DraftOutcome(error=reason, model=settings.model), limit)
