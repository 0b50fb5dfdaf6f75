"""The run context (repository, branch, commit, job, attempt, provider, run URL) of an analysis.

It comes from flags, else from the CI provider's documented environment variables:
GitHub Actions (`GITHUB_*`), GitLab CI (`CI_*`) and Jenkins (`JOB_NAME`, `BUILD_URL`, `GIT_*`).
The CLI resolves it where the job runs and passes it in the flow's parameters: a worker's own
environment says nothing about the job whose log it analyzes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from workflowai.history.models import RunContext

_GIT_URL = re.compile(r"(?:[:/])([^/:]+/[^/]+?)(?:\.git)?/?$")


def _get(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) >= 1 else None


def _github_default_branch(env: Mapping[str, str]) -> str | None:
    """`repository.default_branch` from the event payload GitHub writes for every run."""
    path = _get(env, "GITHUB_EVENT_PATH")
    if path is None:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    repository = event.get("repository") if isinstance(event, dict) else None
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return branch if isinstance(branch, str) and branch else None


def _github(env: Mapping[str, str]) -> RunContext:
    repository = _get(env, "GITHUB_REPOSITORY")
    run_id, attempt = _get(env, "GITHUB_RUN_ID"), _get(env, "GITHUB_RUN_ATTEMPT")
    server = _get(env, "GITHUB_SERVER_URL") or "https://github.com"
    url = None
    if repository and run_id:
        url = f"{server}/{repository}/actions/runs/{run_id}"
        if attempt:
            url += f"/attempts/{attempt}"
    workflow, job = _get(env, "GITHUB_WORKFLOW"), _get(env, "GITHUB_JOB")
    return RunContext(
        repository=repository,
        # a pull request's run tests its head branch; GITHUB_REF_NAME is then "<n>/merge"
        branch=_get(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
        commit=_get(env, "GITHUB_SHA"),
        job=f"{workflow} / {job}" if workflow and job else job,
        attempt=_int(attempt),
        provider="github-actions",
        run_url=url,
        default_branch=_github_default_branch(env),
    )


def _gitlab(env: Mapping[str, str]) -> RunContext:
    return RunContext(
        repository=_get(env, "CI_PROJECT_PATH"),
        branch=_get(
            env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"
        ),
        commit=_get(env, "CI_COMMIT_SHA"),
        job=_get(env, "CI_JOB_NAME"),
        provider="gitlab",
        run_url=_get(env, "CI_JOB_URL", "CI_PIPELINE_URL"),
        default_branch=_get(env, "CI_DEFAULT_BRANCH"),
    )


def _jenkins(env: Mapping[str, str]) -> RunContext:
    git_url = _get(env, "GIT_URL")
    match = _GIT_URL.search(git_url) if git_url else None
    branch = _get(env, "CHANGE_BRANCH", "BRANCH_NAME", "GIT_BRANCH")
    if branch and branch.startswith("origin/"):
        branch = branch.removeprefix("origin/")
    return RunContext(
        repository=match.group(1) if match else None,
        branch=branch,
        commit=_get(env, "GIT_COMMIT"),
        job=_get(env, "JOB_NAME"),
        provider="jenkins",
        run_url=_get(env, "BUILD_URL"),
    )


def context_from_env(env: Mapping[str, str]) -> RunContext:
    """The context the CI provider's variables give (empty outside a known CI provider)."""
    if env.get("GITHUB_ACTIONS") == "true":
        return _github(env)
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    if _get(env, "JENKINS_URL") or (_get(env, "BUILD_URL") and _get(env, "JOB_NAME")):
        return _jenkins(env)
    return RunContext()


def resolve_context(flags: RunContext, env: Mapping[str, str]) -> RunContext:
    """Each field from the flags when given, else from the CI environment."""
    detected = context_from_env(env)
    given = flags.model_dump(exclude_none=True)
    return detected.model_copy(update=given)


def context_of(params: object) -> RunContext:
    """The context carried by a parameter model (`AnalyzeLogParams`, `RecordSuccessParams`):
    its fields of the same names, and `ci_provider` as the provider."""
    fields = {
        name: getattr(params, name, None) for name in RunContext.model_fields if name != "provider"
    }
    return RunContext(provider=getattr(params, "ci_provider", None), **fields)


def context_params(env: Mapping[str, str], *, per_job: bool = True) -> dict[str, str | int]:
    """The CI environment's context as parameter values (`provider` as `ci_provider`).

    `per_job=False` leaves the job out: in `analyze-run` each job's name is its job.
    """
    found = context_from_env(env).model_dump(exclude_none=True)
    if not per_job:
        found.pop("job", None)
    if "provider" in found:
        found["ci_provider"] = found.pop("provider")
    return found
