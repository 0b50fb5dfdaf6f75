"""`OpenAIGenerator`: any OpenAI-compatible chat server (vLLM, llama.cpp's server, OpenAI).

Built on langchain-openai's ChatOpenAI so the agent can bind tools to the same client. The
client's own timeout and retries are set explicitly from settings and kept low: Prefect task
retries own retrying, and attempts would multiply otherwise.

Engine failures are translated here (`translate_errors`), never leaked:
- connection refused / server down, 429, 5xx -> GenerationUnavailableError (transient);
- timeout -> GenerationUnavailableError saying it timed out after N s;
- other HTTP 4xx, a malformed response body -> GenerationError.

OpenAI-compatible servers report a stop sequence as finish reason `stop`, like an end of
turn, so this backend never returns `stop_sequence` (the transformers backend does).

A request's `json_schema` goes out as `response_format` (the server then decodes with a
grammar): `{"type": "json_schema", ...}`, the form OpenAI, vLLM, SGLang and llama.cpp's
llama-server read, or llama-cpp-python's (`{"type": "json_object", "schema": ...}`), or nothing;
`generation.response_format` names one, or `auto` (the default) tries them in that order and
keeps the first the server takes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import openai
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from workflowai.errors import ConfigError, GenerationError, GenerationUnavailableError
from workflowai.schemas import (
    ChatMessage,
    FinishReason,
    Generation,
    GenerationRequest,
    ModelInfo,
    Role,
)
from workflowai.settings import GenerationSettings, ResponseFormat

BACKEND = "openai"
# local servers (llama.cpp, vLLM without --api-key) need no key, but the client requires one
PLACEHOLDER_API_KEY = "not-needed"
_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
}


@contextmanager
def translate_errors(url: str, timeout_s: float) -> Iterator[None]:
    """Turn SDK/HTTP failures of a call to `url` into our error tree (`raise ... from`)."""
    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException) as exc:
        raise GenerationUnavailableError(
            f"generation server {url} timed out after {timeout_s:g} s"
        ) from exc
    except (openai.APIConnectionError, httpx.TransportError) as exc:
        raise GenerationUnavailableError(
            f"generation server {url} is unreachable (connection refused or dropped): {exc}"
        ) from exc
    except openai.APIStatusError as exc:
        status = exc.status_code
        message = f"generation server {url} answered HTTP {status}: {exc.message}"
        if status in (408, 429) or status >= 500:
            raise GenerationUnavailableError(message) from exc
        raise GenerationError(message) from exc
    except openai.APIError as exc:
        raise GenerationError(f"generation server {url} failed: {exc}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        # the SDK raises these when the body is not a chat completion (invalid JSON, no choices)
        raise GenerationError(
            f"generation server {url} sent a malformed answer ({type(exc).__name__}: {exc})"
        ) from exc


def refuses_response_format(exc: GenerationError) -> bool:
    """Whether the server answered an HTTP error about the request's `response_format` (not a
    timeout or a dropped connection, which say nothing about it)."""
    return isinstance(exc.__cause__, openai.APIStatusError) and "response_format" in str(exc)


def to_langchain_messages(chat: Sequence[ChatMessage]) -> list[BaseMessage]:
    """Our chat messages as LangChain messages (tool messages are not part of a request)."""
    kinds = {Role.SYSTEM: SystemMessage, Role.USER: HumanMessage, Role.ASSISTANT: AIMessage}
    out: list[BaseMessage] = []
    for message in chat:
        if message.role not in kinds:
            raise ValueError(f"role {message.role} cannot start a chat; use system/user/assistant")
        out.append(kinds[message.role](content=message.content))
    return out


def usage_of(message: AIMessage) -> tuple[int, int] | None:
    """(prompt, completion) tokens the server reported, or None when it reported none."""
    usage = message.usage_metadata
    if usage:
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return None


def finish_reason_of(message: AIMessage) -> FinishReason:
    if message.tool_calls:
        return FinishReason.TOOL_CALLS
    raw = message.response_metadata.get("finish_reason")
    return _FINISH.get(str(raw), FinishReason.STOP)


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible HTTP API; construction makes no request.

    `stream=True` streams the answer to measure the time to first token; servers that do not
    report usage while streaming (llama.cpp) then get completion tokens counted as content
    chunks (one token each there) and prompt tokens 0.
    """

    def __init__(self, settings: GenerationSettings, *, stream: bool = False) -> None:
        if settings.base_url is None and settings.api_key is None:
            raise ConfigError(
                "the openai backend needs generation.base_url (a local server) or "
                "generation.api_key (OpenAI itself)"
            )
        self._settings = settings
        self._stream = stream
        # response_format forms this server refused (auto tries the next one)
        self._refused: set[ResponseFormat] = set()
        self.url = settings.base_url or "https://api.openai.com/v1"

    @property
    def settings(self) -> GenerationSettings:
        return self._settings

    def chat_model(
        self,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        timeout_s: float | None = None,
    ) -> ChatOpenAI:
        """A ChatOpenAI configured from settings; arguments override the sampling defaults."""
        s = self._settings
        tokens = max_tokens if max_tokens is not None else s.max_tokens
        extra: dict[str, Any] = {}
        if s.base_url is not None:
            # ChatOpenAI sends max_completion_tokens, which llama.cpp's server ignores;
            # compatible servers read max_tokens (OpenAI itself rejects some models with both)
            extra["max_tokens"] = tokens
        return ChatOpenAI(
            model=s.model,
            base_url=s.base_url,
            api_key=s.api_key or SecretStr(PLACEHOLDER_API_KEY),
            timeout=timeout_s if timeout_s is not None else s.timeout_s,
            max_retries=s.max_retries,
            max_tokens=tokens,
            temperature=temperature if temperature is not None else s.temperature,
            top_p=top_p if top_p is not None else s.top_p,
            stop=stop or None,
            seed=seed,
            extra_body=extra or None,
            stream_usage=True,
        )

    @staticmethod
    def response_format(
        schema: dict[str, Any] | None, form: ResponseFormat
    ) -> dict[str, Any] | None:
        """The request body's `response_format` for `schema` in `form` (None: nothing to send)."""
        if schema is None or form in (ResponseFormat.NONE, ResponseFormat.AUTO):
            return None
        if form is ResponseFormat.JSON_OBJECT:
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}

    def errors(self, timeout_s: float | None = None) -> Any:
        """Context manager translating this server's failures (see `translate_errors`)."""
        limit = timeout_s if timeout_s is not None else self._settings.timeout_s
        return translate_errors(self.url, limit)

    def info(self) -> ModelInfo:
        return ModelInfo(
            backend=BACKEND,
            model=self._settings.model,
            extra={"base_url": self.url, "stream": self._stream},
        )

    def response_formats(self, schema: dict[str, Any] | None) -> list[ResponseFormat]:
        """The forms to try for `schema`, in order; NONE last (sends nothing)."""
        mode = self._settings.response_format
        if schema is None or mode is ResponseFormat.NONE:
            return [ResponseFormat.NONE]
        if mode is not ResponseFormat.AUTO:
            return [mode]
        forms = [ResponseFormat.JSON_SCHEMA, ResponseFormat.JSON_OBJECT, ResponseFormat.NONE]
        return [f for f in forms if f not in self._refused]

    def generate(self, request: GenerationRequest) -> Generation:
        """Raises GenerationUnavailableError (server down, timeout, 429/5xx) or GenerationError.

        With `response_format` auto, a server that refuses a form of `response_format` (its
        error names it: llama-cpp-python answers HTTP 500 to json_schema) is asked again with
        the next form; the refusal is remembered for this generator's life (a process's).
        """
        refusal = ""
        for form in self.response_formats(request.json_schema):
            try:
                return self._generate(request, self.response_format(request.json_schema, form))
            except GenerationError as exc:
                if not refuses_response_format(exc):
                    raise
                self._refused.add(form)
                refusal = f"{exc}; the server does not take response_format {form.value}"
        # only a named form gets here (auto ends with none, which sends nothing to refuse);
        # raised outside the handler, so that no transient cause is chained to it: some servers
        # answer a refused response_format with HTTP 500, and retrying cannot help
        raise GenerationError(
            f"{refusal}: set generation.response_format to auto (tries each form), json_object "
            "or none"
        )

    def _generate(
        self, request: GenerationRequest, response_format: dict[str, Any] | None
    ) -> Generation:
        messages = to_langchain_messages(request.chat())
        model = self.chat_model(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=request.stop,
            seed=request.seed,
        )
        if response_format is not None:
            model.extra_body = {**(model.extra_body or {}), "response_format": response_format}
        start = time.perf_counter()
        first: float | None = None
        chunks = 0
        with self.errors():
            if self._stream:
                answer: AIMessageChunk | None = None
                for chunk in model.stream(messages):
                    if chunk.content:
                        chunks += 1
                        if first is None:
                            first = time.perf_counter() - start
                    answer = chunk if answer is None else answer + chunk
                if answer is None:
                    raise GenerationError(f"generation server {self.url} streamed no answer")
                message: AIMessage = answer
            else:
                message = model.invoke(messages)
        seconds = time.perf_counter() - start
        if not isinstance(message.content, str):
            raise GenerationError(f"generation server {self.url} answered non-text content")
        prompt_tokens, completion_tokens = usage_of(message) or (0, chunks)
        return Generation(
            text=message.content,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason_of(message),
            model=str(message.response_metadata.get("model_name") or self._settings.model),
            backend=BACKEND,
            seconds=seconds,
            time_to_first_token_s=first,
        )
