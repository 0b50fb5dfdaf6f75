#!/usr/bin/env python3
"""Create or update ONE WorkflowAI report comment on a GitHub pull request or GitLab merge request.

    post_report.py github --repo OWNER/NAME --pr 42 --body-file report.md
    post_report.py gitlab --project 1234 --mr 7 --body-file report.md

The comment is found again by a hidden marker (`<!-- workflowai:report -->` by default) on its
first line AND by its author: the user the token belongs to (GitHub `GET /user`, GitLab
`GET /user`). A GitHub Actions GITHUB_TOKEN may not read `/user` (403); its comments are then
recognised as `github-actions[bot]`'s (`--bot-login` to change). So a reviewer who quotes the
report, marker included, never has their comment overwritten. Existing comments are read page
by page (GitHub: `Link: rel="next"`; GitLab: `X-Next-Page`).

Tokens come from the environment only (GitHub: GITHUB_TOKEN or GH_TOKEN; GitLab:
WORKFLOWAI_GITLAB_TOKEN or GITLAB_TOKEN) and are never printed. Standard library only: it runs
on the CI runner next to `workflowai trigger`.

Exit codes: 0 created or updated (the comment's URL or id on stdout); 2 bad usage or no token;
3 the API refused the request (4xx: no such PR/MR, body refused); 4 the API is unreachable
(connection, timeout, 5xx, 429); 5 the API refused the token (401/403 on a write or a read
that needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

MARKER = "<!-- workflowai:report -->"
GITHUB_BOT = "github-actions[bot]"
# GitHub refuses comment bodies over 65536 characters; GitLab notes allow 1,000,000
MAX_BODY = {"github": 65_536, "gitlab": 1_000_000}
TRUNCATED = (
    "\n\n_(report truncated to fit the comment size limit; the full report is in the Prefect UI)_\n"
)
TIMEOUT_S = 30
MAX_PAGES = 100


class PostError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Answer:
    status: int
    data: Any
    headers: dict[str, str]


def _error_message(raw: bytes) -> str:
    """The `message`/`error` field of an API error, short; never the whole body."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return ""
    if isinstance(payload, dict):
        for key in ("message", "error", "error_description"):
            value = payload.get(key)
            if isinstance(value, str):
                return " ".join(value.split())[:200]
    return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by `Api.download` only, without the token to other hosts
    (urllib's own handler would copy the Authorization header to wherever it is sent)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Api:
    """A tiny JSON client: one base URL, one auth header, errors mapped to exit codes."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.origin = _origin(self.base_url)

    def _open(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        if not url.startswith("http"):
            url = self.base_url + url
        # the token goes to the API's own origin only (a Link or Location elsewhere gets none)
        headers = dict(self.headers) if _origin(url) == self.origin else {}
        headers.setdefault("Accept", "application/json")
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            return _OPENER.open(request, timeout=TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            status = exc.code
            if 300 <= status < 400:
                return exc  # a redirect: the caller decides whether to follow it
            text = _error_message(exc.read())
            message = f"{where}: {status} {exc.reason}" + (f": {text}" if text else "")
            if status in (401, 403):
                raise PostError(f"the API refused the token ({message})", 5) from None
            if status == 429 or status >= 500:
                raise PostError(f"the API is unavailable ({message})", 4) from None
            raise PostError(f"the API refused the request ({message})", 3) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PostError(f"the API is unreachable ({where}: {reason})", 4) from None

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Answer:
        with self._open(method, url, body) as response:
            raw = response.read()
            if 300 <= response.status < 400:
                raise PostError(f"unexpected redirect from {method} {url.split('?')[0]}", 3)
            return Answer(
                response.status,
                json.loads(raw) if raw else None,
                {k.lower(): v for k, v in response.headers.items()},
            )

    def download(self, url: str, dest: str, max_redirects: int = 5) -> int:
        """Stream `url` (following redirects, token only to the API) into `dest`; bytes."""
        for _ in range(max_redirects + 1):
            with self._open("GET", url) as response:
                if 300 <= response.status < 400:
                    url = urllib.parse.urljoin(url, response.headers.get("Location", ""))
                    continue
                size = 0
                with open(dest, "wb") as out:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        size += len(chunk)
                return size
        raise PostError(f"too many redirects for {url.split('?')[0]}", 3)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def next_link(headers: dict[str, str]) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header, if any."""
    for part in headers.get("link", "").split(","):
        match = re.match(r'\s*<([^>]+)>\s*;.*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


def with_marker(body: str, marker: str, limit: int) -> str:
    text = f"{marker}\n{body}"
    if len(text) > limit:
        text = text[: limit - len(TRUNCATED)] + TRUNCATED
    return text


def is_ours(comment_body: str, author: str, me: str, marker: str) -> bool:
    """Our report: the marker opens the body and the token's user wrote it."""
    return author == me and comment_body.lstrip().startswith(marker)


def post_github(args: argparse.Namespace, token: str, body: str) -> str:
    api = Api(
        args.api_url,
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "workflowai-post-report",
        },
    )
    try:
        me = api.call("GET", "/user").data["login"]
    except PostError as exc:
        # an Actions GITHUB_TOKEN is an installation token: /user answers 403
        if exc.code != 5 or "403" not in str(exc):
            raise
        me = args.bot_login
    repo = urllib.parse.quote(args.repo, safe="/")
    url: str | None = f"/repos/{repo}/issues/{args.pr}/comments?per_page=100"
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page = api.call("GET", url)
        for comment in page.data:
            author = (comment.get("user") or {}).get("login", "")
            if is_ours(comment.get("body") or "", author, me, args.marker):
                api.call("PATCH", f"/repos/{repo}/issues/comments/{comment['id']}", {"body": body})
                return f"updated {comment.get('html_url') or comment['id']}"
        url = next_link(page.headers)
    created = api.call("POST", f"/repos/{repo}/issues/{args.pr}/comments", {"body": body})
    return f"created {created.data.get('html_url') or created.data.get('id')}"


def post_gitlab(args: argparse.Namespace, token: str, body: str) -> str:
    api = Api(args.api_url, {"PRIVATE-TOKEN": token, "User-Agent": "workflowai-post-report"})
    me = api.call("GET", "/user").data["username"]
    project = urllib.parse.quote(str(args.project), safe="")
    notes = f"/projects/{project}/merge_requests/{args.mr}/notes"
    page: str | None = "1"
    for _ in range(MAX_PAGES):
        if not page:
            break
        answer = api.call("GET", f"{notes}?per_page=100&sort=asc&order_by=created_at&page={page}")
        for note in answer.data:
            author = (note.get("author") or {}).get("username", "")
            if not note.get("system") and is_ours(note.get("body") or "", author, me, args.marker):
                api.call("PUT", f"{notes}/{note['id']}", {"body": body})
                return f"updated note {note['id']}"
        page = answer.headers.get("x-next-page", "").strip() or None
    created = api.call("POST", notes, {"body": body})
    return f"created note {created.data.get('id')}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="forge", required=True)
    github = sub.add_parser("github", help="a pull-request comment")
    github.add_argument("--repo", required=True, help="OWNER/NAME")
    github.add_argument("--pr", required=True, type=int)
    github.add_argument(
        "--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com")
    )
    github.add_argument("--bot-login", default=GITHUB_BOT, help="author when /user is refused")
    gitlab = sub.add_parser("gitlab", help="a merge-request note")
    gitlab.add_argument("--project", required=True, help="project id or path")
    gitlab.add_argument("--mr", required=True, type=int, help="merge request iid")
    gitlab.add_argument(
        "--api-url", default=os.environ.get("CI_API_V4_URL", "https://gitlab.com/api/v4")
    )
    for forge in (github, gitlab):
        forge.add_argument("--body-file", required=True, help="the Markdown report")
        forge.add_argument("--marker", default=MARKER, help="hidden first line that finds it again")
    return parser.parse_args(argv)


def token_for(forge: str) -> str | None:
    names = (
        ("GITHUB_TOKEN", "GH_TOKEN")
        if forge == "github"
        else ("WORKFLOWAI_GITLAB_TOKEN", "GITLAB_TOKEN")
    )
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    token = token_for(args.forge)
    if not token:
        print(f"error: no {args.forge} token in the environment", file=sys.stderr)
        return 2
    try:
        with open(args.body_file, encoding="utf-8", errors="replace") as handle:
            body = with_marker(handle.read(), args.marker, MAX_BODY[args.forge])
    except OSError as exc:
        print(f"error: cannot read the report: {exc.strerror}", file=sys.stderr)
        return 2
    post = post_github if args.forge == "github" else post_gitlab
    try:
        print(post(args, token, body))
    except PostError as exc:
        # messages are built from status lines and short API error fields, never the token
        print(f"error: {str(exc).replace(token, '***')}", file=sys.stderr)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
