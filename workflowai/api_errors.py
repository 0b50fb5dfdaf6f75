"""Errors at the Prefect API edge, and how HTTP failures turn into them without leaking.

A 4xx answer of the Prefect API can echo the whole request: a 422 for an oversized parameter
carries the parameter itself (2 MB of log, secrets included) in `exception_detail[].input` and
`request_body`, and Prefect's own `PrefectHTTPStatusError` puts that body into its message.
So nothing here ever formats an exception or a response body: `translate` keeps the status,
the reason phrase and at most a few short, redacted error messages (`error_text`).

The CLI maps each error to its own exit code (`workflowai/cli_ops.py`, deployments/README.md):
unreachable (retry later) is not refused input (fix the call) is not refused credentials.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from workflowai.errors import AppError, ConfigError, TransientError

# error text kept from a 4xx answer: enough for "Flow run parameters must be less than ..."
MAX_ERROR_CHARS = 300
MAX_ERROR_ITEMS = 3


class ApiUnreachableError(AppError, TransientError):
    """The Prefect API did not answer usefully: connection refused, DNS, TLS, timeout, 5xx/429."""


class ApiAuthError(ConfigError):
    """The Prefect API refused the credentials (401/403): auth string or API key missing/wrong."""


class ApiRefusedError(AppError):
    """The Prefect API (or the client, before sending) refused the input: 4xx, or too large."""


class ParametersTooLargeError(ApiRefusedError):
    """The run's parameters are larger than the API accepts; checked before anything is sent."""


def parameter_bytes(parameters: dict[str, Any]) -> int:
    """Size of `parameters` as the Prefect server measures it (compact JSON, UTF-8)."""
    return len(json.dumps(parameters, separators=(",", ":"), default=str).encode())


def check_parameter_size(parameters: dict[str, Any], max_bytes: int) -> None:
    """Refuse parameters the server would refuse (0: no limit).

    Raises:
        ParametersTooLargeError: over `max_bytes`; the message gives sizes, never content.
    """
    size = parameter_bytes(parameters)
    if max_bytes and size > max_bytes:
        raise ParametersTooLargeError(
            f"the run's parameters are {size:,} bytes, over the API's limit of {max_bytes:,} "
            "(WORKFLOWAI_PREFECT__MAX_PARAMETER_BYTES, the server's "
            "PREFECT_SERVER_API_MAX_PARAMETER_SIZE); nothing was sent"
        )


def _short(text: str) -> str:
    from workflowai.analysis.redact import redact_text

    flat = " ".join(text.split())
    if len(flat) > MAX_ERROR_CHARS:
        flat = flat[: MAX_ERROR_CHARS - 3] + "..."
    return redact_text(flat)[0]


def _messages(payload: Any) -> list[str]:
    """The human-readable parts of a Prefect/FastAPI error body, never its echoed input."""
    if not isinstance(payload, dict):
        return []
    found: list[str] = []
    for key in ("exception_message", "detail"):
        value = payload.get(key)
        if isinstance(value, str):
            found.append(value)
    for key in ("exception_detail", "detail"):
        items = payload.get(key)
        if not isinstance(items, list):
            continue
        for item in items[:MAX_ERROR_ITEMS]:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
                found.append(f"{where}: {item['msg']}" if where else item["msg"])
    return found


def error_text(response: httpx.Response) -> str:
    """Short, redacted error text of a 4xx/5xx answer: its messages, not its body."""
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    return "; ".join(_short(message) for message in _messages(payload))


def _status_line(response: httpx.Response) -> str:
    reason = response.reason_phrase or ""
    return f"{response.status_code} {reason}".strip()


def translate(exc: httpx.HTTPError, api_url: str) -> AppError:
    """Our error for an httpx failure talking to `api_url`; the message never holds a body.

    401/403 -> ApiAuthError; 429 and 5xx -> ApiUnreachableError (transient); other 4xx ->
    ApiRefusedError; transport failures (refused, DNS, TLS, timeout) -> ApiUnreachableError.
    """
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        status = response.status_code
        line = _status_line(response)
        if status in (401, 403):
            return ApiAuthError(
                f"Prefect API {api_url} refused the credentials ({line}): set "
                "WORKFLOWAI_PREFECT__AUTH_STRING (PREFECT_API_AUTH_STRING) for a server with "
                "basic auth, or WORKFLOWAI_PREFECT__API_KEY (PREFECT_API_KEY)"
            )
        if status == 429 or status >= 500:
            return ApiUnreachableError(f"Prefect API {api_url} answered {line}")
        text = error_text(response)
        message = f"Prefect API refused the request ({line})"
        return ApiRefusedError(f"{message}: {text}" if text else message)
    # the message of a transport error names the failure, not data (e.g. "All connection
    # attempts failed"); the class name says which kind
    detail = _short(str(exc)) or "no answer"
    return ApiUnreachableError(f"Prefect API {api_url}: {type(exc).__name__}: {detail}")
