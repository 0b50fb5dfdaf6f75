"""The local Prefect server the CLI keeps between runs (flows/local_server.py), for real.

Two `workflowai analyze-log` processes without PREFECT_API_URL: the first starts the server,
the second reuses it, both runs are recorded there; `workflowai server stop` stops it; an idle
server stops by itself. Every server here is stopped by the PID the module recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flows import local_server
from flows.local_server import (
    STATE_FILE,
    TOKEN_FILE,
    ensure_server,
    running_server,
    stop_server,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOG = """Step 4/9: pip install -r requirements.txt
Collecting numpy==1.19.5
ERROR: Could not find a version that satisfies the requirement numpy==1.19.5
ERROR: No matching distribution found for numpy==1.19.5
##[error]Process completed with exit code 1.
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_API_KEY"}}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        WORKFLOWAI_HOME=str(tmp_path / "home"),
        # an empty source folder: no starter knowledge base to index (and no torch import)
        WORKFLOWAI_REINDEX__SOURCES=json.dumps([str(tmp_path / "no-kb")]),
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
    )
    (tmp_path / "no-kb").mkdir(exist_ok=True)
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from workflowai.cli import app; app()", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _server_alive(pid: int) -> bool:
    """The PID runs the server (an exited one may linger as a zombie with no command line
    until its adoptive parent reaps it)."""
    try:
        return b"flows.local_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


