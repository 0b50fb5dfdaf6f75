"""The `generate` workflow: text from the configured model for a prompt or chat messages."""

from __future__ import annotations

from prefect import flow

from flows.results import PERSIST_JSON
from tasks.generation import generate_text
from workflowai.params import GenerateParams
from workflowai.schemas import Generation, GenerationRequest
from workflowai.settings import Settings


@flow(name="generate", flow_run_name="generate-{params.run_label}", **PERSIST_JSON)
def generate_flow(params: GenerateParams) -> Generation:
    settings = Settings()
    request = GenerationRequest.model_validate(params.model_dump())
    return generate_text(request, settings)
