"""The analysis report: a versioned model with a published JSON schema.

`schemas/analysis-report.schema.json` is generated from `AnalysisReport` (a test checks it is
current). Bump REPORT_SCHEMA_VERSION on any change that is not backwards compatible.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = "1.0"


class Category(StrEnum):
    COMPILE = "compile"
    TEST = "test"
    DEPENDENCY = "dependency"
    NETWORK = "network"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out-of-memory"
    PERMISSION = "permission"
    CONFIGURATION = "configuration"
    INFRASTRUCTURE = "infrastructure"
    UNKNOWN = "unknown"


class Origin(StrEnum):
    """Which part of the pipeline produced a field."""

    RULES = "rules"
    RETRIEVAL = "retrieval"
    MODEL = "model"
    AGENT = "agent"


class LogType(StrEnum):
    BUILD = "build"
    DEPLOY = "deploy"
    TEST = "test"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LogLine(_Model):
    number: int = Field(ge=1, description="1-based line number in the original log")
    text: str = Field(description="the line, verbatim after normalization and redaction")


class EvidenceBlock(_Model):
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    lines: list[LogLine]
    # the lines inside the block that matched a rule or heuristic
    key_lines: list[int] = Field(default_factory=list)
    rule_ids: list[str] = Field(default_factory=list)
    score: float = 0.0
    step: str | None = Field(default=None, description="CI step or group the block is in")


class Citation(_Model):
    chunk_id: str
    document_id: str
    title: str
    source: str
    score: float
    excerpt: str = ""


class SuggestedFix(_Model):
    text: str
    origin: Origin


class ToolCallRecord(_Model):
    tool: str
    arguments: dict[str, str | int | float | bool | None]
    result_summary: str
    seconds: float


class Provenance(_Model):
    category: Origin = Origin.RULES
    root_cause: Origin = Origin.RULES
    summary: Origin = Origin.RULES
    fixes: list[Origin] = Field(default_factory=list)
    model: str | None = None
    model_error: str | None = Field(
        default=None, description="why the model's answer was not used, when it was not"
    )


class AnalysisReport(_Model):
    schema_version: str = REPORT_SCHEMA_VERSION
    summary: str
    category: Category
    root_cause: str
    evidence: list[EvidenceBlock]
    suggested_fixes: list[SuggestedFix]
    citations: list[Citation]
    failure_signature: str = Field(description="sha256 prefix of the normalized key lines")
    signature_text: str = Field(description="the normalized template the signature hashes")
    confidence: float = Field(ge=0.0, le=1.0)
    log_type: LogType = LogType.BUILD
    ci_provider: str | None = None
    failing_step: str | None = None
    exit_code: int | None = None
    total_lines: int = 0
    redactions: dict[str, int] = Field(
        default_factory=dict, description="count of redacted values by secret type"
    )
    provenance: Provenance = Field(default_factory=Provenance)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ReportDraft(_Model):
    """What a model may write: the prose fields. Evidence and citations stay rule-made."""

    summary: str = Field(min_length=1, max_length=2000)
    category: Category
    root_cause: str = Field(min_length=1, max_length=4000)
    suggested_fixes: list[str] = Field(default_factory=list, max_length=10)
    confidence: float = Field(ge=0.0, le=1.0)
