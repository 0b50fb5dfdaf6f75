"""The history commands on real stores: `analyze-log` twice with the same context (flags and a
GitHub Actions environment) is recurring with 2 occurrences; `record-success`, `history top`,
`confirm`'s input checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workflowai.cli import app

runner = CliRunner()
GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/web-app",
    "GITHUB_REF_NAME": "feature/dnd",
    "GITHUB_SHA": "4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_JOB": "install",
    "GITHUB_RUN_ID": "101",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_SERVER_URL": "https://github.com",
}
LOG = """2025-03-02T09:14:04.0000000Z npm ERR! code ERESOLVE
2025-03-02T09:14:04.0100000Z npm ERR! ERESOLVE unable to resolve dependency tree
2025-03-02T09:14:04.0600000Z npm ERR! peer react@"^17.0.0" from react-beautiful-dnd@13.1.1
2025-03-02T09:14:05.0000000Z ##[error]Process completed with exit code 1.
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("WORKFLOWAI_HOME", str(path))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "top", "--since", "7x"], "a period is a number and h, d or w"),
        (["confirm", "3f1c9a7be0d24c11", "--title", "t"], "needs a title and a cause"),
        (["record-success", "--job", "test"], "a success needs its commit"),
    ],
)
def test_cli_history_bad_input_is_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    for name in GITHUB_ENV:
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_history_top_empty(home: Path) -> None:
    result = runner.invoke(app, ["history", "top", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert "no failures recorded" in runner.invoke(app, ["history", "top"]).stdout


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_cli_analyze_log_twice_same_context_is_recurring(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "job.log"
    log.write_text(LOG)
    args = ["analyze-log", str(log), "--format", "json", "--job", "CI / install (node 20)"]

    first = runner.invoke(app, args)
    second = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    history = json.loads(second.stdout)["history"]
    assert history["verdict"] == "recurring"
    assert history["occurrences"] == 2
    assert history["earlier_runs"][0] == {
        "seen_at": history["earlier_runs"][0]["seen_at"],
        "run_url": "https://github.com/acme/web-app/actions/runs/101/attempts/1",
        "repository": "acme/web-app",
        "branch": "feature/dnd",
        "commit": "4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
        "job": "CI / install (node 20)",  # the flag wins over the environment
        "attempt": 1,
    }
    markdown = runner.invoke(app, [*args[:2], "--no-history"])
    assert markdown.exit_code == 0 and "Verdict" not in markdown.stdout

    # the job passed on a rerun: record-success takes the same context from the environment
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    passed = runner.invoke(app, ["record-success", "--job", "CI / install (node 20)"])
    assert passed.exit_code == 0, passed.output
    assert "recorded success of CI / install (node 20) on 4e8932e579d2" in passed.stdout

    top = runner.invoke(app, ["history", "top", "--since", "1d", "--json"])
    assert top.exit_code == 0, top.output
    (row,) = json.loads(top.stdout)
    assert row["signature"] == history["fingerprint"]
    assert row["count"] == 2
    assert row["verdict"] == "flaky"
    assert row["jobs"] == "CI / install (node 20)"
    table = runner.invoke(app, ["history", "top"])
    assert history["fingerprint"] in table.stdout
    assert "Daily failures of the top 1 signatures" in table.stdout


def test_trigger_parameters_take_the_ci_context(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflowai.cli_ops import build_parameters
    from workflowai.history.context import context_params

    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    params = build_parameters("record-success", ["job=CI / install (node 20)"])
    assert params["commit"] == GITHUB_ENV["GITHUB_SHA"]
    assert params["job"] == "CI / install (node 20)"
    assert params["ci_provider"] == "github-actions"
    analyze = build_parameters("analyze-log", [], "/logs/job.log")
    assert analyze["branch"] == "feature/dnd"
    assert analyze["job"] == "CI / install"
    assert "commit" not in build_parameters("search", ["query=npm"])
    # analyze-run: the run's context, and each job's name is its job
    assert "job" not in context_params(GITHUB_ENV, per_job=False)


def test_analyze_run_job_params_name_the_job() -> None:
    from workflowai.params import AnalyzeRunParams

    run = AnalyzeRunParams.model_validate(
        {
            "commit": "4e8932e579d2",
            "jobs": [
                {"name": "test (3.11)", "log_path": "/logs/a.log"},
                {"name": "lint", "log_path": "/logs/b.log"},
            ],
        }
    )
    jobs = [run.job_params(job) for job in run.jobs]
    assert [(j.job, j.commit) for j in jobs] == [
        ("test (3.11)", "4e8932e579d2"),
        ("lint", "4e8932e579d2"),
    ]
