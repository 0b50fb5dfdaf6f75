"""`build_generator(settings)`: the one place that picks a generation backend."""

from __future__ import annotations

from workflowai.llm.protocol import Generator
from workflowai.settings import GenerationBackend, GenerationSettings


def build_generator(settings: GenerationSettings) -> Generator | None:
    """The configured generator, or None for backend `none` (rule-based reports only).

    Construction is cheap: the transformers model loads on first use (once per process), the
    OpenAI-compatible client connects on the first request. Backends are imported lazily so
    a worker without torch-heavy needs does not pay for them.
    Raises ConfigError when the backend's required settings are missing.
    """
    if settings.backend is GenerationBackend.NONE:
        return None
    if settings.backend is GenerationBackend.TRANSFORMERS:
        from workflowai.llm.transformers_backend import TransformersGenerator

        return TransformersGenerator(settings)
    if settings.backend is GenerationBackend.OPENAI:
        from workflowai.llm.openai_backend import OpenAIGenerator

        return OpenAIGenerator(settings)
    allowed = ", ".join(b.value for b in GenerationBackend)
    raise ValueError(f"generation backend must be one of {allowed}; got {settings.backend!r}")
