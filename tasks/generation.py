"""Generation tasks: free text (`generate`) and the report draft (`analyze-log` with a model).

Tagged "gpu" so a deployment can route them to GPU workers or cap them with a tag
concurrency limit (one model per GPU).
"""

from __future__ import annotations

from prefect import task

from tasks.policy import task_policy
from tasks.resources import get_embedder, get_generator, get_store
from workflowai.analysis.report import Category, EvidenceBlock, LogType
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
    log_type: LogType,
    category_hint: Category | None,
    max_tokens: int,
    temperature: float,
    settings: Settings,
) -> DraftOutcome:
    """The model's prose for the report, validated; an outcome with `error` when unusable."""
    return write_report_draft(
        require_generator(settings),
        evidence=evidence,
        hits=hits,
        log_type=log_type,
        category_hint=category_hint,
        max_tokens=max_tokens,
        temperature=temperature,
    )


@task(tags=["gpu"], **task_policy(timeout_seconds=900))
def run_report_agent(
    evidence: list[EvidenceBlock],
    hits: list[ScoredChunk],
    *,
    log_type: LogType,
    category_hint: Category | None,
    max_tokens: int,
    settings: Settings,
) -> AgentOutcome:
    """Agent mode: the model may search the knowledge base (read-only) before it answers."""
    generator = require_generator(settings)
    if not isinstance(generator, OpenAIGenerator):
        reason = "agent mode needs an OpenAI-compatible backend with tool calling"
        return AgentOutcome(outcome=DraftOutcome(error=reason))
    return run_agent(
        generator,
        knowledge_search_tool(get_store(settings), get_embedder(settings), settings.search),
        evidence=evidence,
        hits=hits,
        log_type=log_type,
        category_hint=category_hint,
        max_tokens=max_tokens,
    )
