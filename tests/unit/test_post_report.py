"""deployments/ci/post_report.py against a FAKE GitHub / GitLab REST API on 127.0.0.1.

There is no GitHub or GitLab here: `tests/unit/fake_forge.py` serves the endpoints the script
uses, as their documentation describes them (see its docstring). The script runs as CI runs
it: a subprocess with the token in its environment.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fake_forge import ACTIONS_TOKEN, GITLAB_TOKEN, USER_TOKEN, FakeForge, serve

SCRIPT = Path(__file__).resolve().parents[2] / "deployments" / "ci" / "post_report.py"
MARKER = "<!-- workflowai:report -->"
REPORT = "### Why this build failed (WorkflowAI)\n\n2 jobs failed with the same cause.\n"


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with serve() as state:
        yield state


def _post(
    forge: FakeForge,
    kind: str,
    token: str,
    report: Path,
    *extra: str,
    api_url: str | None = None,
    pr: int | None = None,
) -> subprocess.CompletedProcess[str]:
    number = str(pr or forge.pr)
    target = (
        ["--repo", "o/r", "--pr", number]
        if kind == "github"
        else ["--project", "group/project", "--mr", number]
    )
    env_name = "GITHUB_TOKEN" if kind == "github" else "WORKFLOWAI_GITLAB_TOKEN"
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            kind,
            *target,
            "--body-file",
            str(report),
            "--api-url",
            api_url or forge.base_url,
            *extra,
        ],
        env={"PATH": "/usr/bin:/bin", env_name: token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.md"
    path.write_text(REPORT)
    return path


def _ours(forge: FakeForge) -> list[dict[str, Any]]:
    return [c for c in forge.comments if c["body"].startswith(MARKER)]


@pytest.mark.parametrize(("kind", "token"), [("github", USER_TOKEN), ("gitlab", GITLAB_TOKEN)])
def test_first_run_creates_second_run_updates_the_same_comment(
    forge: FakeForge, report: Path, kind: str, token: str
) -> None:
    first = _post(forge, kind, token, report)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created")
    report.write_text(REPORT.replace("2 jobs", "3 jobs"))
    second = _post(forge, kind, token, report)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("updated")
    (comment,) = _ours(forge)
    assert "3 jobs failed" in comment["body"]
    assert forge.writes() == ["POST", "PATCH" if kind == "github" else "PUT"]
    assert token not in first.stdout + first.stderr + second.stdout + second.stderr


@pytest.mark.parametrize(("kind", "token"), [("github", USER_TOKEN), ("gitlab", GITLAB_TOKEN)])
def test_finds_its_comment_on_a_later_page(
    forge: FakeForge, report: Path, kind: str, token: str
) -> None:
    for n in range(230):
        forge.add(f"review comment {n}", "reviewer")
    mine = forge.add(f"{MARKER}\nold report", forge.users[token])
    for n in range(20):
        forge.add(f"later comment {n}", "reviewer")
    result = _post(forge, kind, token, report)
    assert result.returncode == 0, result.stderr
    assert "old report" not in mine["body"] and "2 jobs failed" in mine["body"]
    assert forge.writes() == ["PATCH" if kind == "github" else "PUT"]
    pages = [path for method, path in forge.requests if method == "GET" and path != "/user"]
    assert len(pages) == 3  # 100 + 100 + the page holding comment 231


@pytest.mark.parametrize(("kind", "token"), [("github", USER_TOKEN), ("gitlab", GITLAB_TOKEN)])
def test_a_quoted_marker_by_someone_else_is_not_hijacked(
    forge: FakeForge, report: Path, kind: str, token: str
) -> None:
    quoted = forge.add(f"{MARKER}\n> the bot says: flaky test\nI disagree", "reviewer")
    result = _post(forge, kind, token, report)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created")
    assert quoted["body"].endswith("I disagree")
    assert [c["author"] for c in _ours(forge)] == ["reviewer", forge.users[token]]


def test_actions_token_without_user_endpoint_updates_the_bots_comment(
    forge: FakeForge, report: Path
) -> None:
    forge.add(f"{MARKER}\nby a person, copied", "reviewer")
    bots = forge.add(f"{MARKER}\nold report", "github-actions[bot]")
    result = _post(forge, "github", ACTIONS_TOKEN, report)
    assert result.returncode == 0, result.stderr
    assert "2 jobs failed" in bots["body"]
    assert forge.writes() == ["PATCH"]


@pytest.mark.parametrize(
    ("kind", "fail", "code", "says"),
    [
        ("github", {"/repos/": 500}, 4, "unavailable"),
        ("github", {"/repos/": 429}, 4, "unavailable"),
        ("gitlab", {"/user": 401}, 5, "refused the token"),
        ("github", {"/repos/o/r/issues/42/comments": 404}, 3, "refused the request"),
        ("gitlab", {"/projects/": 403}, 5, "refused the token"),
    ],
)
def test_api_errors_exit_with_their_own_code_and_never_print_the_token(
    forge: FakeForge, report: Path, kind: str, fail: dict[str, int], code: int, says: str
) -> None:
    forge.fail = fail
    token = USER_TOKEN if kind == "github" else GITLAB_TOKEN
    result = _post(forge, kind, token, report)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    assert token not in result.stdout + result.stderr
    assert forge.writes() == []


def test_wrong_pull_request_is_refused_input(forge: FakeForge, report: Path) -> None:
    result = _post(forge, "github", USER_TOKEN, report, pr=7)
    assert result.returncode == 3
    assert "404" in result.stderr


def test_unreachable_api_and_missing_token(forge: FakeForge, report: Path) -> None:
    from workflowai.local_stack import free_port

    down = _post(forge, "gitlab", GITLAB_TOKEN, report, api_url=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 4
    assert "unreachable" in down.stderr
    no_token = _post(forge, "github", "", report)
    assert no_token.returncode == 2
    assert "no github token" in no_token.stderr


def test_an_oversized_report_is_truncated_to_githubs_limit(forge: FakeForge, report: Path) -> None:
    report.write_text("npm ERR! x\n" * 10_000)
    result = _post(forge, "github", USER_TOKEN, report)
    assert result.returncode == 0, result.stderr
    (comment,) = _ours(forge)
    assert len(comment["body"]) <= 65_536
    assert comment["body"].rstrip().endswith("in the Prefect UI)_")
