"""Generation tasks: free text (`generate`) and the report draft (`analyze-log` with a model).

Tagged "gpu" so a deployment can route them to GPU workers or cap them with a tag
concurrency limit (one model per GPU).
"""

from __future__ import annotations

from prefect import task

from tasks.policy import task_policy
from tasks.resources import get_generator
from workflowai.errors import ConfigError
from workflowai.llm.protocol import Generator
from workflowai.schemas import Generation, GenerationRequest
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
