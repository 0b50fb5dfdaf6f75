"""Progress of long runs: a Prefect progress artifact plus a log line carrying the counts.

The log record's `extra` holds the counts under PROGRESS_KEY, so the CLI can drive a progress
bar from the same records the UI shows, without a second channel.
"""

from __future__ import annotations

from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

PROGRESS_KEY = "workflowai_progress"


def start_progress(key: str, total: int, unit: str) -> UUID:
    """A progress artifact at 0% (key: lowercase letters, digits and dashes)."""
    artifact_id = create_progress_artifact(progress=0.0, key=key, description=f"{total} {unit}")
    report_progress(artifact_id, 0, total, unit)
    return artifact_id


def report_progress(artifact_id: UUID | None, done: int, total: int, unit: str) -> None:
    """Log `done/total unit` and move the artifact to that percentage."""
    get_run_logger().info("%s: %d/%d", unit, done, total, extra={PROGRESS_KEY: (done, total, unit)})
    if artifact_id is not None:
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        update_progress_artifact(artifact_id=artifact_id, progress=percent)
