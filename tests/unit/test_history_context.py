"""Run context from the CI providers' documented variables, and flags over the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflowai.history.context import context_from_env, resolve_context
from workflowai.history.models import RunContext

GITHUB_PUSH = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_REF_NAME": "main",
    "GITHUB_HEAD_REF": "",
    "GITHUB_SHA": "4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_JOB": "test",
    "GITHUB_RUN_ID": "8312456789",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SERVER_URL": "https://github.com",
}
GITHUB_PR = {**GITHUB_PUSH, "GITHUB_REF_NAME": "42/merge", "GITHUB_HEAD_REF": "feature/cart"}
GITLAB_MR = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/platform/shop",
    "CI_COMMIT_REF_NAME": "feature/cart",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/cart",
    "CI_COMMIT_SHA": "77be03d1aa004e8932e579d2c1f0a8b7e6d5c4b3",
    "CI_JOB_NAME": "test: [3.12]",
    "CI_JOB_URL": "https://gitlab.example.com/acme/platform/shop/-/jobs/991",
    "CI_DEFAULT_BRANCH": "main",
}
JENKINS = {
    "JENKINS_URL": "https://ci.example.com/",
    "JOB_NAME": "shop/PR-42",
    "BUILD_URL": "https://ci.example.com/job/shop/job/PR-42/17/",
    "GIT_URL": "git@github.com:acme/shop.git",
    "GIT_COMMIT": "a81be0c4d5f60712a81be0c4d5f60712a81be0c4",
    "GIT_BRANCH": "origin/feature/cart",
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            GITHUB_PUSH,
            RunContext(
                repository="acme/shop",
                branch="main",
                commit="4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
                job="CI / test",
                attempt=2,
                provider="github-actions",
                run_url="https://github.com/acme/shop/actions/runs/8312456789/attempts/2",
            ),
        ),
        (
            GITHUB_PR,
            RunContext(
                repository="acme/shop",
                branch="feature/cart",
                commit="4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
                job="CI / test",
                attempt=2,
                provider="github-actions",
                run_url="https://github.com/acme/shop/actions/runs/8312456789/attempts/2",
            ),
        ),
        (
            GITLAB_MR,
            RunContext(
                repository="acme/platform/shop",
                branch="feature/cart",
                commit="77be03d1aa004e8932e579d2c1f0a8b7e6d5c4b3",
                job="test: [3.12]",
                provider="gitlab",
                run_url="https://gitlab.example.com/acme/platform/shop/-/jobs/991",
                default_branch="main",
            ),
        ),
        (
            JENKINS,
            RunContext(
                repository="acme/shop",
                branch="feature/cart",
                commit="a81be0c4d5f60712a81be0c4d5f60712a81be0c4",
                job="shop/PR-42",
                provider="jenkins",
                run_url="https://ci.example.com/job/shop/job/PR-42/17/",
            ),
        ),
        ({"HOME": "/home/dev", "CI": "true"}, RunContext()),
    ],
    ids=["github-push", "github-pull-request", "gitlab-merge-request", "jenkins", "none"],
)
def test_context_from_env_per_provider(env: dict[str, str], expected: RunContext) -> None:
    assert context_from_env(env) == expected


def test_context_from_env_github_default_branch_from_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"repository": {"full_name": "acme/shop", "default_branch": "trunk"}})
    )
    context = context_from_env({**GITHUB_PR, "GITHUB_EVENT_PATH": str(event)})
    assert context.default_branch == "trunk"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert context_from_env({**GITHUB_PR, "GITHUB_EVENT_PATH": str(broken)}).default_branch is None


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("https://github.com/acme/shop.git", "acme/shop"),
        ("https://gitlab.example.com/acme/shop", "acme/shop"),
        ("git@github.com:acme/shop.git", "acme/shop"),
        ("ssh://git@bitbucket.example.com:7999/acme/shop.git", "acme/shop"),
    ],
)
def test_context_from_env_jenkins_repository_from_git_url(url: str, repository: str) -> None:
    assert context_from_env({**JENKINS, "GIT_URL": url}).repository == repository


def test_resolve_context_flags_win_field_by_field() -> None:
    flags = RunContext(job="test (3.12)", branch="release/2.4")
    context = resolve_context(flags, GITHUB_PUSH)
    assert context.job == "test (3.12)"
    assert context.branch == "release/2.4"
    assert context.repository == "acme/shop"
    assert context.attempt == 2
    assert resolve_context(flags, {}) == flags


def test_context_of_params_and_context_params_round_trip() -> None:
    from workflowai.history.context import context_of, context_params
    from workflowai.params import AnalyzeLogParams, RecordSuccessParams

    values = context_params(GITLAB_MR)
    assert values["ci_provider"] == "gitlab"
    analyze = AnalyzeLogParams(log_path=Path("job.log"), **values)  # type: ignore[arg-type]
    assert context_of(analyze) == context_from_env(GITLAB_MR)
    success = RecordSuccessParams(**values)  # type: ignore[arg-type]
    assert context_of(success) == context_from_env(GITLAB_MR)
