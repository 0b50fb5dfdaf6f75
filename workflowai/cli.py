"""The `workflowai` command line (Typer).

Commands that run a workflow (index, reindex, analyze-log, generate) call the flow, so the run
is recorded by Prefect (a temporary local server when no PREFECT_API_URL is set). Quick local
commands (search, stats, types, model-info) call the library directly. Flows are imported
inside the commands, after the logging defaults are set, so `--help` stays fast and Prefect's
console output stays quiet unless `--verbose`. Bad input: one line on stderr, non-zero exit.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from workflowai import cli_render, cli_server
from workflowai.errors import AppError
from workflowai.params import GenerateParams, IndexParams, ReindexParams
from workflowai.registry import WORKFLOW_TYPES
from workflowai.schemas import MetaValue, SearchRequest
from workflowai.settings import SearchMode, Settings

app = typer.Typer(
    name="workflowai",
    help="Find why a CI/CD job failed: evidence, knowledge base, analysis report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
_STATE = {"verbose": False}


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show Prefect's own logs"),
) -> None:
    # Prefect reads its logging config when first imported: set the defaults before that
    _STATE["verbose"] = verbose
    level = "INFO" if verbose else "CRITICAL"
    # a first run migrates a fresh Prefect database: Prefect's 20 s default is too tight there
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", level)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", level)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL", level)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not verbose:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def run_guarded(call: Callable[[], T]) -> T:
    """Run `call`; turn our errors into one line on stderr and a non-zero exit."""
    try:
        return call()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise fail(problems, EXIT_BAD_INPUT) from None
    except (AppError, ValueError, FileNotFoundError, IsADirectoryError) as exc:
        code = EXIT_ERROR if isinstance(exc, AppError) else EXIT_BAD_INPUT
        raise fail(str(exc) or type(exc).__name__, code) from None
    except Exception as exc:  # the CLI boundary: anything else is one line unless --verbose
        if _STATE["verbose"]:
            raise
        raise fail(f"{type(exc).__name__}: {exc} (--verbose shows the traceback)", 1) from None


def settings_or_exit() -> Settings:
    return run_guarded(Settings)


def _notify(message: str) -> None:
    err.print(f"workflowai: {message} ...", markup=False)


def run_flow(
    call: Callable[[], T],
    warm: Callable[[], object] | None = None,
    *,
    preload_generator: bool = False,
) -> T:
    """`run_guarded(call)` with Prefect pointed at the kept local server when no API URL is
    set (flows/local_server.py): a run then costs no server start and stop. Where this run
    has to start that server, it says so on stderr and runs `warm` (imports, models `call`
    needs) meanwhile; with `preload_generator` (a run with the model) the server loads the
    model for the runs after this one."""
    settings = settings_or_exit()

    def in_local_api() -> T:
        from flows.local_server import local_api

        prefect = settings.prefect
        with local_api(
            keep=prefect.keep_local_server,
            idle_s=prefect.local_server_idle_s,
            warm=warm,
            notify=_notify,
            preload_generator=preload_generator,
        ):
            return call()

    return run_guarded(in_local_api)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


@app.command()
def index(
    paths: list[Path] = typer.Argument(..., help="files or folders to index"),
    prune: bool = typer.Option(False, help="remove documents no longer in the sources"),
    batch_chunks: int = typer.Option(256, help="chunks per chunk/embed/index batch"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Index files or folders (md, txt, json, jsonl, yaml) into the knowledge base."""
    params = run_guarded(lambda: IndexParams(paths=paths, prune=prune, batch_chunks=batch_chunks))
    for path in params.paths:
        if not path.exists():
            raise fail(f"no such file or folder: {path}", EXIT_BAD_INPUT)
    from flows.index import index_flow

    with cli_render.progress_from_logs(err):
        summary = run_flow(lambda: index_flow(params))
    if as_json:
        _print_json(summary.model_dump(mode="json"))
    else:
        cli_render.print_index_summary(out, summary)


def _parse_filters(items: list[str]) -> dict[str, MetaValue]:
    filters: dict[str, MetaValue] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"--filter takes key=value; got {item!r}", EXIT_BAD_INPUT)
        filters[key.strip()] = value.strip()
    return filters


