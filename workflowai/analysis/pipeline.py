"""One call from a log to its signals: normalize -> redact -> (baseline) -> signals.

For the CLI's quick local runs and for tests; the `analyze-log` flow runs the same steps as
separate tasks. Redaction happens while the log streams in, so no unredacted line is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from workflowai.analysis.baseline import build_baseline
from workflowai.analysis.normalize import read_log
from workflowai.analysis.redact import Redactor
from workflowai.analysis.signals import Signals, extract_signals
from workflowai.settings import AnalysisSettings

LogSource = bytes | str | Path | BinaryIO


def analyze(
    source: LogSource,
    *,
    baseline_source: LogSource | None = None,
    settings: AnalysisSettings,
) -> Signals:
    """Signals of the failing log `source`, pushed against a passing log when given.

    The returned Signals carry the redaction counts, CI provider and warnings.
    Raises LogParseError for an empty, binary or unreadable log.
    """
    log = read_log(source, max_bytes=settings.max_log_bytes, redactor=Redactor())
    baseline = (
        build_baseline(baseline_source, max_bytes=settings.max_log_bytes)
        if baseline_source is not None
        else None
    )
    return extract_signals(log, baseline=baseline, settings=settings)
