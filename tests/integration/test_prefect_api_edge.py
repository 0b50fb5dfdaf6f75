"""`workflowai setup`, `doctor` and `trigger` against a real Prefect server started with
PREFECT_SERVER_API_AUTH_STRING (basic auth) and a small PREFECT_SERVER_API_MAX_PARAMETER_SIZE.

What CI relies on: the auth string is sent and required, refused credentials exit 7 without
printing them, a 422 from the server exits 6 with its status and short text but never the
echoed parameter, and an oversized parameter is refused before anything is sent. No worker
runs here (`--no-wait`): the server side is what is under test.

WORKFLOWAI_CLIENT_BIN=/path/to/venv/bin/workflowai runs trigger and doctor with that binary
(e.g. the slim client built by `KEEP=1 bench/client_install.sh client`) instead of this venv.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from workflowai.cli_ops import ExitCode
from workflowai.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]
SERVER_MAX_PARAMETER_BYTES = 4096
# built at run time: a fake GitHub token planted in a parameter
PLANTED = "ghp_" + secrets.token_hex(18)


@dataclass
class AuthServer:
    stack: LocalStack
    auth_string: str
    home: Path

    def env(self, auth: str | None) -> dict[str, str]:
        env = self.stack.env()
        env.pop("PREFECT_API_AUTH_STRING", None)
        if auth is not None:
            env["PREFECT_API_AUTH_STRING"] = auth
        env["WORKFLOWAI_HOME"] = str(self.home)
        env["WORKFLOWAI_PREFECT__DEPLOYMENT_SUFFIX"] = "auth"
        return env


def _cli(
    server: AuthServer, auth: str | None, *args: str, client: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    binary = os.environ.get("WORKFLOWAI_CLIENT_BIN")
    if client and binary:
        command = [binary, *args]
    else:
        command = [sys.executable, "-c", "from workflowai.cli import app; app()", *args]
    return subprocess.run(
        command,
        cwd=REPO,
        env={**server.env(auth), **extra},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    root = tmp_path_factory.mktemp("prefect-auth")
    auth = f"ci:{secrets.token_urlsafe(16)}"
    stack = LocalStack(
        home=root / "stack",
        auth_string=auth,
        server_env={"PREFECT_SERVER_API_MAX_PARAMETER_SIZE": str(SERVER_MAX_PARAMETER_BYTES)},
    )
    try:
        stack.start_server()
        yield AuthServer(stack, auth, root / "home")
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def deployed(server: AuthServer) -> subprocess.CompletedProcess[str]:
    """`workflowai setup` with the auth string: pools, limit, variable and `prefect deploy`."""
    result = _cli(server, server.auth_string, "setup")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_setup_with_the_auth_string_creates_locked_pools_and_deploys(
    server: AuthServer, deployed: subprocess.CompletedProcess[str]
) -> None:
    assert "pools created: cpu, gpu" in deployed.stdout
    assert "deployments applied" in deployed.stdout
    assert server.auth_string not in deployed.stdout + deployed.stderr


@pytest.mark.parametrize("auth", [None, "ci:wrong"])
def test_commands_without_the_right_auth_string_exit_7(
    server: AuthServer, deployed: subprocess.CompletedProcess[str], auth: str | None
) -> None:
    args = ("trigger", "search", "--param", "query=x", "--no-wait")
    trigger = _cli(server, auth, *args, client=True)
    assert trigger.returncode == ExitCode.AUTH_REFUSED, trigger.stdout + trigger.stderr
    assert "401" in trigger.stderr and "AUTH_STRING" in trigger.stderr
    setup = _cli(server, auth, "setup", "--no-deploy")
    assert setup.returncode == ExitCode.AUTH_REFUSED, setup.stdout + setup.stderr
    doctor = _cli(server, auth, "doctor", "--pools", "cpu", client=True)
    lines = doctor.stdout.splitlines()
    assert doctor.returncode == 1
    # health answers without credentials; the authenticated call does not
    assert any(line.startswith("ok    prefect api") for line in lines), lines
    assert any(line.startswith("FAIL  prefect auth") for line in lines), lines
    for result in (trigger, setup, doctor):
        assert server.auth_string not in result.stdout + result.stderr
        assert "ci:wrong" not in result.stdout + result.stderr


def test_doctor_with_the_auth_string_checks_credentials_and_locked_pools(
    server: AuthServer, deployed: subprocess.CompletedProcess[str]
) -> None:
    doctor = _cli(server, server.auth_string, "doctor", "--pools", "cpu,gpu", client=True)
    lines = doctor.stdout.splitlines()
    assert any(line.startswith("ok    prefect auth") for line in lines), lines
    for pool in ("cpu", "gpu"):
        assert any(line.startswith(f"ok    pool {pool} jobs") for line in lines), lines
    # no worker runs here: the worker line fails, and doctor says so with exit 1
    assert any(line.startswith("FAIL  pool cpu ") and "0 worker" in line for line in lines)
    assert doctor.returncode == 1


def test_trigger_with_the_auth_string_creates_the_run(
    server: AuthServer, deployed: subprocess.CompletedProcess[str]
) -> None:
    result = _cli(
        server,
        server.auth_string,
        "trigger",
        "search",
        "--param",
        "query=npm",
        "--no-wait",
        client=True,
    )
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    assert f"{server.stack.ui_url}/runs/flow-run/" in result.stdout


def test_server_refusal_prints_status_and_text_never_the_echoed_parameter(
    server: AuthServer, deployed: subprocess.CompletedProcess[str]
) -> None:
    query = f"npm ERR! token {PLANTED} " * 200  # ~12 KB, over the server's 4 KiB
    result = _cli(
        server,
        server.auth_string,
        "trigger",
        "search",
        "--param",
        f"query={query}",
        "--no-wait",
        client=True,
        # the client's own check is off: the server must be the one refusing here
        WORKFLOWAI_PREFECT__MAX_PARAMETER_BYTES="0",
    )
    assert result.returncode == ExitCode.INPUT_REFUSED, result.stderr[-2000:]
    assert "422" in result.stderr
    assert f"less than {SERVER_MAX_PARAMETER_BYTES:,} bytes" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
    assert "npm ERR!" not in result.stderr
    assert len(result.stderr) < 1000


def test_oversized_parameters_are_refused_before_sending(
    server: AuthServer, deployed: subprocess.CompletedProcess[str]
) -> None:
    import asyncio

    from flows.client import ApiTarget, connect

    async def count_runs() -> int:
        target = ApiTarget(api_url=server.stack.api_url, auth_string=server.auth_string)
        async with connect(target) as client:
            return await client.count_flow_runs()

    before = asyncio.run(count_runs())
    query = f"npm ERR! token {PLANTED} " * 200
    result = _cli(
        server,
        server.auth_string,
        "trigger",
        "search",
        "--param",
        f"query={query}",
        "--no-wait",
        client=True,
        WORKFLOWAI_PREFECT__MAX_PARAMETER_BYTES=str(SERVER_MAX_PARAMETER_BYTES),
    )
    assert result.returncode == ExitCode.INPUT_REFUSED, result.stderr[-2000:]
    assert "nothing was sent" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
    assert asyncio.run(count_runs()) == before