async def _recorded(url: str) -> tuple[list[str], int, int]:
    """Flow run names, the number of task runs and of artifacts the server holds."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(url) as client:
        names = [run.name for run in await client.read_flow_runs()]
        return names, len(await client.read_task_runs()), len(await client.read_artifacts())


def test_cli_runs_reuse_one_kept_server_until_stopped(tmp_path: Path) -> None:
    env = _env(tmp_path)
    home = Path(env["PREFECT_HOME"])
    log = tmp_path / "build.log"
    log.write_text(LOG)
    try:
        first = _cli(env, "analyze-log", str(log), "--format", "json")
        assert first.returncode == 0, first.stderr
        # the wait for the server is explained on stderr; stdout is the report alone
        assert "starting the local Prefect server" in first.stderr
        assert "first start: creating its database" in first.stderr
        state = json.loads((home / STATE_FILE).read_text())
        # the first run ran the flow in the CLI (a task run per step) and started the server
        _, task_runs, artifacts = asyncio.run(_recorded(state["url"]))
        assert task_runs >= 5 and artifacts >= 1
        second = _cli(env, "analyze-log", str(log), "--format", "json")
        assert second.returncode == 0, second.stderr
        assert second.stderr == ""  # a warm run has nothing to explain
        assert json.loads((home / STATE_FILE).read_text()) == state  # the same server
        one, two = json.loads(first.stdout), json.loads(second.stdout)
        # the same analysis; the history (kept with the server's home) has seen it once more
        assert (one.pop("history")["verdict"], two.pop("history")["verdict"]) == (
            "new",
            "recurring",
        )
        assert two == one
        status = _cli(env, "server", "status")
        assert status.returncode == 0 and status.stdout.strip() == state["url"]
        names, after, artifacts_after = asyncio.run(_recorded(state["url"]))
        assert names.count("analyze-log-build-build-log") == 2
        # the kept server's warm process ran the second with its steps inline: a flow run and
        # the same artifacts as the first (its report), no task runs
        assert after == task_runs and artifacts_after == 2 * artifacts
    finally:
        stopped = _cli(env, "server", "stop")
    assert stopped.stdout.strip() == "stopped"
    assert running_server(home) is None
    assert not _server_alive(state["pid"])
    assert _cli(env, "server", "status").returncode == 1


def test_an_idle_server_stops_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also: while a server starts, the caller's warm-up runs in another thread and is done
    when ensure_server returns, even when it fails; with a server running, neither warm-up
    nor notice."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = tmp_path / "prefect"
    warmed: list[tuple[str, bool]] = []
    notices: list[str] = []

    def warm() -> None:
        time.sleep(0.5)
        warmed.append((threading.current_thread().name, (home / STATE_FILE).exists()))
        raise RuntimeError("a failed warm-up leaves the work to the run")

    url = ensure_server(home, idle_s=3, warm=warm, notify=notices.append)
    pid = json.loads((home / STATE_FILE).read_text())["pid"]
    try:
        # it ran in its own thread and was over before ensure_server returned (the state
        # file is written last, once the server is healthy)
        assert warmed == [("workflowai-warm-up", False)]
        assert notices == [
            "starting the local Prefect server, kept for later runs"
            " (first start: creating its database)"
        ]
        assert ensure_server(home, idle_s=3, warm=warm, notify=notices.append) == url
        assert len(warmed) == 1 and len(notices) == 1
        deadline = time.monotonic() + 60
        # watch the PID, not the health endpoint: a request is activity and resets the clock
        while time.monotonic() < deadline and _server_alive(pid):
            time.sleep(0.5)
        assert not _server_alive(pid)
        assert running_server(home) is None
    finally:
        stop_server(home)  # only if the idle stop failed: stopped by the recorded PID
    assert not _server_alive(pid)


def _servers_of(home: Path) -> list[int]:
    """PIDs of live server processes started for `home` (their command names its token file)."""
    needle = str(home / TOKEN_FILE).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_an_interrupted_start_leaves_no_server_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: Ctrl-C while the CLI waits for the server it just started. Left
    running, unrecorded, it would hold the database (mid-migration) beside the next one."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = tmp_path / "prefect"

    def interrupted(*args: object, **kwargs: object) -> None:
        time.sleep(1.0)  # the server process is up and starting
        raise KeyboardInterrupt

    monkeypatch.setattr(local_server, "wait_healthy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_server(home, idle_s=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _servers_of(home):
        time.sleep(0.2)
    assert _servers_of(home) == []
    assert running_server(home) is None


def test_a_server_started_by_a_model_run_loads_the_model_once_that_run_is_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's first run with --model starts the server with --preload-generator-after
    <its PID>: the server loads the configured model (the real SmolLM2 GGUF) after that CLI
    has exited (never beside the CLI's own copy), so the next run's request does not pay for
    it; a server started without it loads no model."""
    from workflowai.llm.transformers_backend import smollm2_gguf_path

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("WORKFLOWAI_GENERATION__BACKEND", "transformers")
    monkeypatch.setenv("WORKFLOWAI_GENERATION__MODEL", str(smollm2_gguf_path()))
    monkeypatch.setenv("WORKFLOWAI_HOME", str(tmp_path / "home"))
    plain_home, model_home = tmp_path / "plain", tmp_path / "model"
    loaded = f"workflowai: model {smollm2_gguf_path().name} loaded in "
    log = model_home / local_server.LOG_FILE
    ensure_server(plain_home, idle_s=120)
    # the starting CLI: starts the server, then stays until its stdin closes
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from flows.local_server import ensure_server;"
            f" ensure_server(Path({str(model_home)!r}), idle_s=120, preload_generator=True);"
            " print('up', flush=True); sys.stdin.read()",
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None and starter.stdout.readline() == "up\n"
        plain_pid = json.loads((plain_home / STATE_FILE).read_text())["pid"]
        model_pid = json.loads((model_home / STATE_FILE).read_text())["pid"]
        assert b"--preload-generator" not in Path(f"/proc/{plain_pid}/cmdline").read_bytes()
        command = Path(f"/proc/{model_pid}/cmdline").read_bytes().split(b"\0")
        assert command[command.index(b"--preload-generator-after") + 1] == str(starter.pid).encode()
        # the store and embedder preload meanwhile; a server that did not wait would start
        # loading the model within seconds of them (checked by removing the wait)
        time.sleep(20)
        assert "workflowai: loading the model" not in log.read_text()
        starter.communicate("", timeout=60)  # the CLI's run is over
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and loaded not in log.read_text():
            time.sleep(0.5)
        assert loaded in log.read_text(), log.read_text()[-2000:]
        assert "workflowai: model" not in (plain_home / local_server.LOG_FILE).read_text()
    finally:
        starter.kill()
        stop_server(plain_home)
        stop_server(model_home)
