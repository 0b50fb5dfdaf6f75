"""A local Prefect stack as child processes: one server on 127.0.0.1 and a process worker per pool.

Used by `workflowai serve`, the Prefect integration tests and `bench/trigger_load.py`. It only
manages processes and reads the server's health endpoint over HTTP; it never imports Prefect
(the library stays Prefect-free). Every process is stopped by the PID this module started:
workers with SIGINT (a worker may ignore a first SIGTERM), the server with SIGTERM, then SIGKILL
after a grace period.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from workflowai.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POOLS: tuple[str, ...] = ("cpu", "gpu")

# quiet, offline, no telemetry: applied to every process the stack starts
QUIET_ENV: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prefect_command(*args: str) -> list[str]:
    """The Prefect CLI of this interpreter's environment (not whatever is first on PATH)."""
    return [sys.executable, "-m", "prefect", *args]


def wait_healthy(
    api_url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until `<api_url>/health` answers 200.

    Raises:
        ConfigError: the server process exited or did not answer within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ConfigError(f"the Prefect server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise ConfigError(f"the Prefect server at {api_url} did not become healthy in {timeout_s}s")


def _child_setup() -> None:
    """In the child, before exec: a parent started in the background ignores SIGINT, and
    children inherit that; workers must stop on SIGINT, so restore the default handlers. The
    umask keeps what the server and workers write (database, results, logs) private too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.umask(0o077)


def make_private(folder: Path) -> Path:
    """Create `folder` (and missing parents) and make it 0700: only its owner may enter it.

    The stack's folder holds the Prefect database (run parameters, logs, artifacts), flow
    results and the log storage: nobody else on the machine should read them.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def stop_process(process: subprocess.Popen[bytes], sig: int, grace_s: float = 20.0) -> int:
    """Send `sig` to the process we started, wait, escalate to SIGKILL; return its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return int(process.returncode)


@dataclass
class LocalStack:
    """A Prefect server plus one process worker per pool, all children of this process.

    `home` holds PREFECT_HOME (database, results, logs); it is made private (0700) and every
    child runs with umask 077. `database_url` switches the server to PostgreSQL
    (`postgresql+asyncpg://...`); None keeps SQLite under `home`. `auth_string`
    ("user:password") starts the server with Prefect's basic auth and gives it to every client
    process (CLI, deploy, workers).
    """

    home: Path
    port: int = 0
    host: str = "127.0.0.1"
    database_url: str | None = None
    worker_query_seconds: float = 10.0
    auth_string: str | None = field(default=None, repr=False)
    repo_dir: Path = REPO_ROOT
    extra_env: dict[str, str] = field(default_factory=dict)
    # server-only settings, e.g. PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS
    server_env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    task_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        self.home = self.home.resolve()

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def env(self) -> dict[str, str]:
        """The environment for any process that talks to this stack (CLI, deploy, workers)."""
        env = {**os.environ, **QUIET_ENV, **self.extra_env}
        env["PREFECT_HOME"] = str(self.home / "prefect")
        env["PREFECT_API_URL"] = self.api_url
        env["PREFECT_WORKER_QUERY_SECONDS"] = str(self.worker_query_seconds)
        env.pop("PREFECT_API_KEY", None)
        env.pop("PREFECT_API_AUTH_STRING", None)
        if self.auth_string:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string
        return env

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        make_private(self.home)
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        log = os.fdopen(fd, "ab")
        self._logs.append(log)
        return subprocess.Popen(
            args,
            cwd=self.repo_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup,
        )

    def start_server(self, timeout_s: float = 90.0) -> None:
        """Start `prefect server start` on host:port and wait until it is healthy."""
        env = self.env()
        env.pop("PREFECT_API_URL")  # the server itself must not point at an API
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        env["PREFECT_UI_API_URL"] = self.api_url
        if self.auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        env.update(self.server_env)
        args = prefect_command("server", "start", "--host", self.host, "--port", str(self.port))
        self.server = self._spawn("server", args, env)
        wait_healthy(self.api_url, timeout_s, self.server)

    def start_worker(
        self, pool: str, limit: int | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process worker polling `pool` (the pool must exist: run setup first).

        `env` adds to this worker's environment, which its runs inherit: the way to configure
        runs per pool, since the pools' templates take no env from callers.
        """
        args = prefect_command("worker", "start", "--pool", pool, "--type", "process")
        if limit is not None:
            args += ["--limit", str(limit)]
        args += ["--name", f"{pool}-{os.getpid()}-{len(self.workers)}"]
        worker = self._spawn(f"worker-{pool}", args, {**self.env(), **(env or {})})
        self.workers[pool] = worker
        return worker

    def start_task_worker(self, limit: int = 4, steps: str = "inline") -> subprocess.Popen[bytes]:
        """Start a task worker for background analyses (`flows/task_worker.py`): one
        long-lived process that keeps the store and embedder loaded between runs; `steps`
        inline (one task run per analysis) or flow (an analyze-log flow run per analysis)."""
        name = f"task-worker-{len(self.task_workers)}"
        args = [sys.executable, "-m", "flows.task_worker", "--limit", str(limit)]
        args += ["--steps", steps]
        worker = self._spawn(name, args, self.env())
        self.task_workers.append(worker)
        return worker

    def start_workers(self, pools: tuple[str, ...] = DEFAULT_POOLS) -> None:
        for pool in pools:
            self.start_worker(pool)

    def stop(self) -> None:
        """Stop workers (SIGINT, wait) then the server (SIGTERM, wait); safe to call twice."""
        everyone = [*self.workers.values(), *self.task_workers]
        for worker in everyone:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in everyone:
            stop_process(worker, signal.SIGINT)
        self.workers.clear()
        self.task_workers.clear()
        if self.server is not None:
            stop_process(self.server, signal.SIGTERM)
            self.server = None
        for log in self._logs:
            log.close()
        self._logs.clear()

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines of one process's log (`server`, `worker-cpu`, ...), for diagnostics."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
