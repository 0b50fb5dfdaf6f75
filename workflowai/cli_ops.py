"""Operations commands of the CLI: `trigger`, `doctor`, `setup`, `serve`.

`workflowai.cli` calls `register(app)`. Prefect client code lives in `flows.client` and
`flows.client_setup`, imported inside the commands so the library never imports Prefect and
`workflowai --help` stays fast.

Exit codes of `trigger` and `setup` (`ExitCode`, documented in deployments/README.md, used by
the CI examples): 0 the run completed; 1 it failed, crashed or was cancelled; 3 timed out
waiting (the run keeps going); 4 the Prefect API is unreachable (retry later); 5 configuration
(no API URL, deployment missing, bad settings); 6 the input was refused (invalid or too large
parameters, checked before sending, or a 4xx answer); 7 the API refused the credentials.
Typer itself uses 2 for bad command-line usage. API errors print the status and a short error
text, never a response body (`workflowai.api_errors`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from enum import IntEnum, StrEnum
from typing import Any

import typer

from workflowai.errors import AppError, ConfigError
from workflowai.history.context import context_params
from workflowai.settings import Settings

# workflow types whose parameters carry the CI run's context (failure history)
CONTEXT_TYPES = {"analyze-log", "analyze-run", "record-success"}


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1
    TIMEOUT = 3
    API_UNREACHABLE = 4
    CONFIG = 5
    INPUT_REFUSED = 6
    AUTH_REFUSED = 7


def exit_code_for(exc: AppError) -> ExitCode:
    """The exit code of an error raised before or while talking to the API (not a timeout)."""
    from workflowai.api_errors import ApiAuthError, ApiRefusedError, ApiUnreachableError
    from workflowai.errors import InputRefusedError, LogParseError, WorkflowTypeError

    if isinstance(exc, ApiUnreachableError):
        return ExitCode.API_UNREACHABLE
    if isinstance(exc, ApiAuthError):
        return ExitCode.AUTH_REFUSED
    refused = ApiRefusedError | WorkflowTypeError | LogParseError | InputRefusedError
    if isinstance(exc, refused):
        return ExitCode.INPUT_REFUSED
    return ExitCode.CONFIG


class OutputFormat(StrEnum):
    MD = "md"
    JSON = "json"


def parse_param(item: str) -> tuple[str, Any]:
    """`key=value` -> (key, value); the value is JSON when it parses (numbers, lists, true)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"expected key=value, got {item!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def build_parameters(
    workflow_type: str, items: list[str], log_path: str | None = None
) -> dict[str, Any]:
    """The flow's `params` dict, validated against the type's model before anything is sent.

    Raises:
        WorkflowTypeError: unknown type or parameters that do not validate.
        ConfigError: --log-path given for a type other than analyze-log.
    """
    from workflowai.registry import validate_parameters

    raw = dict(parse_param(item) for item in items)
    if workflow_type in CONTEXT_TYPES:  # the CI run's context, unless given with --param
        raw = {**context_params(os.environ, per_job=workflow_type != "analyze-run"), **raw}
    if log_path is not None:
        if workflow_type != "analyze-log":
            raise ConfigError("--log-path only applies to analyze-log")
        raw["log_path"] = log_path
    return validate_parameters(workflow_type, raw).model_dump(mode="json", exclude_none=True)


LOG_TYPES = {"analyze-log", "analyze-run"}


def upload_run_parameters(
    workflow_type: str,
    files: list[str],
    baselines: list[str],
    items: list[str],
    target: Any,
    settings: Settings,
) -> dict[str, Any]:
    """`--file`/`--baseline`: redact and pack here, upload, return `analyze-run` parameters.

    Every file is read, redacted and checked against the size cap before the first upload,
    so a refused input sends nothing.

    Raises:
        ConfigError: --file with another workflow type, a bad spec or a missing file.
        LogParseError, LogTooLargeError: refused input (nothing was sent).
    """
    from flows.log_upload import upload_jobs
    from workflowai.trigger_inputs import prepare_jobs, run_parameters

    if workflow_type not in LOG_TYPES:
        raise ConfigError("--file and --baseline only apply to analyze-log and analyze-run")
    if not files:
        raise ConfigError("--baseline needs at least one --file")
    # the CI run's context (each job's name is its own job context), unless given with --param
    options = {**context_params(os.environ, per_job=False), **dict(map(parse_param, items))}
    prepared = prepare_jobs(files, baselines, settings)
    return run_parameters(upload_jobs(target, settings, prepared), options)


