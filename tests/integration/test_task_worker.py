"""Background analyses on a warm task worker, for real: a Prefect server and one
`python -m flows.task_worker` process (workflowai/local_stack.py), three analyses created
through the API at once with `analyze_log_background.delay`, each completed by the same
long-lived process, each one task run (steps inline) with its report artifact.
Flow mode (a flow run per analysis) is tested on the flow tests' server:
tests/flows/test_background_steps.py.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflowai.local_stack import LocalStack
from workflowai.logref import LogRef

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGS = [
    "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\n",
    "[ERROR] Tests run: 12, Failures: 0, Errors: 1\njava.lang.OutOfMemoryError: Java heap space\n",
    "E   ModuleNotFoundError: No module named 'requests'\n"
    "##[error]Process completed with exit code 1.\n",
]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    (tmp_path / "no-kb").mkdir()
    storage = tmp_path / "task-storage"
    local = LocalStack(
        home=tmp_path / "stack",
        extra_env={
            "WORKFLOWAI_HOME": str(tmp_path / "home"),
            # an empty knowledge base source: nothing to index, the analyses stay small
            "WORKFLOWAI_REINDEX__SOURCES": json.dumps([str(tmp_path / "no-kb")]),
            # parameters and results of background runs: shared by client and worker
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(storage),
        },
    )
    try:
        local.start_server()
        local.start_task_worker(limit=2)
        yield local
    finally:
        local.stop()


async def _upload_logs(api_url: str, home: Path) -> list[LogRef]:
    """Each log redacted, packed and uploaded as `trigger --file` does: runs take references."""
    from prefect.client.orchestration import PrefectClient

    from tasks.log_storage import aload_blob_store, ensure_log_storage_block
    from workflowai.logpack import prepare_log
    from workflowai.logref import upload
    from workflowai.settings import Settings

    settings = Settings(home=home)
    async with PrefectClient(api_url) as client:
        await ensure_log_storage_block(client, settings)
        store = await aload_blob_store(client, settings)
    cap = settings.log_storage.max_bytes
    return [upload(store, prepare_log(t.encode(), settings.analysis), max_bytes=cap) for t in LOGS]


def test_background_analyses_run_on_one_warm_task_worker(stack: LocalStack, tmp_path: Path) -> None:
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        temporary_settings,
    )

    from flows.task_worker import analyze_log_background
    from tasks.analysis import report_key
    from workflowai.params import AnalyzeLogParams

    env = stack.env()
    updates = {
        PREFECT_API_URL: stack.api_url,
        PREFECT_RESULTS_LOCAL_STORAGE_PATH: env["PREFECT_RESULTS_LOCAL_STORAGE_PATH"],
    }
    refs = asyncio.run(_upload_logs(stack.api_url, tmp_path / "home"))
    with temporary_settings(updates=updates):  # type: ignore[arg-type]
        futures = [analyze_log_background.delay(AnalyzeLogParams(log_ref=r)) for r in refs]
        reports = [future.result(timeout=600) for future in futures]
        flow_runs, task_runs, artifacts = asyncio.run(_recorded(stack.api_url))
    assert [r.category.value for r in reports] == ["dependency", "out-of-memory", "dependency"]
    assert all(r.evidence for r in reports)
    # one task run per analysis, completed; no flow runs; each report published
    assert flow_runs == []
    assert [state for name, state in task_runs if name.startswith("analyze-log-")] == [
        "COMPLETED"
    ] * len(LOGS)
    assert {report_key(r) for r in reports} <= artifacts
    assert stack.task_workers[0].poll() is None  # one process served them all
    assert os.path.exists(stack.log_dir / "task-worker-0.log")


async def _recorded(url: str) -> tuple[list[str], list[tuple[str, str]], set[str]]:
    """Names of the flow runs, (name, state type) of the task runs, keys of the artifacts."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(url) as client:
        flow_runs = [run.name for run in await client.read_flow_runs()]
        task_runs = [
            (run.name, run.state_type.value if run.state_type else "")
            for run in await client.read_task_runs()
        ]
        artifacts = {a.key for a in await client.read_artifacts() if a.key}
    return flow_runs, task_runs, artifacts
