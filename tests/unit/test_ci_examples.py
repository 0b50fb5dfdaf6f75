"""The CI examples agree with the CLI: the slim client, one trigger for every failed job, one
upserted comment, and a branch for each exit code `workflowai trigger` documents.

The scripts they call are tested against a fake forge API (test_post_report.py,
test_failed_logs.py); the trigger surface (`--file "JOB NAME=path"`, repeatable) is the
multi-log analyze-log run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflowai.cli_ops import ExitCode

CI = Path(__file__).resolve().parents[2] / "deployments" / "ci"


def _github() -> dict[str, Any]:
    return yaml.safe_load((CI / "github-actions.yml").read_text())


def _gitlab() -> dict[str, Any]:
    return yaml.safe_load((CI / "gitlab-ci.yml").read_text())


def _github_script() -> str:
    steps = _github()["jobs"]["analyze-failure"]["steps"]
    return "\n".join(step.get("run", "") for step in steps)


def _gitlab_script() -> str:
    job = _gitlab()["analyze-failure"]
    return "\n".join([*job["before_script"], *job["script"]])


@pytest.mark.parametrize("script", [_github_script, _gitlab_script])
def test_ci_example_installs_the_slim_client_only(script: Any) -> None:
    text = script()
    assert "pip install ./client" in text or "pip install -q ./client" in text
    assert not re.search(r"pip install (-q )?\.(\s|$)", text)


@pytest.mark.parametrize("script", [_github_script, _gitlab_script])
def test_ci_example_sends_every_failed_log_in_one_trigger_and_upserts_one_comment(
    script: Any,
) -> None:
    text = script()
    assert "deployments/ci/failed_logs.py" in text
    assert text.count("workflowai trigger analyze-log") == 1
    assert "--file" in text and "--format md" in text
    assert text.count("deployments/ci/post_report.py") == 1
    # no comment API is called directly (that is how duplicates came about)
    assert "gh pr comment" not in text and "/notes" not in text


@pytest.mark.parametrize("script", [_github_script, _gitlab_script])
def test_ci_example_handles_each_exit_code(script: Any) -> None:
    text = script()
    arms = set()
    for pattern in re.findall(r"^\s*([0-9|]+)\)", text, flags=re.MULTILINE):
        arms |= {int(code) for code in pattern.split("|")}
    documented = {int(code) for code in ExitCode} - {ExitCode.OK}
    assert documented <= arms | {0}, documented - arms


def test_github_example_reads_the_run_and_writes_the_pull_request_only() -> None:
    job = _github()["jobs"]["analyze-failure"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert set(job["needs"]) == set(_github()["jobs"]) - {"analyze-failure"}
    assert "PREFECT_API_AUTH_STRING" in job["env"]


def test_gitlab_example_runs_only_after_a_failure_in_merge_requests() -> None:
    (rule,) = _gitlab()["analyze-failure"]["rules"]
    assert rule == {"if": "$CI_MERGE_REQUEST_IID", "when": "on_failure"}
    assert "PREFECT_API_AUTH_STRING" in (CI / "gitlab-ci.yml").read_text()
