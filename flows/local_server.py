"""A local Prefect server the CLI starts once and keeps, instead of an ephemeral one per run.

With no PREFECT_API_URL, Prefect starts a temporary server for every CLI run and stops it at
exit: seconds of start-up (migrations check, app build, services) and a few more to stop, on
every `workflowai analyze-log`. Here the first run starts the same server (Prefect's own app in
ephemeral mode: the REST API on 127.0.0.1, no UI, no scheduling services, the same database
under PREFECT_HOME) as a detached process, records its address in PREFECT_HOME, and later runs
reuse it; runs are recorded exactly as before. The server stops by itself after
`idle_s` seconds without a request or open connection, or with `workflowai server stop`.
It also runs analyses for the CLI in its warm process (flows/local_analysis.py).

`python -m flows.local_server --port N --idle-seconds S` is the server process itself.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workflowai.errors import ConfigError
from workflowai.local_stack import QUIET_ENV, free_port, wait_healthy

STATE_FILE = "workflowai-local-server.json"
TOKEN_FILE = "workflowai-local-server.token"
LOG_FILE = "workflowai-local-server.log"
_MODULE = "flows.local_server"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _is_our_server(pid: int) -> bool:
    """The PID still runs this module (a recycled PID must never be signalled)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return _MODULE.encode() in cmdline


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One CLI at a time decides whether to start the server (others wait, then reuse it)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / f"{STATE_FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prefect_home() -> Path:
    """PREFECT_HOME as Prefect's settings resolve it (profile included)."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home)


def running_server(home: Path) -> str | None:
    """The API URL of the kept server for this PREFECT_HOME when it answers, else None."""
    state = _read_state(home)
    if state is None or not _is_our_server(int(state.get("pid", 0))):
        return None
    url = str(state.get("url", ""))
    return url if url and _healthy(url) else None


def _creates_database(home: Path) -> bool:
    """Whether a server started for `home` creates Prefect's default SQLite database there
    (no database URL of its own configured, no `prefect.db` yet)."""
    names = ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL")
    configured = any(os.environ.get(name) for name in names)
    return not configured and not (home / "prefect.db").exists()


def _warm_in_background(warm: Callable[[], object] | None) -> threading.Thread | None:
    """Runs `warm` in a thread; a failure there only leaves the work to the run itself."""
    if warm is None:
        return None

    def run() -> None:
        # warming is an optimization: the run itself redoes what failed and reports errors
        with contextlib.suppress(Exception):
            warm()

    thread = threading.Thread(target=run, name="workflowai-warm-up", daemon=True)
    thread.start()
    return thread


def ensure_server(
    home: Path,
    idle_s: int,
    timeout_s: float = 120.0,
    *,
    warm: Callable[[], object] | None = None,
    notify: Callable[[str], None] | None = None,
    preload_generator: bool = False,
) -> str:
    """The API URL of the kept server for `home`, started (detached) when none answers.

    Starting one takes seconds (~3 s here; ~11 s the first time, when Prefect creates its
    database and runs its migrations), during which this process only waits. So `warm` (what
    the caller's run needs anyway: imports, opening the store, loading a model) runs in a
    thread meanwhile, and is joined before returning; `notify` gets one line saying why the
    caller waits. Neither is called when a server already answers. `preload_generator`: the
    server loads the configured model once this process has exited (this run loads its own;
    the next run, likely with the model too, then finds it loaded), instead of on its first
    request that needs it.

    Raises:
        ConfigError: the server exited or did not become healthy within `timeout_s`.
    """
    with _locked(home):
        url = running_server(home)
        if url is not None:
            return url
        if notify is not None:
            notify(
                "starting the local Prefect server, kept for later runs"
                + (" (first start: creating its database)" if _creates_database(home) else "")
            )
        port = free_port()
        url = f"http://127.0.0.1:{port}/api"
        token = secrets.token_hex(16)
        _write_private(home / TOKEN_FILE, token)
        env = {**os.environ, **QUIET_ENV, "PREFECT_HOME": str(home)}
        env.pop("PREFECT_API_URL", None)
        args = [sys.executable, "-m", _MODULE, "--port", str(port), "--idle-seconds", str(idle_s)]
        if preload_generator:
            args += ["--preload-generator-after", str(os.getpid())]
        with (home / LOG_FILE).open("ab") as log:
            process = subprocess.Popen(
                [*args, "--token-file", str(home / TOKEN_FILE)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives this CLI; Ctrl-C here must not stop it
            )
        warming = _warm_in_background(warm)
        try:
            wait_healthy(url, timeout_s, process)  # type: ignore[arg-type]
        except BaseException as exc:
            # Ctrl-C included: a server nobody recorded would hold the database (mid-migration
            # on a first start) beside the one the next run starts, until its idle stop
            if process.poll() is None:
                process.terminate()
            if isinstance(exc, ConfigError):
                raise ConfigError(f"{exc}; see {home / LOG_FILE}") from exc
            raise
        if warming is not None:
            warming.join()
        state = {"pid": process.pid, "url": url, "token": token}
        _write_private(home / STATE_FILE, json.dumps(state))
        return url


def _write_private(path: Path, text: str) -> None:
    """Write a file only this user can read (it holds the analysis token)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def cli_state() -> tuple[str | None, str | None]:
    """(URL, token) of the kept server for this environment's PREFECT_HOME, read without
    importing Prefect; (None, None) when PREFECT_API_URL is set or no server was recorded."""
    if os.environ.get("PREFECT_API_URL"):
        return None, None
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    state = _read_state(home) or {}
    return state.get("url"), state.get("token")


def stop_server(home: Path, timeout_s: float = 20.0) -> bool:
    """Stop the kept server of `home` (SIGTERM, then SIGKILL); False when none was running."""
    with _locked(home):
        state = _read_state(home)
        (home / STATE_FILE).unlink(missing_ok=True)
    pid = int(state.get("pid", 0)) if state else 0
    if not pid or not _is_our_server(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _is_our_server(pid):
        time.sleep(0.1)
    if _is_our_server(pid):
        os.kill(pid, signal.SIGKILL)
    return True


@contextmanager
def local_api(
    *,
    keep: bool,
    idle_s: int,
    warm: Callable[[], object] | None = None,
    notify: Callable[[str], None] | None = None,
    preload_generator: bool = False,
) -> Iterator[str | None]:
    """Runs inside point at the kept local server when Prefect has no API URL of its own.

    Yields the URL used, or None when Prefect's own configuration applies (an API URL is
    set, ephemeral mode is off, or `keep` is False: then Prefect starts its temporary server).
    `warm`, `notify` and `preload_generator`: see `ensure_server` (used when it starts one).
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    current = get_current_settings()
    if not keep or current.api.url or not current.server.ephemeral.enabled:
        yield None
        return
    url = ensure_server(
        Path(current.home), idle_s, warm=warm, notify=notify, preload_generator=preload_generator
    )
    # no heartbeat thread: the engine joins it at the end of every flow run, which waits up to
    # a second, and a server in ephemeral mode runs no proactive trigger that reads heartbeats
    updates = {PREFECT_API_URL: url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=updates):
        yield url


class _IdleTracker:
    """ASGI wrapper: counts open requests and websockets and when the last one ended."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.open = 0
        self.last = time.monotonic()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


def serve(port: int, idle_s: int, token: str, preload_generator_after: int | None = None) -> None:
    """The server process: Prefect's app (ephemeral mode) plus the warm analysis endpoint
    (flows/local_analysis.py) until idle for `idle_s` seconds; `preload_generator_after`: load
    the configured model too, once the process with that PID (the CLI whose run with the model
    started this server) has exited."""
    # what Prefect's own temporary server sets: no UI, no scheduling services
    os.environ.update({"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"})
    import uvicorn
    from prefect.server.api.server import create_app

    from flows.local_analysis import AnalysisEndpoint

    endpoint = AnalysisEndpoint(
        create_app(ephemeral=True, final=True), f"http://127.0.0.1:{port}/api", token
    )
    app = _IdleTracker(endpoint)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )

    def watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.2)
        app.last = time.monotonic()  # idle counts from when it is up, not while starting
        preload = threading.Thread(
            target=endpoint.preload, args=(preload_generator_after,), daemon=True
        )
        preload.start()
        while not server.should_exit:
            if app.idle_for() >= idle_s:
                server.should_exit = True
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True).start()
    server.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the kept local Prefect server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-seconds", type=int, default=600)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--preload-generator-after", type=int, metavar="PID")
    arguments = parser.parse_args()
    token = arguments.token_file.read_text().strip()
    serve(arguments.port, arguments.idle_seconds, token, arguments.preload_generator_after)
