"""deployments/ci/failed_logs.py against a FAKE GitHub / GitLab REST API on 127.0.0.1.

`tests/unit/fake_forge.py` serves the jobs and log endpoints as documented (GitHub answers a
log request with a redirect to blob storage on another origin). The script runs as CI runs it:
a subprocess with the token in its environment; its output lines feed `trigger --file`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fake_forge import GITLAB_TOKEN, USER_TOKEN, FakeForge, serve

SCRIPT = Path(__file__).resolve().parents[2] / "deployments" / "ci" / "failed_logs.py"


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with serve() as state:
        yield state


def _fetch(forge: FakeForge, kind: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    if kind == "github":
        target, env = ["--repo", "o/r", "--run-id", "99", "--attempt", "2"], "GITHUB_TOKEN"
        token = USER_TOKEN
    else:
        target, env = ["--project", "group/project", "--pipeline", "77"], "GITLAB_TOKEN"
        token = GITLAB_TOKEN
    api = ["--api-url", forge.base_url]
    return subprocess.run(
        [sys.executable, str(SCRIPT), kind, *target, "--out", str(out), *api, *extra],
        env={"PATH": "/usr/bin:/bin", env: token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _matrix(forge: FakeForge, kind: str) -> None:
    """130 jobs over two pages; 4 failed, one of them allowed to fail (GitLab)."""
    for n in range(130):
        failed = n in (3, 64, 101, 129)
        job = {"id": 5000 + n, "name": f"test (py3.{n % 4 + 10}, shard {n})"}
        if kind == "github":
            job["conclusion"] = "timed_out" if n == 129 else ("failure" if failed else "success")
        else:
            job["status"] = "failed" if failed else "success"
            job["allow_failure"] = n == 64
        job["log"] = f"job {n}\nnpm ERR! code ERESOLVE\n" if failed else f"job {n} ok\n"
        forge.jobs.append(job)


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_every_failed_job_log_is_fetched_over_all_pages(
    forge: FakeForge, tmp_path: Path, kind: str
) -> None:
    _matrix(forge, kind)
    result = _fetch(forge, kind, tmp_path / "logs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = [3, 64, 101, 129] if kind == "github" else [3, 101, 129]
    assert [line.split("=", 1)[0] for line in lines] == [
        f"test (py3.{n % 4 + 10}, shard {n})" for n in expected
    ]
    for line, n in zip(lines, expected, strict=True):
        path = Path(line.rsplit("=", 1)[1])
        assert path.read_text() == f"job {n}\nnpm ERR! code ERESOLVE\n"


def test_github_log_redirect_is_followed_without_the_token(
    forge: FakeForge, tmp_path: Path
) -> None:
    _matrix(forge, "github")
    result = _fetch(forge, "github", tmp_path / "logs")
    assert result.returncode == 0, result.stderr
    blob_requests = [path for _, path in forge.requests if path.startswith("/blob/")]
    assert len(blob_requests) == 4
    assert not any(path.startswith("/blob/") for path in forge.with_token)
    assert USER_TOKEN not in result.stdout + result.stderr


def test_job_names_become_safe_file_arguments(forge: FakeForge, tmp_path: Path) -> None:
    forge.jobs.append(
        {"id": 1, "name": "deploy env=prod\nstep", "conclusion": "failure", "log": "x\n"}
    )
    result = _fetch(forge, "github", tmp_path / "logs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"deploy env-prod-step={tmp_path / 'logs' / '1.log'}"]


def test_max_jobs_bounds_the_downloads(forge: FakeForge, tmp_path: Path) -> None:
    _matrix(forge, "github")
    result = _fetch(forge, "github", tmp_path / "logs", "--max-jobs", "2")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert "4 jobs failed, analyzing the first 2" in result.stderr


def test_no_failed_job_prints_nothing(forge: FakeForge, tmp_path: Path) -> None:
    forge.jobs.append({"id": 1, "name": "build", "status": "success", "log": "ok\n"})
    result = _fetch(forge, "gitlab", tmp_path / "logs")
    assert result.returncode == 0 and result.stdout == ""


def test_refused_token_exits_5_without_printing_it(forge: FakeForge, tmp_path: Path) -> None:
    forge.fail = {"/projects/": 401}
    result = _fetch(forge, "gitlab", tmp_path / "logs")
    assert result.returncode == 5
    assert GITLAB_TOKEN not in result.stdout + result.stderr
