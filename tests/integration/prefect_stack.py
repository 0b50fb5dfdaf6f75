"""One real Prefect stack for the integration tests: server, setup + deploy, a worker per pool.

Loaded as a plugin (`pytest_plugins = ["tests.integration.prefect_stack"]` in each test module)
so the session fixture is defined once and the stack starts once for the e2e and browser
tests. The knowledge base is the embedded SQLite store under a temporary WORKFLOWAI_HOME and
there is no LLM on the `cpu`/`gpu` workers. The pools take no env from run callers, so a test
that needs other settings adds a pool whose worker has them (`add_pool`) and a copy of a
deployment on it (`copy_deployment`), as an operator would. Workers stop with SIGINT and the
server by PID in teardown, also when a test fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from workflowai.local_stack import LocalStack
from workflowai.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SUFFIX = "it"
POOLS = ("cpu", "gpu")

BUILD_LOG = """\
2026-11-24T08:00:01Z ##[group]Run npm ci
2026-11-24T08:00:02Z npm WARN deprecated inflight@1.0.6: This module is not supported
2026-11-24T08:00:05Z npm ERR! code ERESOLVE
2026-11-24T08:00:05Z npm ERR! ERESOLVE unable to resolve dependency tree
2026-11-24T08:00:05Z npm ERR! Found: react@18.2.0
2026-11-24T08:00:05Z npm ERR! Could not resolve dependency:
2026-11-24T08:00:05Z npm ERR! peer react@"^17.0.0" from react-dom@17.0.2
2026-11-24T08:00:06Z ##[error]Process completed with exit code 1.
"""


@dataclass
class PrefectStack:
    stack: LocalStack
    settings: Settings
    workflowai_home: Path
    setup_output: str
    build_log: str = BUILD_LOG

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    @property
    def ui_url(self) -> str:
        return self.stack.ui_url

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess that talks to this stack."""
        env = self.stack.env()
        env["WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX"] = SUFFIX
        return env

    def upload_log(self, text: str) -> dict[str, Any]:
        """`text` redacted, packed and uploaded as `trigger --file` does; its reference."""
        from flows.client import ApiTarget
        from flows.log_upload import upload_jobs
        from workflowai.logpack import prepare_log
        from workflowai.trigger_inputs import PreparedJob

        target = ApiTarget(api_url=self.api_url, api_key=None, ui_url=self.ui_url)
        job = PreparedJob(name="job", log=prepare_log(text.encode(), self.settings.analysis))
        (uploaded,) = upload_jobs(target, self.settings, [job])
        return uploaded.log_ref.model_dump()

    def deployment(self, workflow_type: str) -> str:
        return f"{workflow_type}/{workflow_type}-{SUFFIX}"

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    async def start_run(
        self, workflow_type: str, params: dict[str, Any], deployment: str | None = None
    ) -> UUID:
        """create_flow_run_from_deployment through the REST API client."""
        from prefect.client.orchestration import PrefectClient

        async with PrefectClient(self.api_url) as client:
            found = await client.read_deployment_by_name(
                deployment or self.deployment(workflow_type)
            )
            run = await client.create_flow_run_from_deployment(
                found.id, parameters={"params": params}
            )
            return run.id

    def add_pool(
        self, pool: str, worker_env: dict[str, str], template: dict[str, Any] | None = None
    ) -> None:
        """A process pool (locked unless `template` says otherwise) and one worker with
        `worker_env`, online before this returns."""
        from prefect.client.orchestration import PrefectClient
        from prefect.client.schemas.actions import WorkPoolCreate

        from workflowai.pool_templates import locked_process_template

        async def create() -> None:
            async with PrefectClient(self.api_url) as client:
                await client.create_work_pool(
                    WorkPoolCreate(
                        name=pool,
                        type="process",
                        base_job_template=template or locked_process_template(),
                    )
                )

        self.run(create())
        self.stack.start_worker(pool, env=worker_env)
        _wait_for_workers(self.stack, (pool,))

    def copy_deployment(self, workflow_type: str, pool: str) -> str:
        """The `workflow_type` deployment again, on `pool`; returns its full name."""
        from prefect.client.orchestration import PrefectClient

        async def copy() -> str:
            async with PrefectClient(self.api_url) as client:
                original = await client.read_deployment_by_name(self.deployment(workflow_type))
                name = f"{original.name}-{pool}"
                await client.create_deployment(
                    flow_id=original.flow_id,
                    name=name,
                    work_pool_name=pool,
                    work_queue_name="default",
                    entrypoint=original.entrypoint,
                    path=original.path,
                    pull_steps=original.pull_steps,
                    parameter_openapi_schema=original.parameter_openapi_schema,
                    # not tagged `workflowai`: tests list the deployments setup made by that tag
                    tags=["test-copy"],
                )
                return f"{workflow_type}/{name}"

        return self.run(copy())

    async def wait_final(self, flow_run_id: UUID, timeout_s: float = 180.0) -> Any:
        from prefect.client.orchestration import PrefectClient

        from flows.client import wait_for_run

        async with PrefectClient(self.api_url) as client:
            return await wait_for_run(client, flow_run_id, timeout_s, poll_s=0.5)


def _wait_for_workers(
    stack: LocalStack, pools: tuple[str, ...] = POOLS, timeout_s: float = 60.0
) -> None:
    from flows.client import ApiTarget
    from flows.client_checks import check_pools

    target = ApiTarget(api_url=stack.api_url, ui_url=stack.ui_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        checks = asyncio.run(check_pools(target, list(pools)))
        # the worker lines only: a test may add a pool with an unlocked template on purpose
        if all(check.ok for check in checks if not check.name.endswith(" jobs")):
            return
        time.sleep(0.5)
    tails = "\n".join(stack.log_tail(f"worker-{pool}") for pool in pools)
    raise RuntimeError(f"workers did not come online:\n{tails}")


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    from flows.client import ApiTarget
    from flows.client_setup import setup

    root = tmp_path_factory.mktemp("prefect-stack")
    home = root / "workflowai-home"
    worker_env = {
        "WORKFLOWAI_HOME": str(home),
        "WORKFLOWAI_GENERATION__BACKEND": "none",
        "WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX": SUFFIX,
        # reads the embedding model from the installed package, never the hub
        "HF_HUB_OFFLINE": "1",
    }
    stack = LocalStack(
        home=root / "stack",
        worker_query_seconds=1.0,
        extra_env=worker_env,
        server_env={"PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": "1"},
    )
    try:
        # a fresh database migrates first: on a busy 2-core machine that takes minutes
        stack.start_server(timeout_s=300)
        settings = Settings(home=home)
        settings = settings.model_copy(
            update={
                "prefect": settings.prefect.model_copy(
                    update={"api_url": stack.api_url, "deployment_suffix": SUFFIX}
                )
            }
        )
        target = ApiTarget.from_settings(settings)
        report = asyncio.run(setup(target, settings, gpu_limit=1))
        stack.start_workers(POOLS)
        _wait_for_workers(stack)
        yield PrefectStack(stack, settings, home, report.deploy_output)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def analyze_run(prefect_stack: PrefectStack) -> Any:
    """One analyze-log run created through the REST API and waited for (shared: each run costs
    a worker subprocess that loads the embedding model)."""
    log_ref = prefect_stack.upload_log(prefect_stack.build_log)
    run_id = prefect_stack.run(prefect_stack.start_run("analyze-log", {"log_ref": log_ref}))
    # the first run indexes the starter knowledge base: minutes on a loaded 2-core machine
    return prefect_stack.run(prefect_stack.wait_final(run_id, timeout_s=600))
