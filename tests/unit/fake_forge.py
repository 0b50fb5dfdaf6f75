"""A FAKE GitHub / GitLab REST API on 127.0.0.1 for the CI scripts in deployments/ci/.

There is no GitHub or GitLab here, so `FakeForge` serves the few endpoints the scripts use,
shaped as their documentation describes:
- GitHub: `GET /user`; `GET|POST /repos/{o}/{r}/issues/{n}/comments` (pages with a
  `Link: rel="next"` header); `PATCH /repos/{o}/{r}/issues/comments/{id}` (author only);
  `GET /repos/{o}/{r}/actions/runs/{id}/attempts/{n}/jobs` (paged); `GET
  /repos/{o}/{r}/actions/jobs/{id}/logs` answering 302 to blob storage on ANOTHER origin
  (`localhost` instead of `127.0.0.1`), as GitHub does. A GitHub Actions token is refused on
  `/user` (403) and writes as `github-actions[bot]`, as the real one does.
- GitLab: `GET /user`; `GET|POST /projects/{id}/merge_requests/{iid}/notes` (pages with
  `X-Next-Page`); `PUT .../notes/{id}`; `GET /projects/{id}/pipelines/{id}/jobs?scope[]=failed`
  (paged); `GET /projects/{id}/jobs/{id}/trace`.
Every request is logged with whether it carried a token, so tests can check where it went.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# clearly fake tokens, built at run time
USER_TOKEN = "ghp_" + "fakeFAKEfake0123456789" * 2
ACTIONS_TOKEN = "ghs_" + "fakeACTIONS0123456789" * 2
GITLAB_TOKEN = "glpat-" + "fakeGITLAB0123456789"


@dataclass
class FakeForge:
    """In-memory comments/notes plus a log of requests; `fail` injects a status by path."""

    users: dict[str, str] = field(
        default_factory=lambda: {USER_TOKEN: "workflowai-bot", GITLAB_TOKEN: "project_7_bot"}
    )
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # paths requested with a token (Authorization or PRIVATE-TOKEN header)
    with_token: list[str] = field(default_factory=list)
    # CI jobs: id, name, conclusion (GitHub) / status + allow_failure (GitLab), log
    jobs: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
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
            if self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN"):
                forge.with_token.append(path)
            if path.startswith("/blob/"):  # blob storage: pre-signed URL, no token needed
                return self._text(_job(forge, int(path.rsplit("/", 1)[1]))["log"])
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
            if gh and parts[-1] == "jobs" and "actions" in parts:
                return self._jobs_page(query, gh=True)
            if gh and parts[-1] == "logs":
                blob = f"http://localhost:{forge.port}/blob/{parts[-2]}"
                self.send_response(302)
                self.send_header("Location", f"{blob}?sig=signed")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if not gh and parts[-1] == "jobs" and "pipelines" in parts:
                return self._jobs_page(query, gh=False)
            if not gh and parts[-1] == "trace":
                return self._text(_job(forge, int(parts[-2]))["log"])
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

        def _text(self, text: str) -> None:
            raw = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _jobs_page(self, query: dict[str, str], gh: bool) -> None:
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            jobs = forge.jobs if gh else [j for j in forge.jobs if j.get("status") == "failed"]
            items = jobs[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(jobs)
            if gh:
                headers = {}
                if more:
                    url = f"{forge.base_url}{urllib.parse.urlsplit(self.path).path}"
                    headers["Link"] = f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"'
                payload = {"total_count": len(jobs), "jobs": [_strip(j) for j in items]}
                return self._send(200, payload, headers)
            headers = {"X-Next-Page": str(page + 1) if more else ""}
            return self._send(200, [_strip(j) for j in items], headers)

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


@contextmanager
def serve() -> Iterator[FakeForge]:
    """A FakeForge listening on 127.0.0.1 (a free port) until the block ends."""
    state = FakeForge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    state.base_url = f"http://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _job(forge: FakeForge, job_id: int) -> dict[str, Any]:
    return next(j for j in forge.jobs if j["id"] == job_id)


def _strip(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k != "log"}