def render(outcome: Any, output: OutputFormat) -> str:
    """What `trigger` prints on stdout: the Markdown report or the JSON result."""
    if output is OutputFormat.MD and outcome.markdown:
        return str(outcome.markdown)
    payload = {
        "flow_run_id": str(outcome.flow_run_id),
        "name": outcome.name,
        "state": outcome.state,
        "link": outcome.link,
        "result": outcome.result,
    }
    return json.dumps(payload, indent=2, default=str)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG) from exc


def trigger(
    workflow_type: str = typer.Argument(..., help="analyze-log, index, reindex, search, ..."),
    file: list[str] = typer.Option(
        [],
        "--file",
        "-f",
        help="[NAME=]PATH of a failed job's log (repeatable; NAME: the CI job, default the "
        "file's stem; PATH - is stdin). Redacted here, uploaded by reference; all files go to "
        "ONE analyze-run flow run and report",
    ),
    baseline: list[str] = typer.Option(
        [],
        "--baseline",
        help="[NAME=]PATH of a passing log: of job NAME, or (no NAME) of every job",
    ),
    log_path: str | None = typer.Option(None, help="log path on the worker (allowed roots)"),
    param: list[str] = typer.Option([], "--param", "-p", help="key=value (JSON values ok)"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="wait for the run to finish"),
    timeout: float = typer.Option(900.0, help="seconds to wait before exit code 3"),
    output: OutputFormat = typer.Option(OutputFormat.MD, "--format", help="md or json"),
    via_execute: bool = typer.Option(False, help="run through the `execute` deployment"),
) -> None:
    """Run a workflow on the Prefect server and print its report and UI link."""
    from flows import client

    settings = _settings()
    try:
        target = client.ApiTarget.from_settings(settings)
        if file or baseline:
            if log_path is not None:
                raise ConfigError("give either --file or --log-path, not both")
            params = upload_run_parameters(workflow_type, file, baseline, param, target, settings)
            workflow_type = "analyze-run"  # one flow run and one report for every file
        else:
            params = build_parameters(workflow_type, param, log_path)
        if via_execute:
            name = client.deployment_name("execute", settings)
            parameters = {"params": {"workflow_type": workflow_type, "parameters": params}}
        else:
            name = client.deployment_name(workflow_type, settings, params)
            parameters = {"params": params}
        outcome = asyncio.run(
            client.trigger(target, name, parameters, wait=wait, timeout_s=timeout)
        )
    except client.RunTimeoutError as exc:
        typer.echo(f"error: {exc}\n{exc.run.link}", err=True)
        raise typer.Exit(ExitCode.TIMEOUT) from exc
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code_for(exc)) from exc
    if not wait:
        typer.echo(f"{outcome.name} {outcome.state}\n{outcome.link}")
        return
    typer.echo(render(outcome, output))
    typer.echo(f"{outcome.name}: {outcome.state}\n{outcome.link}", err=True)
    if not outcome.succeeded:
        raise typer.Exit(ExitCode.RUN_FAILED)


def _doctor(pools: str, models: bool, local: bool) -> None:
    from flows import client, client_checks

    settings = _settings()
    lines: list[tuple[str, bool, str]] = []
    try:
        target = client.ApiTarget.from_settings(settings)
        api = asyncio.run(client_checks.check_api(target))
        lines.extend((check.name, check.ok, check.detail) for check in api)
        if all(check.ok for check in api):
            names = [p.strip() for p in pools.split(",") if p.strip()]
            for check in asyncio.run(client_checks.check_pools(target, names)):
                lines.append((check.name, check.ok, check.detail))
    except AppError as exc:
        lines.append(("prefect api", False, str(exc)))
    if local:
        from workflowai.doctor_local import library_checks

        lines.extend(library_checks(settings, models))
    for name, ok, detail in lines:
        typer.echo(f"{'ok  ' if ok else 'FAIL'}  {name:<16} {detail}")
    if not all(ok for _, ok, _ in lines):
        raise typer.Exit(1)


POOLS_OPTION = typer.Option("cpu,gpu", help="work pools that need a live worker")


