"""Prefect API client code for the CLI: trigger a deployment, wait, read its report; doctor checks.

The library (`workflowai/`) never imports Prefect, so `workflowai/cli_ops.py` imports this module
lazily inside its commands. Pools, limits and the deploy itself live in `flows/setup_ops.py`.
Prefect and HTTP failures are translated here into the errors below, so the CLI maps each to
its own exit code without knowing Prefect's exception types.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
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
from prefect.client.schemas.objects import FlowRun, StateType, WorkerStatus
from prefect.exceptions import MissingResult, ObjectNotFound, SerializationError

from workflowai.errors import AppError, ConfigError, TransientError
from workflowai.settings import Settings

FINAL_STATES = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


class ApiUnreachableError(AppError, TransientError):
    """The Prefect API did not answer (connection refused, DNS, TLS, 5xx, auth)."""


class DeploymentNotFoundError(ConfigError):
    """The deployment is not on the server: run `workflowai setup` (or `prefect deploy`)."""


class RunTimeoutError(AppError):
    """The flow run did not reach a final state in time; it keeps running on the server."""

    def __init__(self, message: str, run: RunOutcome) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class ApiTarget:
    """Where the Prefect API is and how to authenticate; `ui_url` is for links only."""

    api_url: str
    api_key: str | None
    ui_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiTarget:
        """settings.prefect first, then PREFECT_API_URL / PREFECT_API_KEY.

        Raises:
            ConfigError: no API URL anywhere (an ephemeral server cannot run a deployment).
        """
        url = settings.prefect.api_url or os.environ.get("PREFECT_API_URL")
        if not url:
            raise ConfigError(
                "no Prefect API configured: set WORKFLOWAI_PREFECT__API_URL or PREFECT_API_URL"
            )
        key = settings.prefect.api_key
        api_key = key.get_secret_value() if key else os.environ.get("PREFECT_API_KEY")
        ui = settings.prefect.ui_url or url.rstrip("/").removesuffix("/api")
        return cls(api_url=url.rstrip("/"), api_key=api_key, ui_url=ui.rstrip("/"))

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


@asynccontextmanager
async def connect(target: ApiTarget) -> AsyncIterator[PrefectClient]:
    """A client bound to `target`, health-checked first.

    Raises:
        ApiUnreachableError: the API does not answer its health check.
    """
    client = PrefectClient(target.api_url, api_key=target.api_key)
    async with client:
        problem = await client.api_healthcheck()
        if problem is not None:
            raise ApiUnreachableError(f"Prefect API {target.api_url}: {problem}") from problem
        try:
            yield client
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            raise ApiUnreachableError(f"Prefect API {target.api_url}: {exc}") from exc


def deployment_name(
    workflow_type: str, settings: Settings, params: dict[str, Any] | None = None
) -> str:
    """`<flow>/<flow>-<env>`, the names prefect.yaml gives (STYLE.md §9). An analysis that
    uses the model goes to `analyze-log-model-<env>` (GPU pool); one without stays on CPU."""
    variant = workflow_type
    wants_model = bool(params and (params.get("use_model") or params.get("agent")))
    if workflow_type == "analyze-log" and wants_model:
        variant = "analyze-log-model"
    return f"{workflow_type}/{variant}-{settings.prefect.deployment_suffix}"


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
        ApiUnreachableError, DeploymentNotFoundError: nothing was started.
        RunTimeoutError: the run is still going after `timeout_s` (`.run` says which).
    """
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


@dataclass(frozen=True)
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str


async def check_api(target: ApiTarget) -> Check:
    client = PrefectClient(target.api_url, api_key=target.api_key)
    async with client:
        problem = await client.api_healthcheck()
    if problem is not None:
        return Check("prefect api", False, f"{target.api_url}: {problem}")
    return Check("prefect api", True, target.api_url)


async def check_pools(target: ApiTarget, pools: list[str]) -> list[Check]:
    """Each pool exists and has at least one ONLINE worker (heartbeat seen recently)."""
    checks: list[Check] = []
    async with connect(target) as client:
        for pool in pools:
            try:
                await client.read_work_pool(pool)
            except ObjectNotFound:
                checks.append(Check(f"pool {pool}", False, "missing: run `workflowai setup`"))
                continue
            workers = await client.read_workers_for_work_pool(pool)
            online = [w.name for w in workers if w.status == WorkerStatus.ONLINE]
            detail = f"{len(online)} worker(s) online" + (
                f": {', '.join(online)}" if online else ""
            )
            checks.append(Check(f"pool {pool}", bool(online), detail))
    return checks
