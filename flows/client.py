"""Prefect API client code for the CLI: trigger a deployment, wait, read its report; doctor checks.

The library (`workflowai/`) never imports Prefect, so `workflowai/cli_ops.py` imports this module
lazily inside its commands. Pools, limits and the deploy itself live in `flows/client_setup.py`.
Prefect and HTTP failures are translated here into the errors of `workflowai.api_errors`
(never formatted with a response body), so the CLI maps each to its own exit code without
knowing Prefect's exception types. Every client sends the auth string (basic auth) or the API
key of the `ApiTarget`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import MissingResult, ObjectNotFound, SerializationError

from workflowai.api_errors import (
    ApiAuthError,
    ApiRefusedError,
    ApiUnreachableError,
    ParametersTooLargeError,
    check_parameter_size,
    translate,
)
from workflowai.errors import AppError, ConfigError
from workflowai.settings import Settings

__all__ = [
    "ApiAuthError",
    "ApiRefusedError",
    "ApiTarget",
    "ApiUnreachableError",
    "DeploymentNotFoundError",
    "ParametersTooLargeError",
    "RunTimeoutError",
]

FINAL_STATES = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


class DeploymentNotFoundError(ConfigError):
    """The deployment is not on the server: run `workflowai setup` (or `prefect deploy`)."""


class RunTimeoutError(AppError):
    """The flow run did not reach a final state in time; it keeps running on the server."""

    def __init__(self, message: str, run: RunOutcome) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class ApiTarget:
    """Where the Prefect API is and how to authenticate; `ui_url` is for links only.

    `auth_string` ("user:password", Prefect's basic auth) wins over `api_key` (bearer), as in
    Prefect's own client; neither appears in the repr.
    """

    api_url: str
    api_key: str | None = field(default=None, repr=False)
    ui_url: str = ""
    auth_string: str | None = field(default=None, repr=False)
    max_parameter_bytes: int = 512 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiTarget:
        """settings.prefect first, then PREFECT_API_URL / PREFECT_API_KEY / PREFECT_API_AUTH_STRING.

        Raises:
            ConfigError: no API URL anywhere (an ephemeral server cannot run a deployment).
        """
        prefect = settings.prefect
        url = prefect.api_url or os.environ.get("PREFECT_API_URL")
        if not url:
            raise ConfigError(
                "no Prefect API configured: set WORKFLOWAI_PREFECT__API_URL or PREFECT_API_URL"
            )
        key = prefect.api_key
        api_key = key.get_secret_value() if key else os.environ.get("PREFECT_API_KEY")
        auth = prefect.auth_string
        auth_string = auth.get_secret_value() if auth else os.environ.get("PREFECT_API_AUTH_STRING")
        ui = prefect.ui_url or url.rstrip("/").removesuffix("/api")
        return cls(
            api_url=url.rstrip("/"),
            api_key=api_key or None,
            ui_url=ui.rstrip("/"),
            auth_string=auth_string or None,
            max_parameter_bytes=prefect.max_parameter_bytes,
        )

    @property
    def credentials(self) -> str:
        """Which credentials are sent, for messages (never their value)."""
        if self.auth_string:
            return "auth string"
        return "API key" if self.api_key else "no credentials"

    def client(self) -> PrefectClient:
        return PrefectClient(self.api_url, api_key=self.api_key, auth_string=self.auth_string)

    def run_link(self, flow_run_id: UUID) -> str:
        return f"{self.ui_url}/runs/flow-run/{flow_run_id}"


@dataclass(frozen=True)
class RunOutcome:
    flow_run_id: UUID
    name: str
    state: str
    state_type: str
    link: str
    markdown: str | None = None
    result: Any = None

    @property
    def succeeded(self) -> bool:
        return self.state_type == StateType.COMPLETED.value


async def _reach(client: PrefectClient, target: ApiTarget) -> None:
    """Health first (unauthenticated on Prefect's server), then one call that needs auth.

    Raises:
        ApiUnreachableError: no answer; ApiAuthError: the credentials were refused.
    """
    problem = await client.api_healthcheck()
    if isinstance(problem, httpx.HTTPError):
        raise translate(problem, target.api_url) from problem
    if problem is not None:
        raise ApiUnreachableError(
            f"Prefect API {target.api_url}: {type(problem).__name__}"
        ) from problem
    try:
        await client.hello()
    except httpx.HTTPError as exc:
        raise translate(exc, target.api_url) from exc


@asynccontextmanager
async def connect(target: ApiTarget) -> AsyncIterator[PrefectClient]:
    """A client bound to `target`, health- and auth-checked first.

    Raises:
        ApiUnreachableError: no answer, 5xx or 429.
        ApiAuthError: 401/403, here or on any later call.
        ApiRefusedError: a later call was refused (other 4xx).
    """
    async with target.client() as client:
        await _reach(client, target)
        try:
            yield client
        except httpx.HTTPError as exc:
            raise translate(exc, target.api_url) from exc


def deployment_name(workflow_type: str, settings: Settings) -> str:
    """`<flow>/<flow>-<env>`, the names prefect.yaml gives (STYLE.md §9)."""
    return f"{workflow_type}/{workflow_type}-{settings.prefect.deployment_suffix}"


async def _deployment_id(client: PrefectClient, name: str) -> UUID:
    try:
        return (await client.read_deployment_by_name(name)).id
    except ObjectNotFound as exc:
        raise DeploymentNotFoundError(
            f"deployment {name!r} not found: run `workflowai setup`"
        ) from exc


async def create_run(
    client: PrefectClient, name: str, parameters: dict[str, Any], tags: list[str] | None = None
) -> FlowRun:
    """Create a flow run of deployment `name` ("flow/deployment") with `parameters`."""
    deployment_id = await _deployment_id(client, name)
    return await client.create_flow_run_from_deployment(
        deployment_id, parameters=parameters, tags=tags or []
    )


async def wait_for_run(
    client: PrefectClient, flow_run_id: UUID, timeout_s: float, poll_s: float = 1.0
) -> FlowRun:
    """Poll until the run is final or `timeout_s` passes; returns the last read of the run."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = await client.read_flow_run(flow_run_id)
        if run.state_type in FINAL_STATES or time.monotonic() >= deadline:
            return run
        await asyncio.sleep(poll_s)


async def run_markdown(client: PrefectClient, flow_run_id: UUID) -> str | None:
    """The newest markdown artifact of the run or of its subflow runs (`execute` nests them)."""
    children = await client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
        )
    )
    run_ids = [flow_run_id, *(child.id for child in children)]
    artifacts = await client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=run_ids))
    )
    markdowns = [a for a in artifacts if a.type == "markdown" and isinstance(a.data, str)]
    if not markdowns:
        return None
    markdowns.sort(key=lambda a: a.created or 0)
    return str(markdowns[-1].data)


