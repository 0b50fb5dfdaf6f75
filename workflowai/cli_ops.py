"""Operations commands of the CLI: `trigger`, `doctor`, `setup`, `serve`.

`workflowai.cli` calls `register(app)`. Prefect client code lives in `flows.client` and
`flows.client_setup`, imported inside the commands so the library never imports Prefect and
`workflowai --help` stays fast.

Exit codes of `trigger` (documented in deployments/README.md, used by the CI examples):
0 the run completed; 1 it failed, crashed or was cancelled; 3 timed out waiting (the run keeps
going); 4 the Prefect API is unreachable; 5 configuration (no API URL, deployment missing,
invalid parameters). Typer itself uses 2 for bad command-line usage.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import typer

from workflowai.errors import AppError, ConfigError
from workflowai.history.context import context_params
from workflowai.settings import Settings

# workflow types whose parameters carry the CI run's context (failure history)
CONTEXT_TYPES = {"analyze-log", "record-success"}


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1
    TIMEOUT = 3
    API_UNREACHABLE = 4
    CONFIG = 5


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
    workflow_type: str, items: list[str], log_file: Path | None, log_path: str | None
) -> dict[str, Any]:
    """The flow's `params` dict, validated against the type's model before anything is sent.

    Raises:
        WorkflowTypeError: unknown type or parameters that do not validate.
        ConfigError: --file / --log-path given for a type other than analyze-log.
    """
    from workflowai.registry import validate_parameters

    raw = dict(parse_param(item) for item in items)
    if workflow_type in CONTEXT_TYPES:  # the CI run's context, unless given with --param
        raw = {**context_params(os.environ), **raw}
    if log_file is not None or log_path is not None:
        if workflow_type != "analyze-log":
            raise ConfigError("--file and --log-path only apply to analyze-log")
        if log_file is not None:
            raw["log_text"] = log_file.read_text(encoding="utf-8", errors="replace")
        else:
            raw["log_path"] = log_path
    return validate_parameters(workflow_type, raw).model_dump(mode="json", exclude_none=True)


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
    file: Path | None = typer.Option(
        None, "--file", "-f", exists=True, dir_okay=False, help="log to analyze (sent as text)"
    ),
    log_path: str | None = typer.Option(None, help="log path readable by the worker"),
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
        params = build_parameters(workflow_type, param, file, log_path)
        if via_execute:
            name = client.deployment_name("execute", settings)
            parameters = {"params": {"workflow_type": workflow_type, "parameters": params}}
        else:
            name = client.deployment_name(workflow_type, settings)
            parameters = {"params": params}
        outcome = asyncio.run(
            client.trigger(target, name, parameters, wait=wait, timeout_s=timeout)
        )
    except client.ApiUnreachableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.API_UNREACHABLE) from exc
    except client.RunTimeoutError as exc:
        typer.echo(f"error: {exc}\n{exc.run.link}", err=True)
        raise typer.Exit(ExitCode.TIMEOUT) from exc
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG) from exc
    if not wait:
        typer.echo(f"{outcome.name} {outcome.state}\n{outcome.link}")
        return
    typer.echo(render(outcome, output))
    typer.echo(f"{outcome.name}: {outcome.state}\n{outcome.link}", err=True)
    if not outcome.succeeded:
        raise typer.Exit(ExitCode.RUN_FAILED)


def _library_checks(settings: Settings, models: bool) -> list[tuple[str, bool, str]]:
    """Knowledge base and models, checked with the library (no Prefect)."""
    lines: list[tuple[str, bool, str]] = []
    model: str | None = None
    dim: int | None = None
    if models:
        try:
            from workflowai.knowledge.embedding import build_embedder

            embedder = build_embedder(settings.embedding)
            model, dim = embedder.model_name, len(embedder.embed_query("doctor"))
            lines.append(("embedding model", True, f"{model} dim={dim}"))
        except (AppError, ImportError, OSError) as exc:
            lines.append(("embedding model", False, str(exc)))
    try:
        from workflowai.knowledge.factory import build_store

        store = build_store(settings)
        try:
            info = store.info()
        finally:
            store.close()
        detail = (
            f"{info.backend} {info.location}: {info.chunks} chunks, "
            f"model={info.embedding_model} dim={info.embedding_dim}"
        )
        # an empty store has no model yet; a filled one must match the configured embedder
        problems = [
            f"expected {name}={want}"
            for name, have, want in (
                ("model", info.embedding_model, model),
                ("dim", info.embedding_dim, dim),
            )
            if have is not None and want is not None and have != want
        ]
        lines.append(("knowledge base", not problems, "; ".join([detail, *problems])))
    except (AppError, ImportError, OSError) as exc:
        lines.append(("knowledge base", False, str(exc)))
    if models and settings.generation.backend != "none":
        try:
            from workflowai.llm.factory import build_generator
            from workflowai.schemas import GenerationRequest

            generator = build_generator(settings.generation)
            if generator is None:
                raise ConfigError("generation backend configured but no generator built")
            # backends load lazily: one token proves the model loads (or the server answers)
            generator.generate(GenerationRequest(prompt="ping", max_tokens=1, temperature=0.0))
            detail = f"{settings.generation.backend}: {settings.generation.model}"
            lines.append(("generator", True, detail))
        except (AppError, ImportError, OSError) as exc:
            lines.append(("generator", False, str(exc)))
    return lines


def doctor(
    pools: str = typer.Option("cpu,gpu", help="work pools that need a live worker"),
    models: bool = typer.Option(True, "--models/--no-models", help="load the models too"),
) -> None:
    """One line per check: Prefect API, pools and workers, knowledge base, models."""
    from flows import client

    settings = _settings()
    lines: list[tuple[str, bool, str]] = []
    try:
        target = client.ApiTarget.from_settings(settings)
        api = asyncio.run(client.check_api(target))
        lines.append((api.name, api.ok, api.detail))
        if api.ok:
            names = [p.strip() for p in pools.split(",") if p.strip()]
            for check in asyncio.run(client.check_pools(target, names)):
                lines.append((check.name, check.ok, check.detail))
    except AppError as exc:
        lines.append(("prefect api", False, str(exc)))
    lines.extend(_library_checks(settings, models))
    for name, ok, detail in lines:
        typer.echo(f"{'ok  ' if ok else 'FAIL'}  {name:<16} {detail}")
    if not all(ok for _, ok, _ in lines):
        raise typer.Exit(1)


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
    except client.ApiUnreachableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.API_UNREACHABLE) from exc
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG) from exc
    typer.echo(f"pools created: {', '.join(report.created_pools) or '-'}")
    typer.echo(f"pools already there: {', '.join(report.existing_pools) or '-'}")
    typer.echo(f"gpu tag limit: {report.gpu_limit}; runs start in {report.repo_dir}")
    typer.echo("deployments applied" if report.deployed else "deploy skipped")


def serve(
    port: int = typer.Option(4200, help="port of the Prefect server and UI on 127.0.0.1"),
    deploy: bool = typer.Option(True, "--deploy/--no-deploy", help="apply prefect.yaml first"),
) -> None:
    """Run a local stack (Prefect server + a process worker per pool) until Ctrl-C."""
    from workflowai.local_stack import DEFAULT_POOLS, LocalStack

    settings = _settings()
    stack = LocalStack(home=settings.home / "stack", port=port, worker_query_seconds=2.0)
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