@app.command()
def search(
    query: str = typer.Argument(..., help="what to look for"),
    mode: SearchMode = typer.Option(SearchMode.HYBRID, help="hybrid, semantic or keyword"),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, max=1000),
    filter_: list[str] = typer.Option([], "--filter", help="metadata key=value (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print the hits as JSON"),
) -> None:
    """Search the knowledge base (directly through the library: no workflow run)."""
    filters = _parse_filters(filter_)
    request = run_guarded(
        lambda: SearchRequest(query=query, mode=mode, top_k=top_k, filters=filters)
    )
    settings = settings_or_exit()
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.knowledge.factory import build_store
    from workflowai.knowledge.search import search as run_search

    def call() -> Any:
        store = build_store(settings)
        try:
            return run_search(store, build_embedder(settings.embedding), request, settings.search)
        finally:
            store.close()

    result = run_guarded(call)
    if as_json:
        _print_json(result.model_dump(mode="json"))
    else:
        cli_render.print_search_result(out, result)


@app.command()
def stats(as_json: bool = typer.Option(False, "--json")) -> None:
    """Size, backend and embedding model of the knowledge base."""
    from workflowai.knowledge.factory import build_store

    settings = settings_or_exit()

    def call() -> Any:
        store = build_store(settings)
        try:
            return store.info()
        finally:
            store.close()

    info = run_guarded(call)
    if as_json:
        _print_json(info.model_dump(mode="json"))
    else:
        cli_render.print_store_info(out, info)


@app.command()
def reindex(
    sources: list[Path] = typer.Argument(None, help="folders to index (default: configured)"),
    rollback: bool = typer.Option(False, help="re-activate the previous index version"),
) -> None:
    """Rebuild the index as a new version and swap it in (or roll back)."""
    params = run_guarded(lambda: ReindexParams(sources=sources or [], rollback=rollback))
    from flows.reindex import reindex_flow

    with cli_render.progress_from_logs(err):
        result = run_flow(lambda: reindex_flow(params))
    _print_json(result.model_dump(mode="json") if hasattr(result, "model_dump") else result)


@app.command()
def generate(
    prompt: str = typer.Argument(..., help="the prompt"),
    max_tokens: int = typer.Option(512, min=1),
    temperature: float = typer.Option(0.7, min=0.0, max=2.0),
    top_p: float = typer.Option(0.9, min=0.01, max=1.0),
    stop: list[str] = typer.Option([], help="stop sequence (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print the Generation as JSON"),
) -> None:
    """Generate text with the configured model (WORKFLOWAI_GENERATION__*)."""
    params = run_guarded(
        lambda: GenerateParams(
            prompt=prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop
        )
    )
    from flows.generate import generate_flow

    generation = run_flow(lambda: generate_flow(params))
    if as_json:
        _print_json(generation.model_dump(mode="json"))
    else:
        sys.stdout.write(generation.text + "\n")


@app.command("model-info")
def model_info() -> None:
    """The embedding model and the generation backend this configuration uses."""
    from workflowai.knowledge.embedding import build_embedder
    from workflowai.llm.factory import build_generator

    settings = settings_or_exit()
    embedder = run_guarded(lambda: build_embedder(settings.embedding))
    out.print(f"embedding: {embedder.model_name} (dim {embedder.dim})")
    generator = run_guarded(lambda: build_generator(settings.generation))
    info = run_guarded(generator.info) if generator is not None else None
    cli_render.print_model_info(out, "generation", info)


@app.command()
def types(
    name: str | None = typer.Argument(None, help="one type; default: all"),
) -> None:
    """The registered workflow types with their parameter JSON schemas."""
    document = cli_render.types_document(WORKFLOW_TYPES)
    if name is not None:
        if name not in document:
            valid = ", ".join(sorted(document))
            raise fail(f"unknown workflow type {name!r}; valid types: {valid}", EXIT_BAD_INPUT)
        document = {name: document[name]}
    _print_json(document)


try:
    from workflowai import cli_ops
except ImportError:  # the operations commands land separately
    cli_ops = None  # type: ignore[assignment]
if cli_ops is not None:
    cli_ops.register(app)
cli_server.register(app)

from workflowai import cli_models  # noqa: E402  (its commands import this module lazily)

cli_models.register(app)

from workflowai import cli_history  # noqa: E402  (its commands import this module lazily)

cli_history.register(app)

from workflowai import cli_analyze  # noqa: E402  (its command imports this module lazily)

cli_analyze.register(app)
