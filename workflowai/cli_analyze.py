"""The `analyze-log` command: one log (Markdown or JSON), or several in one call.

Several logs in one call pay start-up once and print one JSON line per log. Importing Prefect
and the analysis code, reaching the Prefect API and loading the embedder
happen once per process; each log is still its own `analyze-log` flow run (its own run in the
UI, its own report artifact). One log's failure (empty, binary, unreadable) is reported on its
line and the others go on. Flows are imported inside the command (the library stays
Prefect-free); `workflowai.cli` registers the command and lends its error handling.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError

from workflowai.analysis.report import LogType
from workflowai.errors import AppError
from workflowai.history.context import resolve_context
from workflowai.history.models import RunContext
from workflowai.params import AnalyzeLogParams

if TYPE_CHECKING:
    from workflowai.analysis.report import AnalysisReport


def _visible_file(path: Path, root: Path) -> bool:
    return path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)


def expand_logs(items: Sequence[str]) -> list[Path]:
    """Files as given, folders as every file under them (sorted, hidden names skipped).

    Raises:
        FileNotFoundError: an item is neither a file nor a folder.
        ValueError: `-` (stdin) among several logs, or folders with no file in them.
    """
    paths: list[Path] = []
    for item in items:
        if item == "-":
            raise ValueError("stdin (-) can only be analyzed alone")
        path = Path(item)
        if path.is_dir():
            paths.extend(p for p in sorted(path.rglob("*")) if _visible_file(p, path))
        elif path.is_file():
            paths.append(path)
        else:
            raise FileNotFoundError(f"no such log file or folder: {path}")
    if not paths:
        raise ValueError(f"no log files in {', '.join(items)}")
    return paths


def report_line(log: Path, report: AnalysisReport | None, error: str | None = None) -> str:
    """One JSON Lines record: {"log": path, "report": {...}} or {"log": path, "error": "..."}."""
    record: dict[str, object] = {"log": str(log)}
    if report is not None:
        record["report"] = report.model_dump(mode="json")
    else:
        record["error"] = error
    return json.dumps(record, ensure_ascii=False)


def analyze_each(
    logs: Iterable[Path],
    analyze: Callable[[Path], AnalysisReport],
    write: Callable[[str], object],
) -> int:
    """Analyze every log in order, writing one line each; returns how many failed."""
    failed = 0
    for log in logs:
        try:
            line = report_line(log, analyze(log))
        except (AppError, ValidationError, OSError, ValueError) as exc:
            failed += 1
            line = report_line(log, None, f"{type(exc).__name__}: {exc}")
        write(line + "\n")
    return failed


def _stdin_to_file() -> Path:
    """Stdin, byte for byte, in a private (0600) temp file: logs are never flow parameters.

    The caller removes it; a failed copy removes it here.
    """
    with tempfile.NamedTemporaryFile(
        prefix="workflowai-log-", suffix=".log", delete=False
    ) as handle:
        try:
            shutil.copyfileobj(sys.stdin.buffer, handle, 1 << 20)
        except BaseException:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
            raise
    return Path(handle.name)


def analyze_log(
    logs: list[str] = typer.Argument(
        ..., help="log file(s), folder(s) of logs, or - for stdin; several: JSON Lines"
    ),
    output_format: str = typer.Option("md", "--format", "-f", help="md or json (one log)"),
    baseline: Path | None = typer.Option(None, help="a passing log of the same job"),
    log_type: LogType = typer.Option(LogType.BUILD, help="build, deploy or test"),
    ci_provider: str | None = typer.Option(None, help="github-actions, gitlab, jenkins, ..."),
    model: bool = typer.Option(False, "--model/--no-model", help="let the LLM write prose"),
    agent: bool = typer.Option(False, help="agent mode: the model may search the KB"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=50),
    max_tokens: int = typer.Option(512, min=16),
    repository: str | None = typer.Option(None, help="history: owner/name (default: CI's)"),
    branch: str | None = typer.Option(None, help="history: branch (default: CI's)"),
    commit: str | None = typer.Option(None, help="history: commit SHA (default: CI's)"),
    job: str | None = typer.Option(None, help="history: job name, with matrix values"),
    attempt: int | None = typer.Option(None, min=1, help="history: run attempt"),
    run_url: str | None = typer.Option(None, help="history: link to the run"),
    history: bool = typer.Option(True, "--history/--no-history", help="record, show verdict"),
) -> None:
    """Analyze failing CI/CD logs; exit 0 when every log was analyzed.

    One log prints its report (md or json). Several logs, or a folder, print JSON Lines, one
    {"log", "report"} (or {"log", "error"}) per log, from one process: start-up is paid once.
    """
    from workflowai.cli import EXIT_BAD_INPUT, fail, run_guarded

    if output_format not in {"md", "json"}:
        raise fail(f"--format must be md or json; got {output_format!r}", EXIT_BAD_INPUT)
    if baseline is not None and not baseline.is_file():
        raise fail(f"no such baseline file: {baseline}", EXIT_BAD_INPUT)
    flags = RunContext(
        repository=repository,
        branch=branch,
        commit=commit,
        job=job,
        attempt=attempt,
        provider=ci_provider,
        run_url=run_url,
    )
    context = resolve_context(flags, os.environ)

    def params_for(path: Path) -> AnalyzeLogParams:
        return AnalyzeLogParams(
            log_path=path.resolve(),
            baseline_path=baseline.resolve() if baseline else None,
            log_type=log_type,
            ci_provider=context.provider,
            use_model=model or agent,
            agent=agent,
            top_k=top_k,
            max_tokens=max_tokens,
            record_history=history,
            **context.model_dump(exclude={"provider"}),
        )

    if len(logs) > 1 or Path(logs[0]).is_dir():
        _analyze_many(logs, params_for, model=model or agent)
        return
    if logs[0] != "-" and not Path(logs[0]).is_file():
        raise fail(f"no such log file: {logs[0]}", EXIT_BAD_INPUT)
    from workflowai.analysis.render import render_markdown

    # the raw stdin copy is removed on every way out (errors, Ctrl-C): nothing raw stays behind
    path = _stdin_to_file() if logs[0] == "-" else Path(logs[0])
    try:
        params = run_guarded(lambda: params_for(path))
        report = _analyze_one(params)
    finally:
        if logs[0] == "-":
            path.unlink(missing_ok=True)
    if output_format == "json":
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_markdown(report) + "\n")


def _warm_report(params: AnalyzeLogParams) -> Any:
    """The report from the kept local server's warm process (flows/local_analysis.py), or
    None: then this process runs the flow (and starts that server for the next run)."""
    from workflowai.cli import settings_or_exit

    if not settings_or_exit().prefect.keep_local_server:
        return None
    from flows.local_analysis import analyze_via_kept_server
    from flows.local_server import cli_state

    return analyze_via_kept_server(params, *cli_state())


def _warm_up(params: Callable[[], AnalyzeLogParams]) -> Callable[[], None]:
    """What run_flow does while the local server starts: the analysis's imports and models
    (`params` is called in that thread: an error there is left for the run to report)."""

    def warm() -> None:
        from flows.analyze_log import warm_up

        warm_up(params())

    return warm


def _flow_report(params: AnalyzeLogParams) -> Any:
    from flows.analyze_log import analyze_log_flow

    return analyze_log_flow(params)


def _analyze_one(params: AnalyzeLogParams) -> Any:
    from workflowai.cli import err, run_flow, run_guarded
    from workflowai.cli_render import progress_from_logs

    report = run_guarded(lambda: _warm_report(params))
    if report is None:
        with progress_from_logs(err):  # the first run indexes the starter knowledge base
            report = run_flow(
                lambda: _flow_report(params),
                warm=_warm_up(lambda: params),
                preload_generator=params.use_model or params.agent,
            )
    return report


def _analyze_many(
    items: list[str], params_for: Callable[[Path], AnalyzeLogParams], *, model: bool
) -> None:
    from workflowai.cli import EXIT_ERROR, err, fail, run_flow, run_guarded
    from workflowai.cli_render import progress_from_logs

    paths = run_guarded(lambda: expand_logs(items))

    def each(path: Path) -> Any:
        params = params_for(path)
        report = _warm_report(params)
        return _flow_report(params) if report is None else report

    def write(line: str) -> None:
        sys.stdout.write(line)
        sys.stdout.flush()  # a reader of the stream sees each report as it is done

    warm = _warm_up(lambda: params_for(paths[0])) if paths else None
    with progress_from_logs(err):
        failed = run_flow(
            lambda: analyze_each(paths, each, write), warm=warm, preload_generator=model
        )
    if failed:
        raise fail(f"{failed} of {len(paths)} logs could not be analyzed", EXIT_ERROR)


def register(app: typer.Typer) -> None:
    """Add `analyze-log` to the main CLI."""
    app.command("analyze-log")(analyze_log)
