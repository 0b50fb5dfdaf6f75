"""The Prefect UI shows what operators look for: the deployments, a completed run, its report.

Debian's headless Chromium loads the real UI of the shared test stack (127.0.0.1). The UI is a
single-page app that fetches after load, so Chromium runs with a virtual time budget; the
assertions read the rendered DOM (`--dump-dom`) and the screenshots land in
WORKFLOWAI_ARTIFACTS_DIR (default .cache/artifacts) for CI to keep.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from workflowai.registry import WORKFLOW_TYPES

if TYPE_CHECKING:
    from tests.integration.prefect_stack import PrefectStack

# the stack fixture is a plugin, so the e2e and browser modules share one stack per session
pytest_plugins = ["tests.integration.prefect_stack"]
REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium not found: apt-get install -y chromium (scripts/setup.sh --test does)")


def _artifacts_dir() -> Path:
    path = Path(os.environ.get("WORKFLOWAI_ARTIFACTS_DIR", REPO / ".cache" / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _browse(url: str, screenshot: Path | None) -> str:
    """Render `url`, save a screenshot and return the DOM after the app has fetched its data."""
    base = [
        _chromium(),
        "--headless",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=10000",
        "--window-size=1400,1000",
    ]
    if screenshot is not None:
        shot = subprocess.run(
            [*base, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=120
        )
        assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


@pytest.fixture(scope="module")
def completed_run(prefect_stack: PrefectStack, analyze_run: Any) -> tuple[str, str, str]:
    """(flow run id, run name, report artifact id) of the shared analyze-log run."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    assert analyze_run.state_type.value == "COMPLETED", analyze_run.state

    async def report_artifact() -> str:
        async with PrefectClient(prefect_stack.api_url) as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[analyze_run.id])
                )
            )
        return next(str(a.id) for a in artifacts if (a.key or "").startswith("report-"))

    return str(analyze_run.id), analyze_run.name, prefect_stack.run(report_artifact())


def test_ui_lists_every_deployment(prefect_stack: PrefectStack) -> None:
    # the list shows 10 deployments a page (the `page` query parameter turns it): the first
    # page is the screenshot, the second holds the rest of the workflow types
    dom = _browse(f"{prefect_stack.ui_url}/deployments", _artifacts_dir() / "ui-deployments.png")
    dom += _browse(f"{prefect_stack.ui_url}/deployments?page=2", None)
    for workflow_type in WORKFLOW_TYPES:
        assert f"{workflow_type}-it" in dom, workflow_type


def test_ui_shows_the_completed_run_and_its_report(
    prefect_stack: PrefectStack, completed_run: tuple[str, str, str]
) -> None:
    run_id, run_name, artifact_id = completed_run
    run_dom = _browse(
        f"{prefect_stack.ui_url}/runs/flow-run/{run_id}", _artifacts_dir() / "ui-flow-run.png"
    )
    assert run_name in run_dom
    assert "Completed" in run_dom
    assert "analyze-log-it" in run_dom  # the deployment it ran from
    # the run graph is a canvas (no text in the DOM): the report is checked on its own page,
    # which also links back to the run
    artifact_dom = _browse(
        f"{prefect_stack.ui_url}/artifacts/artifact/{artifact_id}",
        _artifacts_dir() / "ui-report-artifact.png",
    )
    assert "WorkflowAI failure analysis" in artifact_dom
    assert "ERESOLVE" in artifact_dom
    assert run_name in artifact_dom