def doctor(
    pools: str = POOLS_OPTION,
    models: bool = typer.Option(True, "--models/--no-models", help="load the models too"),
    local: bool = typer.Option(
        True, "--local/--no-local", help="check this machine's knowledge base and models"
    ),
) -> None:
    """One line per check: Prefect API, credentials, pools and workers, knowledge base, models."""
    _doctor(pools, models, local)


def doctor_api(pools: str = POOLS_OPTION) -> None:
    """One line per check: Prefect API, credentials, pools (locked) and their workers."""
    _doctor(pools, models=False, local=False)


def setup(
    gpu_limit: int = typer.Option(1, min=1, help="gpu-tagged task runs at once (per GPU: 1)"),
    deploy: bool = typer.Option(True, "--deploy/--no-deploy", help="run prefect deploy too"),
) -> None:
    """Create the work pools and the gpu limit, then deploy prefect.yaml (idempotent)."""
    from flows import client, client_setup

    settings = _settings()
    try:
        target = client.ApiTarget.from_settings(settings)
        report = asyncio.run(
            client_setup.setup(target, settings, gpu_limit=gpu_limit, deploy=deploy)
        )
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code_for(exc)) from exc
    typer.echo(f"pools created: {', '.join(report.created_pools) or '-'}")
    typer.echo(f"pools already there: {', '.join(report.existing_pools) or '-'}")
    if report.locked_pools:
        typer.echo(f"pool templates locked: {', '.join(report.locked_pools)}")
    for pool, problems in report.unlocked_pools.items():
        typer.echo(
            f"warning: pool {pool}'s template lets run callers change what runs: "
            f"{'; '.join(problems)} (see deployments/README.md)",
            err=True,
        )
    typer.echo(f"gpu tag limit: {report.gpu_limit}; runs start in {report.repo_dir}")
    typer.echo("deployments applied" if report.deployed else "deploy skipped")


def serve(
    port: int = typer.Option(4200, help="port of the Prefect server and UI on 127.0.0.1"),
    deploy: bool = typer.Option(True, "--deploy/--no-deploy", help="apply prefect.yaml first"),
    task_workers: int = typer.Option(
        1, min=0, help="warm task workers for background analyses (flows/task_worker.py)"
    ),
    task_worker_steps: str = typer.Option(
        "inline",
        help="inline: a background analysis is one task run; flow: an analyze-log flow run "
        "with a task run per step (recorded in more detail; ~4x the server CPU per analysis)",
    ),
) -> None:
    """Run a local stack (Prefect server, a process worker per pool, warm task workers)
    until Ctrl-C."""
    if task_worker_steps not in ("inline", "flow"):
        raise typer.BadParameter("inline or flow", param_hint="--task-worker-steps")
    from workflowai.local_stack import DEFAULT_POOLS, LocalStack

    settings = _settings()
    auth = settings.prefect.auth_string
    stack = LocalStack(
        home=settings.home / "stack",
        port=port,
        worker_query_seconds=2.0,
        auth_string=auth.get_secret_value() if auth else None,
    )
    stopping = threading.Event()
    # both stop cleanly; set explicitly because a shell's background job ignores SIGINT
    previous = {
        sig: signal.signal(sig, lambda *_: stopping.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        stack.start_server()
        local = settings.model_copy(
            update={"prefect": settings.prefect.model_copy(update={"api_url": stack.api_url})}
        )
        from flows import client, client_setup

        asyncio.run(client_setup.setup(client.ApiTarget.from_settings(local), local, deploy=deploy))
        stack.start_workers(DEFAULT_POOLS)
        for _ in range(task_workers):
            stack.start_task_worker(steps=task_worker_steps)
        typer.echo(f"Prefect UI: {stack.ui_url}\nAPI: {stack.api_url}  (Ctrl-C stops everything)")
        typer.echo(f"logs: {stack.log_dir}")
        while not stopping.wait(1.0):
            if stack.server is not None and stack.server.poll() is not None:
                raise ConfigError(f"the Prefect server exited:\n{stack.log_tail('server')}")
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG) from exc
    finally:
        typer.echo("stopping workers and server ...", err=True)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the main CLI."""
    app.command("trigger")(trigger)
    app.command("doctor")(doctor)
    app.command("setup")(setup)
    app.command("serve")(serve)
