"""The CLI's progress bar, driven by the progress log records flows emit (tasks/progress.py)."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from tasks.progress import PROGRESS_KEY
from workflowai.cli_render import progress_from_logs


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, force_terminal=False, width=100)


def test_a_run_without_progress_records_writes_nothing() -> None:
    buffer = io.StringIO()
    with progress_from_logs(_console(buffer)):
        logging.getLogger("prefect.task_runs").info("a plain log line")
    assert buffer.getvalue() == ""  # a warm analysis: not even an empty line on stderr


def test_progress_records_draw_the_bar_with_their_unit_and_counts() -> None:
    buffer = io.StringIO()
    logger = logging.getLogger("prefect.task_runs")
    with progress_from_logs(_console(buffer)):
        logger.info("0/125", extra={PROGRESS_KEY: (0, 125, "starter knowledge base")})
        logger.info("125/125", extra={PROGRESS_KEY: (125, 125, "starter knowledge base")})
    assert "starter knowledge base" in buffer.getvalue()
    assert "125/125" in buffer.getvalue()
    # the handler is gone afterwards: later records reach no bar
    assert not any(type(h).__name__ == "ProgressLogHandler" for h in logger.handlers)
