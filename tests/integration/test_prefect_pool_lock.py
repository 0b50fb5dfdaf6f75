"""Run callers cannot change what a worker runs: a real server, `workflowai setup`'s pools and
real process workers (the shared stack of tests/integration/prefect_stack.py).

Two ways in, as an attacker with API access would try them:
- create a run from the deployment with job variables `command`/`env`: the server refuses it
  (422), because the locked template declares none and allows no others;
- `POST /flow_runs/` with the deployment, the pool and the same job variables: that route
  stores them without validation, and the worker fills its template from them. On a pool
  with Prefect's default template (a probe pool made here) the command runs; on our pool the
  run executes the flow as deployed, the command never runs, and the environment that would
  have sent the Elasticsearch credentials to a listener of ours is never applied.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest

from workflowai.api_errors import ApiRefusedError

if TYPE_CHECKING:
    from tests.integration.prefect_stack import PrefectStack

pytest_plugins = ["tests.integration.prefect_stack"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Listener:
    """A TCP socket on 127.0.0.1 that counts connections: where the hijacked env points."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = Listener()
    try:
        yield sock
    finally:
        sock.close()


def _hijack(marker: Path, listener: Listener) -> dict[str, Any]:
    command = f"{sys.executable} -c \"open({str(marker)!r}, 'w').write('pwned')\""
    return {
        "command": command,
        "env": {
            "WORKFLOWAI_STORE__BACKEND": "elasticsearch",
            "WORKFLOWAI_ELASTICSEARCH__URL": f"http://127.0.0.1:{listener.port}",
        },
    }


async def _post_flow_run(
    stack: PrefectStack, deployment_name: str, pool: str, job_variables: dict[str, Any]
) -> UUID:
    """The unvalidated route: POST /flow_runs/ with deployment, pool and job variables."""
    from prefect.client.orchestration import PrefectClient
    from prefect.types._datetime import now

    async with PrefectClient(stack.api_url) as client:
        deployment = await client.read_deployment_by_name(deployment_name)
        response = await client._client.post(
            "/flow_runs/",
            json={
                "flow_id": str(deployment.flow_id),
                "deployment_id": str(deployment.id),
                "name": "hijack-attempt",
                "parameters": {"params": {"query": "npm ERESOLVE", "top_k": 1}},
                "work_pool_name": pool,
                "work_queue_name": "default",
                "job_variables": job_variables,
                "state": {
                    "type": "SCHEDULED",
                    "name": "Scheduled",
                    "state_details": {"scheduled_time": now("UTC").isoformat()},
                },
            },
        )
        response.raise_for_status()
        return UUID(response.json()["id"])


def test_creating_a_run_with_command_or_env_is_refused(
    prefect_stack: PrefectStack, tmp_path: Path, listener: Listener
) -> None:
    from flows.client import ApiTarget, connect

    target = ApiTarget(api_url=prefect_stack.api_url, ui_url=prefect_stack.ui_url)

    async def attempt(job_variables: dict[str, Any]) -> None:
        async with connect(target) as client:
            deployment = await client.read_deployment_by_name(prefect_stack.deployment("search"))
            await client.create_flow_run_from_deployment(
                deployment.id,
                parameters={"params": {"query": "x"}},
                job_variables=job_variables,
            )

    hijack = _hijack(tmp_path / "marker", listener)
    for key in ("command", "env"):
        with pytest.raises(ApiRefusedError) as info:
            prefect_stack.run(attempt({key: hijack[key]}))
        assert "422" in str(info.value)


def test_unvalidated_run_cannot_change_command_or_env_on_a_locked_pool(
    prefect_stack: PrefectStack, tmp_path: Path, listener: Listener
) -> None:
    from prefect.workers.process import ProcessWorker

    # the probe: the same attack on a pool with Prefect's default template does run the command
    prefect_stack.add_pool("probe-default", {}, ProcessWorker.get_default_base_job_template())
    probe = prefect_stack.copy_deployment("search", "probe-default")
    probe_marker = tmp_path / "probe-marker"
    probe_run = prefect_stack.run(
        _post_flow_run(prefect_stack, probe, "probe-default", _hijack(probe_marker, listener))
    )
    # the replaced command never reports a final state: wait for its file instead
    deadline = time.monotonic() + 120
    while not probe_marker.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert probe_marker.exists(), f"the probe should show the attack works ({probe_run})"

    marker = tmp_path / "marker"
    run_id = prefect_stack.run(
        _post_flow_run(
            prefect_stack, prefect_stack.deployment("search"), "cpu", _hijack(marker, listener)
        )
    )
    run = prefect_stack.run(prefect_stack.wait_final(run_id))
    assert run.state_type.value == "COMPLETED", run.state
    assert not marker.exists()
    # the search ran on the worker's own store (SQLite), not the caller's Elasticsearch URL
    assert listener.connections == 0


def test_setup_locks_old_process_pools_and_reports_other_types(
    prefect_stack: PrefectStack,
) -> None:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    from flows.client_setup import ensure_pools
    from workflowai.pool_templates import template_problems

    unlocked = {
        "job_configuration": {"image": "{{ image }}", "env": "{{ env }}"},
        "variables": {
            "type": "object",
            "properties": {"image": {"type": "string"}, "env": {"type": "object"}},
        },
    }

    async def scenario() -> tuple[Any, dict[str, list[str]]]:
        async with PrefectClient(prefect_stack.api_url) as client:
            default = ProcessWorker.get_default_base_job_template()
            for name, kind, template in (
                ("legacy-process", "process", default),
                ("legacy-kubernetes", "kubernetes", unlocked),
            ):
                await client.create_work_pool(
                    WorkPoolCreate(name=name, type=kind, base_job_template=template)
                )
            report = await ensure_pools(client, {"legacy-process": "", "legacy-kubernetes": ""})
            templates = {
                name: (await client.read_work_pool(name)).base_job_template
                for name in ("legacy-process", "legacy-kubernetes")
            }
            return report, templates

    report, templates = prefect_stack.run(scenario())
    assert report.locked == ["legacy-process"]
    assert list(report.unlocked) == ["legacy-kubernetes"]
    assert template_problems(templates["legacy-process"]) == []
    # another type's template is the operator's: reported, never replaced
    assert templates["legacy-kubernetes"] == unlocked
