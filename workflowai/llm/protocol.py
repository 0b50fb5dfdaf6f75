"""The generator protocol, implemented by the transformers and OpenAI-compatible backends."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from workflowai.schemas import Generation, GenerationRequest, ModelInfo


@runtime_checkable
class Generator(Protocol):
    def generate(self, request: GenerationRequest) -> Generation:
        """Raises GenerationError (GenerationUnavailableError when worth retrying)."""

    def info(self) -> ModelInfo: ...
