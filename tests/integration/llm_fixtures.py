"""Helpers for the generation tests: the real llama.cpp server, and small fault injectors.

`llama_server()` starts llama.cpp's OpenAI-compatible server with the repository's own script
on a free 127.0.0.1 port and stops it by PID. The fault injectors are deliberately fake
servers: one accepts connections and never answers (timeouts), one answers fixed HTTP bodies
(malformed JSON, 4xx/5xx), one is a port nobody listens on, and one answers a script of chat
completions (tool calls, steered answers) that a real model cannot be made to give on demand.
The real backends are tested against the real server in the same modules.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workflowai.analysis.report import Category, EvidenceBlock, LogLine
from workflowai.llm.draft_checks import CONFIDENCE_CAP, UNKNOWN_CONFIDENCE_CAP, cited_lines
from workflowai.llm.prompts import answer_schema, build_report_prompt
from workflowai.llm.report_writer import DraftOutcome, parse_report_draft
from workflowai.llm.shell_pipes import find_pipe_to_shell
from workflowai.schemas import GenerationRequest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nobody listens on right now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(run_dir: Path) -> Iterator[str]:
    """Start the real llama.cpp server (scripts/llama-server-start.sh); yield its /v1 URL."""
    port = free_port()
    env = {**os.environ, "LLAMA_PORT": str(port), "LLAMA_RUN_DIR": str(run_dir)}
    start = subprocess.run(
        [str(REPO_ROOT / "scripts/llama-server-start.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if start.returncode != 0:
        raise RuntimeError(f"llama server did not start:\n{start.stdout}\n{start.stderr}")
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        subprocess.run([str(REPO_ROOT / "scripts/llama-server-stop.sh")], env=env, check=False)


@contextmanager
def silent_server() -> Iterator[str]:
    """Fault injector: accepts TCP connections and never answers; yields its /v1 URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def canned_http_server(status: int, body: bytes) -> Iterator[str]:
    """Fault injector: answers every POST with `status` and `body` (JSON content type)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{name}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }
    return {"message": message, "finish_reason": "tool_calls"}


def answer(text: str) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}


@contextmanager
def scripted_server(script: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Answers request N with script[N] (the last entry repeats); records request bodies."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            choice = script[min(len(received), len(script)) - 1]
            body = json.dumps(
                {
                    "id": f"cmpl-{len(received)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "scripted",
                    "choices": [{"index": 0, **choice}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", received
    finally:
        server.shutdown()
        server.server_close()


# how a real model's draft may fall back (report_writer, agent): anything else is a bug
FALLBACK_PREFIXES = (
    "the model's answer",
    "the model failed",
    "the agent made",
    "the agent timed out",
)


def assert_reviewed(
    outcome: DraftOutcome, evidence: Sequence[EvidenceBlock], category: Category | None
) -> None:
    """A real model's outcome under the draft review: an accepted draft keeps every rule
    (rule-made category, capped confidence, no pipe-to-shell fix, only shown lines cited);
    a rejected one has no draft and a reason."""
    if outcome.draft is None:
        assert outcome.error is not None
        assert outcome.error.startswith(FALLBACK_PREFIXES), outcome.error
        return
    draft = outcome.draft
    assert outcome.error is None
    found = category is not None and category is not Category.UNKNOWN
    if found:
        assert draft.category is category
    assert draft.confidence <= (CONFIDENCE_CAP if found else UNKNOWN_CONFIDENCE_CAP)
    assert all(find_pipe_to_shell(fix) is None for fix in draft.suggested_fixes)
    shown = {line.number for block in evidence for line in block.lines}
    for text in (draft.summary, draft.root_cause, *draft.suggested_fixes):
        for first, last in cited_lines(text):
            assert set(range(first, last + 1)) <= shown, text


def assert_review_rejects_a_contradicted_category(
    raw_text: str, outcome: DraftOutcome, evidence: Sequence[EvidenceBlock]
) -> None:
    """The real answer, reviewed against a prompt whose rule-made category differs from its
    own, is rejected for that; an answer that is not even a draft was rejected for its
    shape, with the same reason the parser gives."""
    if not raw_text.strip():  # no answer (empty, a stopped agent, a failed call)
        assert outcome.draft is None
        assert outcome.error is not None
        empty = outcome.error.startswith("the model's answer is empty")
        assert empty or outcome.error.startswith(FALLBACK_PREFIXES[1:]), outcome.error
        return
    shape = parse_report_draft(raw_text)
    if shape.draft is None:
        assert outcome.draft is None
        assert outcome.error is not None and shape.error is not None
        assert outcome.error.startswith(shape.error.split(" (")[0])
        return
    other = Category.NETWORK if shape.draft.category is not Category.NETWORK else Category.TEST
    prompt = build_report_prompt(evidence=evidence, hits=[], category_hint=other)
    reviewed = parse_report_draft(raw_text, prompt=prompt)
    assert reviewed.draft is None
    assert f"but the rules found {other.value!r}" in (reviewed.error or "")


def npm_schema_request(max_tokens: int) -> GenerationRequest:
    """A short report request (two npm ERESOLVE lines, category dependency) held to the
    answer's JSON schema, greedy: what both backends' constrained-decoding tests send."""
    lines = ["npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree"]
    evidence = [
        EvidenceBlock(
            start_line=40,
            end_line=41,
            lines=[LogLine(number=40 + i, text=t) for i, t in enumerate(lines)],
            key_lines=[40, 41],
        )
    ]
    prompt = build_report_prompt(evidence=evidence, hits=[], category_hint=Category.DEPENDENCY)
    return GenerationRequest(
        messages=prompt.messages(),
        max_tokens=max_tokens,
        temperature=0,
        json_schema=answer_schema(),
    )
