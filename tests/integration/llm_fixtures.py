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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
