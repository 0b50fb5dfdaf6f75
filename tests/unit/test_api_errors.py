"""HTTP failures of the Prefect API become our errors without the response body.

The responses are real `httpx.Response` objects shaped like the Prefect server's answers (the
422 body below is what `POST /deployments/{id}/create_flow_run` returns for a parameter over
PREFECT_SERVER_API_MAX_PARAMETER_SIZE: the whole parameter comes back in `input` and
`request_body`). tests/integration/test_prefect_api_edge.py gets the same answers from a real
server.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from workflowai.api_errors import (
    ApiAuthError,
    ApiRefusedError,
    ApiUnreachableError,
    ParametersTooLargeError,
    check_parameter_size,
    error_text,
    parameter_bytes,
    translate,
)

API = "http://127.0.0.1:4200/api"
# built at run time: a fake token in the shape of a GitHub personal access token
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
BIG_LOG = ("npm ERR! code ERESOLVE\n" + f"export GITHUB_TOKEN={TOKEN}\n") * 20_000


def _status_error(status: int, body: Any) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", f"{API}/deployments/0f0f/create_flow_run")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.Response(status, content=content, request=request)
    return httpx.HTTPStatusError(
        f"{status} with body {content[:100]!r}", request=request, response=response
    )


OVERSIZED = {
    "exception_message": "Invalid request received.",
    "exception_detail": [
        {
            "type": "value_error",
            "loc": ["body", "parameters"],
            "msg": "Value error, Flow run parameters must be less than 524,288 bytes when "
            "serialized (got 1,234,567 bytes).",
            "input": {"params": {"log_text": BIG_LOG}},
        }
    ],
    "request_body": {"parameters": {"params": {"log_text": BIG_LOG}}},
}


@pytest.mark.parametrize(
    ("status", "body", "error", "expected"),
    [
        (422, OVERSIZED, ApiRefusedError, "less than 524,288 bytes"),
        (422, OVERSIZED, ApiRefusedError, "422 Unprocessable Entity"),
        (404, {"detail": "Deployment not found"}, ApiRefusedError, "Deployment not found"),
        (409, {"detail": "Data integrity conflict."}, ApiRefusedError, "409 Conflict"),
        (401, {"exception_message": "Unauthorized"}, ApiAuthError, "AUTH_STRING"),
        (403, b"forbidden", ApiAuthError, "403 Forbidden"),
        (503, {"detail": "database is locked"}, ApiUnreachableError, "503"),
        (429, b"slow down", ApiUnreachableError, "429 Too Many Requests"),
        (400, b"<html>not json</html>", ApiRefusedError, "400 Bad Request"),
    ],
)
def test_translate_keeps_status_and_error_text_only(
    status: int, body: Any, error: type[Exception], expected: str
) -> None:
    translated = translate(_status_error(status, body), API)
    assert type(translated) is error
    message = str(translated)
    assert expected in message
    assert TOKEN not in message
    assert "<html>" not in message
    assert len(message) < 600


def test_translate_never_echoes_the_input_of_a_422() -> None:
    message = str(translate(_status_error(422, OVERSIZED), API))
    assert "ERESOLVE" not in message and "request_body" not in message


def test_error_text_bounds_and_redacts_long_messages() -> None:
    body = {"detail": f"Flow run parameter 'token' is invalid: {TOKEN} " + "x" * 2000}
    text = error_text(_status_error(422, body).response)
    assert TOKEN not in text
    assert len(text) <= 300


def test_translate_transport_errors_as_unreachable() -> None:
    request = httpx.Request("GET", f"{API}/health")
    error = translate(httpx.ConnectError("All connection attempts failed", request=request), API)
    assert isinstance(error, ApiUnreachableError)
    assert "ConnectError" in str(error) and API in str(error)


@pytest.mark.parametrize(
    ("parameters", "limit", "refused"),
    [
        ({"params": {"query": "x"}}, 100, False),
        ({"params": {"log_text": "é" * 60}}, 100, True),  # bytes, not characters
        ({"params": {"log_text": BIG_LOG}}, 512 * 1024, True),
        ({"params": {"log_text": BIG_LOG}}, 0, False),  # 0: no limit, as on the server
    ],
)
def test_check_parameter_size_measures_like_the_server(
    parameters: dict[str, Any], limit: int, refused: bool
) -> None:
    if refused:
        with pytest.raises(ParametersTooLargeError) as info:
            check_parameter_size(parameters, limit)
        assert f"{parameter_bytes(parameters):,} bytes" in str(info.value)
        assert TOKEN not in str(info.value)
    else:
        check_parameter_size(parameters, limit)


def test_parameter_bytes_is_compact_json() -> None:
    assert parameter_bytes({"a": [1, 2]}) == len('{"a":[1,2]}')
