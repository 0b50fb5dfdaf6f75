"""Idempotent setup of a Prefect server for WorkflowAI: pools, the gpu tag limit, deployments.

`workflowai setup` (and `deployments/setup.sh`) call `setup()`: it creates the `cpu` and `gpu`
process work pools with a locked base job template (`workflowai.pool_templates`: run callers
can set no command, env or working folder), locks the template of existing process pools that
are not, reports pools of other types whose template is not locked (a Kubernetes pool keeps
the template its operator loaded), upserts the `gpu` tag concurrency limit, stores the
repository folder in the Prefect variable that prefect.yaml's pull step reads, and runs
`prefect --no-prompt deploy --all` with the template values prefect.yaml expects. Running it
twice changes nothing but the limit and the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import (
    VariableCreate,
    VariableUpdate,
    WorkPoolCreate,
    WorkPoolUpdate,
)
from prefect.exceptions import ObjectNotFound

from flows.client import ApiTarget, connect
from tasks.log_storage import ensure_log_storage_block
from workflowai.errors import ConfigError
from workflowai.pool_templates import locked_process_template, template_problems
from workflowai.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
POOLS: dict[str, str] = {
    "cpu": "WorkflowAI: indexing, search, orchestration (CPU only)",
    "gpu": "WorkflowAI: model inference (analyze-log, generate); one model per GPU at a time",
}
GPU_TAG = "gpu"
REPO_DIR_VARIABLE = "workflowai_repo_dir"


@dataclass(frozen=True)
class PoolsReport:
    created: list[str]
    existing: list[str]
    # existing process pools whose template was replaced by the locked one
    locked: list[str]
    # pools of another type whose template lets run callers change what runs: pool -> problems
    unlocked: dict[str, list[str]]


@dataclass(frozen=True)
class SetupReport:
    created_pools: list[str]
    existing_pools: list[str]
    locked_pools: list[str]
    unlocked_pools: dict[str, list[str]]
    gpu_limit: int
    repo_dir: str
    deployed: bool
    deploy_output: str


async def ensure_pools(client: PrefectClient, pools: dict[str, str] = POOLS) -> PoolsReport:
    """Create missing process pools locked; lock existing process pools; report the others."""
    report = PoolsReport(created=[], existing=[], locked=[], unlocked={})
    template = locked_process_template()
    for name, description in pools.items():
        try:
            pool = await client.read_work_pool(name)
        except ObjectNotFound:
            await client.create_work_pool(
                WorkPoolCreate(
                    name=name, type="process", description=description, base_job_template=template
                )
            )
            report.created.append(name)
            continue
        report.existing.append(name)
        problems = template_problems(pool.base_job_template)
        if not problems:
            continue
        if pool.type == "process":
            await client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
            report.locked.append(name)
        else:
            report.unlocked[name] = problems
    return report


async def ensure_gpu_limit(client: PrefectClient, limit: int) -> None:
    """At most `limit` task runs tagged `gpu` at once (the server upserts by tag)."""
    if limit < 1:
        raise ConfigError(f"gpu limit must be >= 1, got {limit}")
    await client.create_concurrency_limit(tag=GPU_TAG, concurrency_limit=limit)


async def ensure_variable(client: PrefectClient, name: str, value: str) -> None:
    current = await client.read_variable_by_name(name)
    if current is None:
        await client.create_variable(VariableCreate(name=name, value=value))
    elif current.value != value:
        await client.update_variable(VariableUpdate(name=name, value=value))


def deploy_env(target: ApiTarget, settings: Settings) -> dict[str, str]:
    """The environment `prefect deploy` needs to fill prefect.yaml's `{{ $... }}` templates."""
    env = dict(os.environ)
    env["PREFECT_API_URL"] = target.api_url
    if target.api_key:
        env["PREFECT_API_KEY"] = target.api_key
    if target.auth_string:
        env["PREFECT_API_AUTH_STRING"] = target.auth_string
    # Settings already read these variables; they are the one source for the templates
    env["WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX"] = settings.prefect.deployment_suffix
    env["WORKFLOWAI_REINDEX__CRON"] = settings.reindex.cron
    env["WORKFLOWAI_REINDEX__TIMEZONE"] = settings.reindex.timezone
    env["WORKFLOWAI_HISTORY__DIGEST_CRON"] = settings.history.digest_cron
    env["WORKFLOWAI_HISTORY__DIGEST_TIMEZONE"] = settings.history.digest_timezone
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_deploy(
    target: ApiTarget,
    settings: Settings,
    repo_dir: Path = REPO_ROOT,
    prefect_file: Path | None = None,
) -> str:
    """`prefect --no-prompt deploy --all` from the repository; returns its output.

    `prefect_file` replaces the repository's prefect.yaml (a team's own variant).

    Raises:
        ConfigError: the deploy failed (its output is in the message).
    """
    args = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
    if prefect_file is not None:
        args += ["--prefect-file", str(prefect_file.resolve())]
    proc = subprocess.run(
        args,
        cwd=repo_dir,
        env=deploy_env(target, settings),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise ConfigError(f"prefect deploy failed ({proc.returncode}):\n{output[-4000:]}")
    return output


async def setup(
    target: ApiTarget,
    settings: Settings,
    *,
    gpu_limit: int = 1,
    repo_dir: Path = REPO_ROOT,
    deploy: bool = True,
    prefect_file: Path | None = None,
) -> SetupReport:
    """Pools, gpu limit, repo variable, then (optionally) the deploy. Safe to run again."""
    async with connect(target) as client:
        pools = await ensure_pools(client)
        await ensure_gpu_limit(client, gpu_limit)
        await ensure_variable(client, REPO_DIR_VARIABLE, str(repo_dir.resolve()))
        # where `trigger --file` uploads redacted logs (a local folder block when missing)
        await ensure_log_storage_block(client, settings)
    output = run_deploy(target, settings, repo_dir, prefect_file) if deploy else ""
    return SetupReport(
        created_pools=pools.created,
        existing_pools=pools.existing,
        locked_pools=pools.locked,
        unlocked_pools=pools.unlocked,
        gpu_limit=gpu_limit,
        repo_dir=str(repo_dir.resolve()),
        deployed=deploy,
        deploy_output=output,
    )
