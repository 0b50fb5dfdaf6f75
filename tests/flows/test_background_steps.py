"""Background analyses (flows/task_worker.py) on the session's real Prefect server: inline
steps make one task run per analysis and the same report as the `analyze-log` flow; flow mode
records the flow run and a task run per step. The warm worker process itself is tested in
tests/integration/test_task_worker.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.utilities.annotations import opaque

from flows import task_worker
from flows.analyze_log import analyze_log_flow, inline
from workflowai.analysis.report import AnalysisReport, Category
from workflowai.params import AnalyzeLogParams

LOG = """Run pip install -r requirements.txt
Collecting numpy==1.19.5
ERROR: Could not find a version that satisfies the requirement numpy==1.19.5
ERROR: No matching distribution found for numpy==1.19.5
##[error]Process completed with exit code 1.
"""


@pytest.fixture
def step_mode() -> Iterator[None]:
    yield
    task_worker.set_step_mode("inline")


def _task_run_names(label: str) -> list[str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=label))
        )
        return sorted(run.name for run in runs)


def _flow_runs(label: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=label))
        )


def _comparable(report: AnalysisReport) -> dict[str, Any]:
    """The report without its history verdict, which moves on with every run by design."""
    return report.model_dump(mode="json", exclude={"history"})


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home")
def test_inline_background_analysis_is_one_task_run_with_the_flows_report(
    tmp_path: Path,
) -> None:
    log = tmp_path / "inline-job.log"
    log.write_text(LOG)
    params = AnalyzeLogParams(log_path=log, publish=False)
    from_flow = analyze_log_flow(params)

    from_task = task_worker.analyze_log_background(params)

    assert from_task.category is Category.DEPENDENCY
    assert _comparable(from_task) == _comparable(from_flow)
    assert from_task.history is not None and from_task.history.occurrences == 2
    # the flow made a run per step; the background analysis one run in all
    names = _task_run_names(f"%{params.run_label}%")
    assert names == [f"analyze-log-{params.run_label}"], names
    assert len(_flow_runs(f"%{params.run_label}%")) == 1  # the flow's own, none from the task


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home", "step_mode")
def test_flow_mode_background_analysis_records_the_flow_and_its_steps(tmp_path: Path) -> None:
    log = tmp_path / "flow-job.log"
    log.write_text(LOG)
    params = AnalyzeLogParams(log_path=log, publish=False)
    task_worker.set_step_mode("flow")

    report = task_worker.analyze_log_background(params)

    assert report.category is Category.DEPENDENCY
    flow_runs = _flow_runs(f"analyze-log-{params.run_label}")
    assert len(flow_runs) == 1 and flow_runs[0].state.is_completed()
    with get_client(sync_client=True) as client:
        steps = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_runs[0].id]))
        )
    assert {"read_log", "extract_signals", "retrieve_context", "assemble_report"} <= {
        run.task_key.rsplit("-", 1)[0] for run in steps
    }


def test_set_step_mode_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="inline, flow"):
        task_worker.set_step_mode("threads")  # type: ignore[arg-type]


@task
def _plain_step(values: list[int]) -> int:
    return sum(values)


@task(tags=["gpu"])
def _tagged_step(values: list[int]) -> int:
    return len(values)


def test_inline_calls_untagged_steps_plainly_and_tagged_steps_as_task_runs() -> None:
    """opaque(...) is unwrapped for a plain call; a tagged step (under a tag concurrency limit)
    stays a task run so the limit holds."""
    assert inline(_plain_step, opaque([1, 2, 3])) == 6
    assert inline(_tagged_step, values=opaque([1, 2, 3])) == 3
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs()
    keys = [run.task_key for run in runs]
    assert any(key.startswith("_tagged_step") for key in keys)
    assert not any(key.startswith("_plain_step") for key in keys)
