"""The slim client distribution (client/pyproject.toml) works without the heavy stack.

Two checks: its declared dependencies hold none of the model stack or Prefect's server, and
the code it runs (`workflowai trigger`/`doctor`, the redaction trigger applies before sending)
imports and runs in an interpreter where importing those packages fails. The interpreter is
this venv with an import hook that refuses the blocked names: a stand-in for the real slim
venv, which `bench/client_install.sh client` builds from the registry (figures in
deployments/README.md).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from workflowai.local_stack import free_port

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "accelerate",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "elasticsearch",
    "openai",
    "gguf",
    "numpy",
    # in prefect (the full distribution), not in prefect-client
    "prefect.server",
    "prefect.cli",
    "uvicorn",
)
BLOCKER = f"""
import importlib.abc, sys
BLOCKED = {HEAVY!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"blocked in the client test: {{name}}")
        return None
sys.meta_path.insert(0, Block())
"""


def _client_project() -> dict:
    return tomllib.loads((REPO / "client" / "pyproject.toml").read_text())


def test_client_dependencies_hold_no_model_stack_and_no_prefect_server() -> None:
    project = _client_project()["project"]
    names = {
        d.split("=")[0].split(">")[0].split("<")[0].strip().lower() for d in project["dependencies"]
    }
    assert not names & {"torch", "transformers", "sentence-transformers", "prefect", "accelerate"}
    assert "prefect-client" in names


def test_client_pins_prefect_client_at_the_servers_version() -> None:
    client_pin = next(
        d for d in _client_project()["project"]["dependencies"] if d.startswith("prefect-client")
    )
    full = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    server_pin = next(d for d in full["dependencies"] if d.startswith("prefect=="))
    assert client_pin.split("==")[1] == server_pin.split("==")[1]
    assert _client_project()["project"]["version"] == full["version"]


def _run_blocked(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(REPO),
            "DO_NOT_TRACK": "1",
            "PREFECT_HOME": str(REPO / ".pytest_cache" / "client-prefect-home"),
        },
    )


def test_client_code_imports_without_the_heavy_stack() -> None:
    result = _run_blocked(
        "import workflowai.cli_client, flows.client, flows.client_checks, workflowai.api_errors\n"
        "import workflowai.analysis.normalize, workflowai.analysis.redact, workflowai.registry\n"
        "import flows.log_upload, workflowai.trigger_inputs, workflowai.logpack\n"
        "from workflowai.analysis.redact import redact_text\n"
        "print(redact_text('token ghp_' + 'A1b2C3d4E5f6G7h8I9j0' * 2)[0])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers'}))\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "A1b2C3d4E5f6G7h8I9j0" not in result.stdout
    assert result.stdout.strip().endswith("[]")


def test_client_cli_has_trigger_and_doctor_and_runs_them() -> None:
    run_cli = "from workflowai.cli_client import app\napp()"
    help_text = _run_blocked(run_cli, "--help")
    assert help_text.returncode == 0, help_text.stderr[-2000:]
    assert "trigger" in help_text.stdout and "doctor" in help_text.stdout
    assert "index" not in help_text.stdout
    # a real connection attempt to a port with nothing listening: exit 4, not an ImportError
    api = f"http://127.0.0.1:{free_port()}/api"
    trigger = _run_blocked(
        f"import os\nos.environ['PREFECT_API_URL'] = {api!r}\n" + run_cli,
        "trigger",
        "search",
        "--param",
        "query=npm ERESOLVE",
        "--no-wait",
    )
    assert trigger.returncode == 4, trigger.stderr[-2000:]
    assert "ConnectError" in trigger.stderr
    doctor = _run_blocked(
        f"import os\nos.environ['PREFECT_API_URL'] = {api!r}\n" + run_cli, "doctor"
    )
    assert doctor.returncode == 1, doctor.stderr[-2000:]
    assert doctor.stdout.startswith("FAIL  prefect api")
    assert "knowledge base" not in doctor.stdout
