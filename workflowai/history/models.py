"""Typed records of the failure history and the `history` section of the report.

Pure models: no storage, no analysis imports, so `analysis/report.py` can carry `RunHistory`.
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Verdict(StrEnum):
    NEW = "new"
    RECURRING = "recurring"
    FLAKY = "flaky"
    BROKEN_BASE = "broken-base"


class Outcome(StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"


class RunContext(_Model):
    """Where a run happened: from flags or the CI provider's environment (`history.context`)."""

    repository: str | None = Field(default=None, description="owner/name or group/project")
    branch: str | None = Field(default=None, description="the branch the run tested")
    commit: str | None = Field(default=None, description="commit SHA")
    job: str | None = Field(default=None, description="job name")
    attempt: int | None = Field(default=None, ge=1, description="run attempt (1 = first)")
    provider: str | None = Field(default=None, description="github-actions, gitlab, jenkins")
    run_url: str | None = Field(default=None, description="link to the run or job")
    default_branch: str | None = Field(default=None, description="the repository's base branch")


class RunRecord(_Model):
    """One analyzed failure (or one recorded success) in the history store."""

    id: str = Field(min_length=1, description="unique per analysis; a retry reuses it")
    outcome: Outcome = Outcome.FAILURE
    recorded_at: datetime
    context: RunContext = Field(default_factory=RunContext)
    on_default_branch: bool = False
    fingerprint: str | None = Field(default=None, description="run-level grouping key")
    failure_signature: str = ""
    signature_text: str = ""
    category: str = ""
    summary: str = ""
    ecosystem: str = ""
    finding_fingerprints: list[str] = Field(default_factory=list)
    finding_lines: list[str] = Field(
        default_factory=list, description="one readable line per finding: kind, subject, message"
    )
    cited_entries: list[str] = Field(default_factory=list, description="KB entry ids cited")

    _utc = field_validator("recorded_at")(utc)


class RunQuery(_Model):
    """Filters of `HistoryStore.find_runs` and `stats`; None means no filter."""

    fingerprint: str | None = None
    failure_signature: str | None = None
    repository: str | None = None
    commits: list[str] | None = None
    job: str | None = None
    outcome: Outcome | None = None
    on_default_branch: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=10_000)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)


class SignatureStats(_Model):
    """One fingerprint's runs matching a query: how many, when, where."""

    fingerprint: str
    count: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime
    jobs: list[str] = Field(default_factory=list)
    branches: list[str] = Field(default_factory=list)
    repositories: list[str] = Field(default_factory=list)
    signature_text: str = ""
    summary: str = ""
    category: str = ""


class CauseDecision(_Model):
    """A person's word on a fingerprint: a confirmed cause (a KB entry) or a rejected match."""

    fingerprint: str = Field(min_length=1)
    entry_id: str = Field(min_length=1)
    rejected: bool = False
    decided_at: datetime
    failure_signature: str = ""
    title: str = ""
    cause: str = ""
    fix: list[str] = Field(default_factory=list)
    document_id: str = ""
    chunk_id: str = ""
    source: str = Field(default="", description="path relative to the knowledge-base root")

    _utc = field_validator("decided_at")(utc)

    @property
    def id(self) -> str:
        return f"{self.fingerprint}:{self.entry_id}"


class EarlierRun(_Model):
    """An earlier failure with the same fingerprint (the report links to it)."""

    seen_at: datetime
    run_url: str | None = None
    repository: str | None = None
    branch: str | None = None
    commit: str | None = None
    job: str | None = None
    attempt: int | None = None


class KnownIssue(_Model):
    """The confirmed cause of this fingerprint (`workflowai confirm`)."""

    entry_id: str
    title: str
    cause: str = ""
    fix: list[str] = Field(default_factory=list)
    confirmed_at: datetime
    source: str = ""


class RunHistory(_Model):
    """`report.history`: what the history says about this failure.

    `occurrences` counts this run; `first_seen`/`last_seen` are the earliest and the latest
    EARLIER failure with the same fingerprint (None when there is none).
    """

    verdict: Verdict
    fingerprint: str | None = Field(default=None, description="run-level grouping key")
    reason: str = Field(default="", description="why this verdict, one sentence")
    occurrences: int = Field(default=1, ge=1)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    branches: list[str] = Field(default_factory=list)
    earlier_runs: list[EarlierRun] = Field(default_factory=list, description="newest first")
    known_issue: KnownIssue | None = None
    rejected_entries: list[str] = Field(
        default_factory=list, description="KB entries people rejected for this fingerprint"
    )
