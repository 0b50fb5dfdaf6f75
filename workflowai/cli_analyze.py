"""Several logs in one `analyze-log` call: start-up paid once, one JSON line per log.

Importing Prefect and the analysis code, reaching the Prefect API and loading the embedder
happen once per process; each log is still its own `analyze-log` flow run (its own run in the
UI, its own report artifact). One log's failure (empty, binary, unreadable) is reported on its
line and the others go on. Pure of Prefect: the caller passes the function that runs a flow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from workflowai.errors import AppError

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
