"""`generate` end to end with the real SmolLM2-135M transformers backend (GGUF, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.execute import execute_flow
from flows.generate import generate_flow
from workflowai.errors import ConfigError
from workflowai.llm.transformers_backend import smollm2_gguf_path
from workflowai.params import ExecuteParams, GenerateParams
from workflowai.schemas import FinishReason, Generation


@pytest.fixture
def smollm2(workflowai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = smollm2_gguf_path()
    monkeypatch.setenv("WORKFLOWAI_GENERATION__BACKEND", "transformers")
    monkeypatch.setenv("WORKFLOWAI_GENERATION__MODEL", str(gguf.parent))
    monkeypatch.setenv("WORKFLOWAI_GENERATION__GGUF_FILE", gguf.name)
    monkeypatch.setenv("WORKFLOWAI_GENERATION__DEVICE", "cpu")


@pytest.mark.slow
@pytest.mark.usefixtures("smollm2")
def test_generate_flow_returns_text_from_the_real_model() -> None:
    generation = generate_flow(
        GenerateParams(prompt="Name one CI system.", max_tokens=8, temperature=0.0)
    )
    assert isinstance(generation, Generation)
    assert generation.backend == "transformers"
    assert generation.text.strip()
    assert 1 <= generation.completion_tokens <= 8
    assert generation.finish_reason in {FinishReason.STOP, FinishReason.LENGTH}


@pytest.mark.slow
@pytest.mark.usefixtures("smollm2")
def test_execute_runs_generate_as_a_subflow() -> None:
    result = execute_flow(
        ExecuteParams(
            workflow_type="generate",
            parameters={"messages": [{"role": "user", "content": "Say ok."}], "max_tokens": 4},
        )
    )
    assert isinstance(result, Generation)
    assert result.completion_tokens <= 4


@pytest.mark.usefixtures("workflowai_home")
def test_generate_flow_without_a_backend_says_how_to_configure_one() -> None:
    with pytest.raises(ConfigError, match="WORKFLOWAI_GENERATION__BACKEND=transformers"):
        generate_flow(GenerateParams(prompt="hello"))