async def run_result(run: FlowRun) -> Any:
    """The run's return value as JSON-able data, or None when it was not persisted/readable."""
    if run.state is None or run.state_type != StateType.COMPLETED:
        return None
    try:
        value = await run.state.aresult(raise_on_failure=False)  # type: ignore[attr-defined]
    except (MissingResult, SerializationError, OSError, ValueError):
        # not persisted, or stored where this machine cannot read it: the run still passed
        return None
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    try:
        json.dumps(value)
    except TypeError:
        return None
    return value


async def trigger(
    target: ApiTarget,
    name: str,
    parameters: dict[str, Any],
    *,
    wait: bool,
    timeout_s: float,
    poll_s: float = 1.0,
) -> RunOutcome:
    """Create a run of deployment `name`; with `wait`, wait and read its report.

    Raises:
        ParametersTooLargeError: over `target.max_parameter_bytes`; checked before connecting.
        ApiUnreachableError, ApiAuthError, ApiRefusedError, DeploymentNotFoundError: nothing
            was started.
        RunTimeoutError: the run is still going after `timeout_s` (`.run` says which).
    """
    check_parameter_size(parameters, target.max_parameter_bytes)
    async with connect(target) as client:
        run = await create_run(client, name, parameters)
        if wait:
            run = await wait_for_run(client, run.id, timeout_s, poll_s)
        outcome = RunOutcome(
            flow_run_id=run.id,
            name=run.name,
            state=run.state_name or "",
            state_type=run.state_type.value if run.state_type else "",
            link=target.run_link(run.id),
        )
        if not wait:
            return outcome
        if run.state_type not in FINAL_STATES:
            raise RunTimeoutError(
                f"run {run.name} still {run.state_name} after {timeout_s}s", outcome
            )
        return replace(
            outcome, markdown=await run_markdown(client, run.id), result=await run_result(run)
        )
