"""History commands: `record-success`, `confirm` and `history top`.

`record-success` and `history top` are quick local calls to the library (the configured history
store); `confirm` runs the `confirm-cause` workflow, which indexes the new knowledge-base entry.
Context values not given as flags come from the CI provider's environment.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from workflowai.history.context import resolve_context
from workflowai.history.models import RunContext

history_app = typer.Typer(help="The failure history: most frequent failures, verdicts.")
_out = Console(highlight=False, soft_wrap=True)


def record_success(
    commit: str | None = typer.Option(None, help="commit SHA the job passed on (default: CI's)"),
    job: str | None = typer.Option(None, help="job name, as its failures recorded it"),
    repository: str | None = typer.Option(None, help="owner/name (default: CI's)"),
    branch: str | None = typer.Option(None, help="branch (default: CI's)"),
    attempt: int | None = typer.Option(None, min=1, help="run attempt (default: CI's)"),
    run_url: str | None = typer.Option(None, help="link to the run (default: CI's)"),
    ci_provider: str | None = typer.Option(None, help="github-actions, gitlab, jenkins, ..."),
) -> None:
    """Record that a job passed: failures that passed on the same commit and job are flaky."""
    from workflowai.cli import run_guarded
    from workflowai.history.factory import build_history_store
    from workflowai.history.recording import record_success as record
    from workflowai.settings import Settings

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
    settings = run_guarded(Settings)

    def call() -> str:
        store = build_history_store(settings)
        try:
            run = record(
                store, context, settings.history, run_id=str(uuid.uuid4()), now=datetime.now(UTC)
            )
        finally:
            store.close()
        return f"recorded success of {run.context.job or 'the job'} on {run.context.commit}"

    _out.print(run_guarded(call), markup=False)


def confirm(
    signature: str = typer.Argument(..., help="the report's history fingerprint or signature"),
    title: str | None = typer.Option(None, help="the known issue, one line"),
    cause: str | None = typer.Option(None, help="why it fails"),
    fix: list[str] = typer.Option([], help="a step to fix it (repeatable)"),
    reject: bool = typer.Option(False, help="mark a proposed entry as wrong instead"),
    entry: str | None = typer.Option(None, help="with --reject: the entry (default: cited first)"),
) -> None:
    """Confirm a failure's cause (cited first from now on) or reject a proposed entry."""
    from workflowai.cli import run_guarded
    from workflowai.params import ConfirmCauseParams

    params = run_guarded(
        lambda: ConfirmCauseParams(
            signature=signature, title=title, cause=cause, fix=fix, reject=reject, entry_id=entry
        )
    )
    from flows.history import confirm_cause_flow

    decision = run_guarded(lambda: confirm_cause_flow(params))
    if decision.rejected:
        message = f"rejected {decision.entry_id} for failure {decision.fingerprint}"
    else:
        message = (
            f"confirmed {decision.entry_id} for failure {decision.fingerprint}: "
            f"{decision.title} (indexed from {decision.source})"
        )
    _out.print(message, markup=False)


@history_app.command("top")
def top(
    since: str = typer.Option("7d", help="how far back: 24h, 7d, 2w"),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100),
    repository: str | None = typer.Option(None, help="one repository (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="print the rows as JSON"),
) -> None:
    """The most frequent failures: signature, count, jobs, branches, seen, verdict, known issue."""
    from workflowai.cli import run_guarded
    from workflowai.history.digest import build_digest, chart_markdown, parse_span, table
    from workflowai.history.factory import build_history_store
    from workflowai.settings import Settings

    span = run_guarded(lambda: parse_span(since))
    settings = run_guarded(Settings)
    until = datetime.now(UTC)

    def call():  # type: ignore[no-untyped-def]
        store = build_history_store(settings)
        try:
            return build_digest(
                store,
                since=until - span,
                until=until,
                top=limit,
                settings=settings.history,
                repository=repository,
            )
        finally:
            store.close()

    digest = run_guarded(call)
    rows = table(digest)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        _out.print(f"no failures recorded in the last {since}", markup=False)
        return
    view = Table(title=f"Most frequent failures, last {since}")
    for column in rows[0]:
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(*(str(value) for value in row.values()))
    _out.print(view)
    _out.print(chart_markdown(digest), markup=False)


def register(app: typer.Typer) -> None:
    app.command("record-success")(record_success)
    app.command("confirm")(confirm)
    app.add_typer(history_app, name="history")
