"""OpenAIGenerator against llama.cpp's real OpenAI-compatible server, and against fault
injectors (a port nobody listens on, a server that never answers, canned bad HTTP answers)
for the failures a real server cannot be made to produce on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.llm_fixtures import (
    canned_http_server,
    free_port,
    llama_server,
    silent_server,
)
from workflowai.errors import ConfigError, GenerationError, GenerationUnavailableError, is_transient
from workflowai.llm.openai_backend import OpenAIGenerator
from workflowai.schemas import FinishReason, GenerationRequest
from workflowai.settings import GenerationBackend, GenerationSettings

COUNT = "Count from 1 to 50, separated by commas."


def _settings(url: str, **overrides: object) -> GenerationSettings:
    values: dict[str, object] = {
        "backend": GenerationBackend.OPENAI,
        "base_url": url,
        "model": "smollm2",
        "timeout_s": 60.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return GenerationSettings.model_validate(values)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(Path(tmp_path_factory.mktemp("llama"))) as url:
        yield url


@pytest.mark.integration
def test_openai_generator_answers_with_usage_and_finish_reason(server_url: str) -> None:
    generator = OpenAIGenerator(_settings(server_url))
    result = generator.generate(
        GenerationRequest(prompt="What is the capital of France?", max_tokens=40, temperature=0)
    )
    assert result.text.strip()
    assert result.prompt_tokens > 0
    assert 0 < result.completion_tokens <= 40
    assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert result.backend == "openai"
    assert result.model


@pytest.mark.integration
def test_openai_generator_respects_max_tokens(server_url: str) -> None:
    generator = OpenAIGenerator(_settings(server_url))
    result = generator.generate(GenerationRequest(prompt=COUNT, max_tokens=6, temperature=0))
    assert result.completion_tokens <= 6
    assert result.finish_reason is FinishReason.LENGTH


@pytest.mark.integration
def test_openai_generator_greedy_is_deterministic(server_url: str) -> None:
    generator = OpenAIGenerator(_settings(server_url))
    request = GenerationRequest(prompt=COUNT, max_tokens=30, temperature=0)
    assert generator.generate(request).text == generator.generate(request).text


@pytest.mark.integration
def test_openai_generator_streaming_measures_first_token(server_url: str) -> None:
    generator = OpenAIGenerator(_settings(server_url), stream=True)
    result = generator.generate(GenerationRequest(prompt=COUNT, max_tokens=12, temperature=0))
    assert result.text.strip()
    assert result.time_to_first_token_s is not None
    assert result.time_to_first_token_s <= result.seconds
    assert 0 < result.completion_tokens <= 12


def test_openai_generator_server_down_is_transient_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    generator = OpenAIGenerator(_settings(url, timeout_s=5.0))
    with pytest.raises(GenerationUnavailableError, match="unreachable") as caught:
        generator.generate(GenerationRequest(prompt="hi", max_tokens=4))
    assert url in str(caught.value)
    assert is_transient(caught.value)


def test_openai_generator_timeout_says_it_timed_out() -> None:
    """Fault injector: a server that accepts the connection and never answers."""
    with silent_server() as url:
        generator = OpenAIGenerator(_settings(url, timeout_s=0.5))
        with pytest.raises(GenerationUnavailableError, match=r"timed out after 0\.5 s"):
            generator.generate(GenerationRequest(prompt="hi", max_tokens=4))


@pytest.mark.parametrize(
    ("status", "body", "expected", "transient"),
    [
        (200, b'{"id": "x", "choices": [{"mess', "malformed answer", False),
        (200, b'{"ok": true}', "malformed answer", False),
        (400, b'{"error": {"message": "context too long"}}', "HTTP 400", False),
        (404, b'{"error": {"message": "no such model"}}', "HTTP 404", False),
        (503, b'{"error": {"message": "overloaded"}}', "HTTP 503", True),
        (429, b'{"error": {"message": "slow down"}}', "HTTP 429", True),
    ],
    ids=["truncated-json", "not-a-completion", "400", "404", "503", "429"],
)
def test_openai_generator_translates_bad_answers(
    status: int, body: bytes, expected: str, transient: bool
) -> None:
    """Fault injector: a tiny HTTP server that answers every request with a fixed body."""
    with canned_http_server(status, body) as url:
        generator = OpenAIGenerator(_settings(url, timeout_s=5.0))
        with pytest.raises(GenerationError, match=expected) as caught:
            generator.generate(GenerationRequest(prompt="hi", max_tokens=4))
    assert is_transient(caught.value) is transient
    assert url in str(caught.value)


def test_openai_generator_needs_a_url_or_a_key() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIGenerator(GenerationSettings(backend=GenerationBackend.OPENAI))
