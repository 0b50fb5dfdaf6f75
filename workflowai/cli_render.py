"""What the CLI prints: index summaries, search hits, store stats, model info, types.

Pure rendering with rich; the commands in `cli.py` decide what to show and where.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from workflowai.registry import WorkflowType
from workflowai.schemas import IndexSummary, ModelInfo, SearchResult, StoreInfo

PASSAGE_CHARS = 300


def index_summary_table(summary: IndexSummary) -> Table:
    table = Table(title="Index summary", show_header=False)
    rows = [
        ("documents seen", summary.documents_seen),
        ("documents indexed", summary.documents_indexed),
        ("skipped unchanged", summary.documents_unchanged),
        ("pruned", summary.documents_pruned),
        ("chunks written", summary.chunks_written),
        ("failures", len(summary.failures)),
        ("seconds", f"{summary.seconds:.1f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def print_index_summary(console: Console, summary: IndexSummary) -> None:
    console.print(index_summary_table(summary))
    for failure in summary.failures:
        console.print(f"[red]failed[/red] {failure.source}: {failure.reason}")


def print_search_result(console: Console, result: SearchResult) -> None:
    console.print(
        f"{len(result.hits)} hits for [bold]{result.query!r}[/bold] "
        f"({result.mode.value}, {result.took_ms:.0f} ms)"
    )
    for rank, hit in enumerate(result.hits, start=1):
        chunk = hit.chunk
        passage = " ".join(chunk.text.split())
        if len(passage) > PASSAGE_CHARS:
            passage = passage[:PASSAGE_CHARS] + "..."
        console.print(
            f"\n[bold]{rank}. {chunk.title or chunk.document_id}[/bold]  "
            f"score={hit.score:.3f}  [dim]{chunk.source}[/dim]",
            highlight=False,
        )
        console.print(f"   {passage}", highlight=False, markup=False)


def print_store_info(console: Console, info: StoreInfo) -> None:
    table = Table(title="Knowledge base", show_header=False)
    for name, value in info.model_dump(exclude={"extra"}).items():
        table.add_row(name, "-" if value is None else str(value))
    for name, value in info.extra.items():
        table.add_row(name, str(value))
    console.print(table)


def print_model_info(console: Console, title: str, info: ModelInfo | None) -> None:
    if info is None:
        console.print(f"{title}: not configured (WORKFLOWAI_GENERATION__BACKEND=none)")
        return
    table = Table(title=title, show_header=False)
    for name, value in info.model_dump(exclude={"extra"}).items():
        table.add_row(name, "-" if value is None else str(value))
    for name, value in info.extra.items():
        table.add_row(name, str(value))
    console.print(table)


def types_document(types: dict[str, WorkflowType]) -> dict[str, Any]:
    return {
        name: {
            "description": t.description,
            "entrypoint": t.entrypoint,
            "parameters": t.params_model.model_json_schema(),
        }
        for name, t in types.items()
    }


class ProgressLogHandler(logging.Handler):
    """Drives a rich progress bar from log records whose `extra` carries (done, total, unit).

    The bar starts with the first such record: a run that reports no progress (a warm
    analysis) writes nothing, not even an empty line."""

    def __init__(self, progress: Progress, key: str) -> None:
        super().__init__(level=logging.INFO)
        self._progress = progress
        self._key = key
        self._tasks: dict[str, Any] = {}
        self.started = False

    def emit(self, record: logging.LogRecord) -> None:
        counts = getattr(record, self._key, None)
        if not counts:
            return
        done, total, unit = counts
        if not self.started:
            self._progress.start()
            self.started = True
        if unit not in self._tasks:
            self._tasks[unit] = self._progress.add_task(unit, total=total)
        self._progress.update(self._tasks[unit], completed=done, total=total)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@contextmanager
def progress_from_logs(console: Console) -> Iterator[None]:
    """A rich progress bar fed by the flow's progress log records (see tasks/progress.py)."""
    from tasks.progress import PROGRESS_KEY

    bar = progress_bar(console)
    handler = ProgressLogHandler(bar, PROGRESS_KEY)
    loggers = [logging.getLogger("prefect.flow_runs"), logging.getLogger("prefect.task_runs")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        if handler.started:
            bar.stop()
