"""Parameter models of the workflow types: one pydantic model per flow.

Each flow takes exactly one of these, so the Prefect UI renders a typed form and the CLI,
`execute` and deployments validate the same way. `run_label` is what the flows' run-name
templates show (`flow_run_name="analyze-log-{params.run_label}"`), so runs are told apart.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflowai.analysis.report import LogType
from workflowai.logref import LogRef
from workflowai.schemas import ChatMessage, MetaValue
from workflowai.settings import SearchMode

_LABEL_CHARS = re.compile(r"[^a-z0-9]+")
# one flow run analyzes this many jobs at most (a large matrix still fits)
MAX_RUN_JOBS = 100


def _slug(text: str, limit: int = 24) -> str:
    return _LABEL_CHARS.sub("-", text.lower()).strip("-")[:limit].strip("-") or "x"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:8]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AnalysisOptions(_Params):
    """How a log is analyzed: shared by `analyze-log` and each job of `analyze-run`."""

    log_type: LogType = LogType.BUILD
    ci_provider: str | None = Field(
        default=None, description="github-actions, gitlab, jenkins, travis, ... (None: detect)"
    )
    top_k: int = Field(default=5, ge=1, le=50, description="knowledge-base passages to cite")
    mode: SearchMode = SearchMode.HYBRID
    use_model: bool = Field(default=False, description="let the configured LLM write the prose")
    agent: bool = Field(default=False, description="agent mode: the model may search the KB")
    max_tokens: int = Field(default=512, ge=16, le=8192)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    ensure_knowledge_base: bool = Field(
        default=True, description="index the starter knowledge base when the store is empty"
    )
    publish: bool = Field(default=True, description="publish the report as a Prefect artifact")
    # the run's context, for the failure history (the CLI fills it from the CI environment)
    repository: str | None = Field(default=None, description="owner/name or group/project")
    branch: str | None = Field(default=None, description="the branch the job tested")
    commit: str | None = Field(default=None, description="commit SHA the job ran on")
    job: str | None = Field(default=None, description="job name (with matrix values)")
    attempt: int | None = Field(default=None, ge=1, description="run attempt, 1 = first")
    run_url: str | None = Field(default=None, description="link to the CI run or job")
    default_branch: str | None = Field(default=None, description="None: the configured one")
    record_history: bool = Field(
        default=True, description="record the failure in the history and add its verdict"
    )


class _LogSource(_Params):
    """One log and its optional baseline: uploaded (a reference) or a file on the worker.

    No log text is ever a parameter: Prefect stores parameters in its database and shows them
    in the UI and the API. `workflowai trigger --file` redacts and uploads the log first.
    """

    log_ref: LogRef | None = Field(
        default=None, description="a redacted log uploaded to the log storage (trigger --file)"
    )
    log_path: Path | None = Field(
        default=None, description="a log file on the worker (deployment runs: allowed roots only)"
    )
    baseline_ref: LogRef | None = Field(
        default=None, description="a passing run of the same job, uploaded"
    )
    baseline_path: Path | None = Field(
        default=None, description="a passing run of the same job, on the worker"
    )

    @model_validator(mode="after")
    def _one_log_source(self) -> _LogSource:
        if (self.log_ref is None) == (self.log_path is None):
            raise ValueError("give exactly one of log_ref or log_path")
        if self.baseline_ref is not None and self.baseline_path is not None:
            raise ValueError("give at most one of baseline_ref or baseline_path")
        return self

    @property
    def log_source(self) -> LogRef | Path:
        """The log to read: its reference, or its path on the worker."""
        return self.log_ref if self.log_ref is not None else self.log_path  # type: ignore[return-value]

    @property
    def baseline_source(self) -> LogRef | Path | None:
        return self.baseline_ref if self.baseline_ref is not None else self.baseline_path

    def _source_label(self) -> str:
        if self.log_path is not None:
            return self.log_path.name
        return self.log_ref.sha256[:8] if self.log_ref is not None else "x"


class AnalyzeLogParams(_AnalysisOptions, _LogSource):
    """Analyze one failing CI/CD log: evidence, redaction, retrieval, report."""

    @property
    def run_label(self) -> str:
        return f"{self.log_type.value}-{_slug(self._source_label())}"


class RunJob(_LogSource):
    """One failed job of a CI workflow run: its name and its log."""

    name: str = Field(min_length=1, max_length=200, description="the CI job's name")


class AnalyzeRunParams(_AnalysisOptions):
    """Analyze the failed jobs of one CI workflow run: one report, a section per job."""

    jobs: list[RunJob] = Field(min_length=1, max_length=MAX_RUN_JOBS)

    @model_validator(mode="after")
    def _unique_names(self) -> AnalyzeRunParams:
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError("job names must be unique within a run")
        return self

    def job_params(self, job: RunJob) -> AnalyzeLogParams:
        """The single-log parameters of `job` (the run publishes one report for all jobs)."""
        options = self.model_dump(exclude={"jobs"})
        sources = job.model_dump(exclude={"name"})
        # the failure history tells jobs apart by name: each job is its own
        context = {"job": self.job or job.name}
        return AnalyzeLogParams(**{**options, **sources, **context, "publish": False})

    @property
    def run_label(self) -> str:
        more = f"-and-{len(self.jobs) - 1}" if len(self.jobs) > 1 else ""
        return f"{_slug(self.jobs[0].name)}{more}"


class IndexParams(_Params):
    """Index files or folders (md, txt, json, jsonl, yaml) into the knowledge base."""

    paths: list[Path] = Field(min_length=1, description="files or folders on the worker")
    prune: bool = Field(default=False, description="remove documents no longer in the sources")
    batch_chunks: int = Field(default=256, ge=1, le=10_000, description="chunks per batch")

    @property
    def run_label(self) -> str:
        first = _slug(self.paths[0].name or str(self.paths[0]))
        more = f"-and-{len(self.paths) - 1}" if len(self.paths) > 1 else ""
        return f"{first}{more}"


class ReindexParams(_Params):
    """Rebuild the index into a new version and swap it in atomically (or roll back)."""

    sources: list[Path] = Field(
        default_factory=list, description="folders to index; empty: the configured sources"
    )
    rollback: bool = Field(default=False, description="re-activate the previous version")

    @property
    def run_label(self) -> str:
        return "rollback" if self.rollback else f"{len(self.sources) or 'configured'}-sources"


class SearchParams(_Params):
    """Search the knowledge base."""

    query: str = Field(min_length=1)
    mode: SearchMode = SearchMode.HYBRID
    top_k: int = Field(default=5, ge=1, le=1000)
    filters: dict[str, MetaValue] = Field(default_factory=dict)

    @property
    def run_label(self) -> str:
        return f"{self.mode.value}-{_slug(self.query)}"


class GenerateParams(_Params):
    """Generate text with the configured model from a prompt or chat messages."""

    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: int = Field(default=512, ge=1, le=32768)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> GenerateParams:
        if (self.prompt is None) == (not self.messages):
            raise ValueError("give exactly one of prompt or messages")
        return self

    @property
    def run_label(self) -> str:
        text = self.prompt if self.prompt is not None else self.messages[-1].content  # type: ignore[index]
        return f"{self.max_tokens}-tokens-{_digest(text)}"


class ExecuteParams(_Params):
    """Run any registered workflow type by name with its parameters (validated first)."""

    workflow_type: str = Field(description="a registered type: see `workflowai types`")
    parameters: dict[str, Any] = Field(default_factory=dict)

    @property
    def run_label(self) -> str:
        return _slug(self.workflow_type)


class RecordSuccessParams(_Params):
    """Record a passing run: a failure that passed on the same commit and job is flaky."""

    commit: str = Field(min_length=1, description="commit SHA the job passed on")
    repository: str | None = None
    branch: str | None = None
    job: str | None = Field(default=None, description="the same job name as its failures")
    attempt: int | None = Field(default=None, ge=1)
    ci_provider: str | None = None
    run_url: str | None = None
    default_branch: str | None = None

    @property
    def run_label(self) -> str:
        return f"{_slug(self.job or 'job')}-{self.commit[:12]}"


class ConfirmCauseParams(_Params):
    """Confirm a failure's cause (a knowledge-base entry cited first from now on) or reject a
    knowledge-base entry proposed for it."""

    signature: str = Field(
        min_length=1, description="the report's history fingerprint or failure signature"
    )
    title: str | None = Field(default=None, max_length=200, description="the known issue")
    cause: str | None = Field(default=None, max_length=4000, description="why it fails")
    fix: list[str] = Field(default_factory=list, max_length=10, description="steps to fix it")
    reject: bool = Field(default=False, description="mark a proposed entry as wrong instead")
    entry_id: str | None = Field(
        default=None, description="with reject: the entry (default: the one proposed first)"
    )

    @model_validator(mode="after")
    def _title_and_cause(self) -> ConfirmCauseParams:
        if not self.reject and not ((self.title or "").strip() and (self.cause or "").strip()):
            raise ValueError("a confirmation needs a title and a cause (or reject=true)")
        return self

    @property
    def run_label(self) -> str:
        return f"{'reject' if self.reject else 'confirm'}-{_slug(self.signature, 16)}"


class FailureDigestParams(_Params):
    """The most frequent failures of a period, as a table and a chart of daily counts."""

    since_days: float = Field(default=7.0, gt=0, le=366, description="how far back to look")
    top: int = Field(default=10, ge=1, le=100, description="how many signatures to show")
    repository: str | None = Field(default=None, description="one repository (None: all)")

    @property
    def run_label(self) -> str:
        return f"{self.since_days:g}d-top{self.top}"
