"""Generation tasks: free text (`generate`) and the report draft (`analyze-log` with a model).

Tagged "gpu" so a deployment can route them to GPU workers or cap them with a tag
concurrency limit (one model per GPU).
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task

from tasks.policy import task_policy
from tasks.resources import get_embedder, get_generator, get_store
from workflowai.analysis.report import Category, EvidenceBlock, Finding, LogType
from workflowai.errors import ConfigError
from workflowai.llm.agent import AgentOutcome, knowledge_search_tool, run_agent
from workflowai.llm.openai_backend import OpenAIGenerator
from workflowai.llm.protocol import Generator
from workflowai.llm.report_writer import DraftOutcome, write_report_draft
from workflowai.schemas import Generation, GenerationRequest, ScoredChunk
from workflowai.settings import Settings

NO_BACKEND = (
    "no generation backend is configured: set WORKFLOWAI_GENERATION__BACKEND=transformers "
    "(WORKFLOWAI_GENERATION__MODEL=<hub name or folder>, WORKFLOWAI_GENERATION__GGUF_FILE for "
    "GGUF) or WORKFLOWAI_GENERATION__BACKEND=openai (WORKFLOWAI_GENERATION__BASE_URL, "
    "WORKFLOWAI_GENERATION__MODEL)"
)
AGENT_NEEDS_TOOLS = (
    "agent mode needs an OpenAI-compatible backend with tool calling "
    "(WORKFLOWAI_GENERATION__BACKEND=openai); the report was written without the model"
)


def require_generator(settings: Settings) -> Generator:
    """The process's generator; raises ConfigError saying how to configure one."""
    generator = get_generator(settings)
    if generator is None:
        raise ConfigError(NO_BACKEND)
    return generator


@task(tags=["gpu"], **task_policy(timeout_seconds=900))
def generate_text(request: GenerationRequest, settings: Settings) -> Generation:
    """Generate from a prompt or chat messages with the configured model."""
    return require_generator(settings).generate(request)


@task(tags=["gpu"], **task_policy(timeout_seconds=900))
def generate_report_draft(
    evidence: list[EvidenceBlock],
    hits: list[ScoredChunk],
    *,
    agent: bool,
    log_type: LogType,
    category_hint: Category | None,
    max_tokens: int,
    temperature: float,
    settings: Settings,
    findings: Sequence[Finding] = (),
) -> AgentOutcome:
    """The model's prose for the report, reviewed (agent mode: it may search the KB first).

    `category_hint` is the rule-made category and `findings` what the log names (none
    until the flow passes them): a draft that contradicts the category, or whose root cause
    names none of the findings' subjects, is rejected (workflowai/llm/draft_checks.py). An
    unusable answer or a missing backend is an outcome with `error` set (the report falls
    back to rules and says why); only an unreachable model raises, and is retried.
    """
    generator = get_generator(settings)
    if generator is None:
        return AgentOutcome(outcome=DraftOutcome(error=NO_BACKEND))
    if not agent:
        draft = write_report_draft(
            generator, evidence=evidence, hits=hits, findings=findings, log_type=log_type,
            category_hint=category_hint, max_tokens=max_tokens, temperature=temperature,
        )  # fmt: skip
        return AgentOutcome(outcome=draft)
    if not isinstance(generator, OpenAIGenerator):
        return AgentOutcome(outcome=DraftOutcome(error=AGENT_NEEDS_TOOLS))
    search = knowledge_search_tool(get_store(settings), get_embedder(settings), settings.search)
    return run_agent(
        generator, search, evidence=evidence, hits=hits, findings=findings, log_type=log_type,
        category_hint=category_hint, max_tokens=max_tokens,
    )  # fmt: skip
