"""`workflowai doctor`'s checks of the Prefect side: API answers, credentials, pools, workers.

One `Check` per line. The API check is two lines because Prefect's server answers its health
endpoint without credentials: reachable and authenticated are separate facts.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prefect.client.schemas.objects import WorkerStatus
from prefect.exceptions import ObjectNotFound

from flows.client import ApiTarget, connect
from workflowai.api_errors import ApiUnreachableError, translate
from workflowai.pool_templates import template_problems


@dataclass(frozen=True)
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str


async def check_api(target: ApiTarget) -> list[Check]:
    """Two lines: the API answers (health), and it accepts our credentials."""
    async with target.client() as client:
        problem = await client.api_healthcheck()
        if problem is not None:
            error = (
                translate(problem, target.api_url)
                if isinstance(problem, httpx.HTTPError)
                else ApiUnreachableError(f"{target.api_url}: {type(problem).__name__}")
            )
            return [Check("prefect api", False, str(error))]
        api = Check("prefect api", True, target.api_url)
        try:
            await client.hello()
        except httpx.HTTPError as exc:
            return [api, Check("prefect auth", False, str(translate(exc, target.api_url)))]
    return [api, Check("prefect auth", True, f"accepted ({target.credentials})")]


async def check_pools(target: ApiTarget, pools: list[str]) -> list[Check]:
    """Each pool exists, its template is locked, and it has an ONLINE worker (recent heartbeat)."""
    checks: list[Check] = []
    async with connect(target) as client:
        for pool in pools:
            try:
                work_pool = await client.read_work_pool(pool)
            except ObjectNotFound:
                checks.append(Check(f"pool {pool}", False, "missing: run `workflowai setup`"))
                continue
            problems = template_problems(work_pool.base_job_template)
            checks.append(
                Check(
                    f"pool {pool} jobs",
                    not problems,
                    "; ".join(problems) + " (run `workflowai setup`)" if problems else "locked",
                )
            )
            workers = await client.read_workers_for_work_pool(pool)
            online = [w.name for w in workers if w.status == WorkerStatus.ONLINE]
            detail = f"{len(online)} worker(s) online" + (
                f": {', '.join(online)}" if online else ""
            )
            checks.append(Check(f"pool {pool}", bool(online), detail))
    return checks
