#!/usr/bin/env python3
"""Download the log of EVERY failed job of a CI run, for one `workflowai trigger` call.

    failed_logs.py github --repo OWNER/NAME --run-id 123 [--attempt 1] --out logs
    failed_logs.py gitlab --project 1234 --pipeline 5678 --out logs

Writes each log to `<out>/<job id>.log` and prints one `JOB NAME=<path>` line per job, the
form `workflowai trigger analyze-log --file` takes (an `=` or a line break in a job name
becomes `-`). GitHub: `GET /repos/{repo}/actions/runs/{id}/attempts/{n}/jobs` (every page),
jobs that concluded `failure` or `timed_out`, logs from `GET /repos/{repo}/actions/jobs/{id}/logs`
(a redirect to blob storage, followed without the token). GitLab: `GET
/projects/{id}/pipelines/{id}/jobs?scope[]=failed` (every page), skipping jobs allowed to fail,
logs from `GET /projects/{id}/jobs/{id}/trace`. At most `--max-jobs` (default 20) logs.

Tokens and exit codes as in post_report.py (beside this file); exit 0 with no output when no
job failed. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.parse
from pathlib import Path

from post_report import Api, PostError, next_link, token_for

GITHUB_FAILED = {"failure", "timed_out"}
MAX_PAGES = 50


def file_arg(name: str, path: Path) -> str:
    """`NAME=path` for `trigger --file`: the name may hold no `=` and no line break."""
    clean = re.sub(r"[=\r\n]+", "-", name).strip() or "job"
    return f"{clean}={path}"


def github_failed(api: Api, repo: str, run_id: int, attempt: int) -> list[tuple[int, str]]:
    repo_path = urllib.parse.quote(repo, safe="/")
    url: str | None = (
        f"/repos/{repo_path}/actions/runs/{run_id}/attempts/{attempt}/jobs?per_page=100"
    )
    failed: list[tuple[int, str]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page = api.call("GET", url)
        for job in page.data.get("jobs", []):
            if job.get("conclusion") in GITHUB_FAILED:
                failed.append((int(job["id"]), str(job.get("name") or job["id"])))
        url = next_link(page.headers)
    return failed


def gitlab_failed(api: Api, project: str, pipeline: int) -> list[tuple[int, str]]:
    jobs = f"/projects/{urllib.parse.quote(project, safe='')}/pipelines/{pipeline}/jobs"
    failed: list[tuple[int, str]] = []
    page: str | None = "1"
    for _ in range(MAX_PAGES):
        if not page:
            break
        answer = api.call("GET", f"{jobs}?scope[]=failed&per_page=100&page={page}")
        for job in answer.data:
            if job.get("status") == "failed" and not job.get("allow_failure"):
                failed.append((int(job["id"]), str(job.get("name") or job["id"])))
        page = answer.headers.get("x-next-page", "").strip() or None
    return failed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="forge", required=True)
    github = sub.add_parser("github")
    github.add_argument("--repo", required=True, help="OWNER/NAME")
    github.add_argument("--run-id", required=True, type=int)
    github.add_argument("--attempt", type=int, default=1)
    github.add_argument(
        "--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com")
    )
    gitlab = sub.add_parser("gitlab")
    gitlab.add_argument("--project", required=True, help="project id or path")
    gitlab.add_argument("--pipeline", required=True, type=int)
    gitlab.add_argument(
        "--api-url", default=os.environ.get("CI_API_V4_URL", "https://gitlab.com/api/v4")
    )
    for forge in (github, gitlab):
        forge.add_argument("--out", required=True, type=Path, help="folder for the logs")
        forge.add_argument("--max-jobs", type=int, default=20)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    token = token_for(args.forge)
    if not token:
        print(f"error: no {args.forge} token in the environment", file=sys.stderr)
        return 2
    try:
        if args.forge == "github":
            api = Api(
                args.api_url,
                {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                    "User-Agent": "workflowai-failed-logs",
                },
            )
            failed = github_failed(api, args.repo, args.run_id, args.attempt)
            repo = urllib.parse.quote(args.repo, safe="/")
            log_url = f"/repos/{repo}/actions/jobs/{{}}/logs"
        else:
            api = Api(
                args.api_url, {"PRIVATE-TOKEN": token, "User-Agent": "workflowai-failed-logs"}
            )
            failed = gitlab_failed(api, str(args.project), args.pipeline)
            project = urllib.parse.quote(str(args.project), safe="")
            log_url = f"/projects/{project}/jobs/{{}}/trace"
        if len(failed) > args.max_jobs:
            print(
                f"note: {len(failed)} jobs failed, analyzing the first {args.max_jobs}",
                file=sys.stderr,
            )
        args.out.mkdir(parents=True, exist_ok=True)
        for job_id, name in failed[: args.max_jobs]:
            path = args.out / f"{job_id}.log"
            api.download(log_url.format(job_id), str(path))
            print(file_arg(name, path))
    except PostError as exc:
        print(f"error: {str(exc).replace(token, '***')}", file=sys.stderr)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
