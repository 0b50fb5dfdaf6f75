"""The report of one CI workflow run: each failed job's `AnalysisReport`, grouped by cause.

Jobs whose reports share a failure signature failed the same way (a matrix build failing on
every platform): they form one `CauseGroup`, so the reader sees "4 jobs failed with the same
cause" once instead of four copies. Groups are ordered largest first, then by the first job's
position in the run. Rendering is `run_render.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis.report import AnalysisReport, Category

RUN_REPORT_SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobAnalysis(_Model):
    name: str = Field(description="the CI job's name")
    report: AnalysisReport


class CauseGroup(_Model):
    """Jobs that failed with the same failure signature."""

    failure_signature: str
    category: Category
    summary: str = Field(description="the first job's summary")
    jobs: list[str] = Field(min_length=1, description="job names, in run order")


class RunReport(_Model):
    schema_version: str = RUN_REPORT_SCHEMA_VERSION
    jobs: list[JobAnalysis] = Field(min_length=1)
    groups: list[CauseGroup] = Field(description="one per distinct cause, largest first")

    def report_of(self, name: str) -> AnalysisReport:
        """The report of the job called `name` (KeyError when there is none)."""
        for job in self.jobs:
            if job.name == name:
                return job.report
        raise KeyError(name)


def group_by_cause(jobs: Sequence[JobAnalysis]) -> list[CauseGroup]:
    """Jobs grouped by failure signature: largest group first, ties in run order."""
    order: dict[str, list[JobAnalysis]] = {}
    for job in jobs:
        order.setdefault(job.report.failure_signature, []).append(job)
    members = sorted(order.values(), key=len, reverse=True)  # stable: run order on ties
    return [
        CauseGroup(
            failure_signature=group[0].report.failure_signature,
            category=group[0].report.category,
            summary=group[0].report.summary,
            jobs=[job.name for job in group],
        )
        for group in members
    ]


def build_run_report(jobs: Sequence[tuple[str, AnalysisReport]]) -> RunReport:
    """The run report of `(job name, report)` pairs, in run order.

    Raises ValueError for no jobs or a repeated job name.
    """
    analyses = [JobAnalysis(name=name, report=report) for name, report in jobs]
    if not analyses:
        raise ValueError("a run report needs at least one job")
    names = [job.name for job in analyses]
    if len(set(names)) != len(names):
        raise ValueError("job names must be unique within a run")
    return RunReport(jobs=analyses, groups=group_by_cause(analyses))
