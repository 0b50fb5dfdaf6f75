"""deployments/ci/post_report.py against a FAKE GitHub / GitLab REST API on 127.0.0.1.

There is no GitHub or GitLab here, so `FakeForge` (below) serves the few endpoints the script
uses, shaped as their documentation describes: GitHub `GET /user`, `GET|POST
/repos/{o}/{r}/issues/{n}/comments` (pages with a `Link: rel="next"` header), `PATCH
/repos/{o}/{r}/issues/comments/{id}` (author only); GitLab `GET /user`, `GET|POST
/projects/{id}/merge_requests/{iid}/notes` (pages with `X-Next-Page`), `PUT .../notes/{id}`.
A GitHub Actions token is refused on `/user` (403) and writes as `github-actions[bot]`, as the
real one does. The script runs as CI runs it: a subprocess with the token in its environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deployments" / "ci" / "post_report.py"
MARKER = "<!-- workflowai:report -->"
# clearly fake tokens, built at run time
USER_TOKEN = "ghp_" + "fakeFAKEfake0123456789" * 2
ACTIONS_TOKEN = "ghs_" + "fakeACTIONS0123456789" * 2
GITLAB_TOKEN = "glpat-" + "fakeGITLAB0123456789"
REPORT = "### Why this build failed (WorkflowAI)\n\n2 jobs failed with the same cause.\n"


@dataclass
class FakeForge:
    """In-memory comments/notes plus a log of requests; `fail` injects a status by path."""

    users: dict[str, str] = field(
        default_factory=lambda: {USER_TOKEN: "workflowai-bot", GITLAB_TOKEN: "project_7_bot"}
    )
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    pr: int = 42
    base_url: str = ""
    next_id: int = 1000

    def add(self, body: str, author: str) -> dict[str, Any]:
        self.next_id += 1
        item = {"id": self.next_id, "body": body, "author": author}
        self.comments.append(item)
        return item

    def writes(self) -> list[str]:
        return [method for method, _ in self.requests if method != "GET"]


def _handler(forge: FakeForge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _who(self) -> str | None:
            token = self.headers.get("PRIVATE-TOKEN") or self.headers.get(
                "Authorization", ""
            ).removeprefix("Bearer ")
            if token == ACTIONS_TOKEN:
                return "github-actions[bot]"
            return forge.users.get(token)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _route(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            path = url.path
            forge.requests.append((method, path))
            for prefix, status in forge.fail.items():
                if path.startswith(prefix):
                    return self._send(status, {"message": f"injected {status}"})
            who = self._who()
            if who is None:
                return self._send(401, {"message": "Bad credentials"})
            if path == "/user":
                if who == "github-actions[bot]":
                    return self._send(403, {"message": "Resource not accessible by integration"})
                return self._send(200, {"login": who, "username": who, "id": 7})
            gh = path.startswith("/repos/")
            parts = path.strip("/").split("/")
            if gh and parts[-1] == "comments" and parts[-3] == "issues":
                if int(parts[-2]) != forge.pr:
                    return self._send(404, {"message": "Not Found"})
                if method == "POST":
                    item = forge.add(self._body()["body"], who)
                    return self._send(201, _github(item, forge))
                return self._page(query, gh=True)
            if gh and parts[-2] == "comments" and method == "PATCH":
                return self._edit(int(parts[-1]), who, gh=True)
            if path.startswith("/projects/") and parts[-1] == "notes":
                if int(parts[-2]) != forge.pr:
                    return self._send(404, {"message": "404 Not found"})
                if method == "POST":
                    item = forge.add(self._body()["body"], who)
                    return self._send(201, _gitlab(item))
                return self._page(query, gh=False)
            if path.startswith("/projects/") and parts[-2] == "notes" and method == "PUT":
                return self._edit(int(parts[-1]), who, gh=False)
            return self._send(404, {"message": "Not Found"})

        def _page(self, query: dict[str, str], gh: bool) -> None:
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            items = forge.comments[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(forge.comments)
            if gh:
                headers = {}
                if more:
                    url = f"{forge.base_url}{urllib.parse.urlsplit(self.path).path}"
                    headers["Link"] = f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"'
                return self._send(200, [_github(i, forge) for i in items], headers)
            headers = {"X-Next-Page": str(page + 1) if more else ""}
            return self._send(200, [_gitlab(i) for i in items], headers)

        def _edit(self, item_id: int, who: str, gh: bool) -> None:
            item = next((c for c in forge.comments if c["id"] == item_id), None)
            if item is None:
                return self._send(404, {"message": "Not Found"})
            if item["author"] != who:
                return self._send(403, {"message": "only the author may edit"})
            item["body"] = self._body()["body"]
            return self._send(200, _github(item, forge) if gh else _gitlab(item))

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_PUT(self) -> None:
            self._route("PUT")

    return Handler


def _github(item: dict[str, Any], forge: FakeForge) -> dict[str, Any]:
    url = f"https://github.example/o/r/pull/{forge.pr}#issuecomment-{item['id']}"
    return {
        "id": item["id"],
        "body": item["body"],
        "user": {"login": item["author"]},
        "html_url": url,
    }


def _gitlab(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "body": item["body"],
        "author": {"username": item["author"]},
        "system": False,
    }


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    state = FakeForge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


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
