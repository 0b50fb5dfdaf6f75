"""The operations commands without a server: parameter parsing, validation and exit codes.

The Prefect API here is a free port with nothing listening (the real "unreachable" case);
runs against a live server are covered in tests/integration/test_prefect_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from workflowai.api_errors import (
    ApiAuthError,
    ApiRefusedError,
    ApiUnreachableError,
    ParametersTooLargeError,
)
from workflowai.cli_ops import (
    ExitCode,
    OutputFormat,
    build_parameters,
    exit_code_for,
    parse_param,
    register,
    render,
)
from workflowai.errors import ConfigError, WorkflowTypeError
from workflowai.local_stack import free_port

LOG = "Step 3/7: npm ci\nnpm ERR! code ERESOLVE\nnpm ERR! Could not resolve dependency\n"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("top_k=3", ("top_k", 3)),
        ("query=disk full on /var", ("query", "disk full on /var")),
        ("prune=true", ("prune", True)),
        ('filters={"category": "network"}', ("filters", {"category": "network"})),
        ('paths=["kb", "notes"]', ("paths", ["kb", "notes"])),
        (" mode = keyword", ("mode", " keyword")),
        ("query=a=b", ("query", "a=b")),
    ],
)
def test_parse_param_reads_json_values_or_keeps_text(item: str, expected: tuple[str, Any]) -> None:
    assert parse_param(item) == expected


@pytest.mark.parametrize("item", ["no-equals", "=value", " =x"])
def test_parse_param_rejects_items_without_key(item: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_param(item)


def test_build_parameters_sends_a_worker_path_never_log_text() -> None:
    params = build_parameters("analyze-log", ["top_k=3"], "/srv/ci-logs/123.log")
    assert params["log_path"] == "/srv/ci-logs/123.log"
    assert params["top_k"] == 3
    assert "log_text" not in params and "log_ref" not in params


@pytest.mark.parametrize(
    ("workflow_type", "items", "error"),
    [
        ("analyze-log", [], WorkflowTypeError),  # neither log_ref nor log_path
        ("analyze-log", ["log_text=npm ERR!"], WorkflowTypeError),  # text is no parameter
        ("search", ["top_k=0", "query=x"], WorkflowTypeError),
        ("search", ["no_such_field=1", "query=x"], WorkflowTypeError),
        ("no-such-type", [], WorkflowTypeError),
    ],
)
def test_build_parameters_rejects_invalid_input_before_sending(
    workflow_type: str, items: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        build_parameters(workflow_type, items)


def test_build_parameters_refuses_a_log_path_for_other_types() -> None:
    with pytest.raises(ConfigError):
        build_parameters("search", ["query=x"], "/srv/ci-logs/1.log")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trigger", "search", "--file"], "only apply to analyze-log and analyze-run"),
        (["trigger", "analyze-log", "--log-path", "/x.log", "--file"], "either --file or"),
    ],
)
def test_trigger_refuses_files_for_other_inputs(
    app: typer.Typer,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    log = tmp_path / "build.log"
    log.write_text(LOG)
    result = runner.invoke(app, [*args, str(log)])
    assert result.exit_code == ExitCode.CONFIG
    assert message in result.output


def test_trigger_checks_the_size_cap_before_contacting_the_api(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the API is a free port with nothing listening: reaching it would exit 4, not 6
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    monkeypatch.setenv("WORKFLOWAI_LOG_STORAGE__MAX_BYTES", "64")
    log = tmp_path / "build.log"
    log.write_text(LOG)
    result = runner.invoke(app, ["trigger", "analyze-log", "--file", f"build={log}"])
    assert result.exit_code == ExitCode.INPUT_REFUSED, result.output
    assert "over the 64-byte cap" in result.output
    assert "npm ERR!" not in result.output


def test_trigger_without_api_url_exits_with_config_code(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    result = runner.invoke(app, ["trigger", "analyze-log", "--file", str(log)])
    assert result.exit_code == ExitCode.CONFIG
    assert "PREFECT_API_URL" in result.output


def test_trigger_with_unreachable_api_exits_with_its_own_code(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    log = tmp_path / "build.log"
    log.write_text(LOG)
    result = runner.invoke(app, ["trigger", "analyze-log", "--file", str(log), "--timeout", "5"])
    assert result.exit_code == ExitCode.API_UNREACHABLE, result.output


def test_trigger_with_invalid_parameters_exits_with_refused_input_code(
    app: typer.Typer, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    result = runner.invoke(app, ["trigger", "search", "--param", "top_k=0"])
    assert result.exit_code == ExitCode.INPUT_REFUSED
    assert "query" in result.output


def test_trigger_refuses_oversized_parameters_before_connecting(
    app: typer.Typer, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nothing listens on the API port: refused input (6), not unreachable (4), proves the size
    # was checked before any connection was tried
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    monkeypatch.setenv("WORKFLOWAI_PREFECT__MAX_PARAMETER_BYTES", "200")
    result = runner.invoke(app, ["trigger", "search", "--param", "query=" + "npm ERR! " * 40])
    assert result.exit_code == ExitCode.INPUT_REFUSED, result.output
    assert "over the API's limit of 200" in result.output
    assert "npm ERR!" not in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ApiUnreachableError("x"), ExitCode.API_UNREACHABLE),
        (ApiAuthError("x"), ExitCode.AUTH_REFUSED),
        (ApiRefusedError("x"), ExitCode.INPUT_REFUSED),
        (ParametersTooLargeError("x"), ExitCode.INPUT_REFUSED),
        (WorkflowTypeError("x"), ExitCode.INPUT_REFUSED),
        (ConfigError("x"), ExitCode.CONFIG),
    ],
)
def test_exit_codes_tell_unreachable_from_refused_input_and_credentials(
    error: Exception, code: ExitCode
) -> None:
    assert exit_code_for(error) == code
    # the documented table lists every code the CLI returns
    readme = (Path(__file__).resolve().parents[2] / "deployments" / "README.md").read_text()
    assert f"| {int(code)} |" in readme


def test_doctor_reports_each_failure_on_its_own_line(
    app: typer.Typer, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    result = runner.invoke(app, ["doctor", "--no-models"])
    assert result.exit_code != 0
    api_line = next(line for line in result.output.splitlines() if "prefect api" in line)
    assert api_line.startswith("FAIL")
    assert "ConnectError" in api_line
    assert any("knowledge base" in line for line in result.output.splitlines())


class _Outcome:
    def __init__(self, markdown: str | None, result: Any) -> None:
        self.flow_run_id = "0f0f"
        self.name = "analyze-log-build-x"
        self.state = "Completed"
        self.link = "http://127.0.0.1:4200/runs/flow-run/0f0f"
        self.markdown = markdown
        self.result = result


@pytest.mark.parametrize(
    ("markdown", "output", "expected"),
    [
        ("# Report\nnpm ERR!", OutputFormat.MD, "# Report\nnpm ERR!"),
        (None, OutputFormat.MD, '"state": "Completed"'),
        ("# Report", OutputFormat.JSON, '"category": "dependency"'),
    ],
)
def test_render_prints_markdown_or_the_json_result(
    markdown: str | None, output: OutputFormat, expected: str
) -> None:
    text = render(_Outcome(markdown, {"category": "dependency"}), output)
    assert expected in text
