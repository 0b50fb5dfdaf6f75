"""The analysis report: a versioned model with a published JSON schema.

`schemas/analysis-report.schema.json` is generated from `AnalysisReport` (a test checks it is
current). Bump REPORT_SCHEMA_VERSION on any change that is not backwards compatible.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from workflowai.history.models import RunHistory

REPORT_SCHEMA_VERSION = "2.0"


class Category(StrEnum):
    COMPILE = "compile"
    TEST = "test"
    # linters, formatters, type checkers, static analysis
    LINT = "lint"
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


class FindingKind(StrEnum):
    """What kind of failure a finding is; each maps to the report `Category` of its cause."""

    TEST_FAILURE = "test-failure"
    COMPILE_ERROR = "compile-error"
    LINT_VIOLATION = "lint-violation"
    TYPE_ERROR = "type-error"
    DEPENDENCY_CONFLICT = "dependency-conflict"
    MISSING_DEPENDENCY = "missing-dependency"
    COMMAND_NOT_FOUND = "command-not-found"
    NETWORK_ERROR = "network-error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out-of-memory"
    PERMISSION_DENIED = "permission-denied"
    CONFIG_ERROR = "config-error"
    INFRASTRUCTURE_ERROR = "infrastructure-error"
    PROCESS_EXIT = "process-exit"


class Finding(_Model):
    """One distinct failure the log reports, with the subjects the log names.

    Subject fields hold text as the log prints it (after redaction); a field the log does not
    give stays None. `count` is how many occurrences were merged into this one (the same test
    in the failure list and the summary is one finding). `fingerprint` hashes the kind and the
    masked subjects (numbers, hashes, paths, timestamps masked), stable across runs.
    """

    kind: FindingKind
    message: str = Field(default="", description="the tool's message, one line")
    tool: str | None = Field(default=None, description="pytest, tsc, eslint, maven, npm, ...")
    ecosystem: str | None = Field(default=None, description="python, node, java, go, ...")
    test_id: str | None = None
    file: str | None = None
    line: int | None = Field(default=None, ge=0)
    column: int | None = Field(default=None, ge=0)
    code: str | None = Field(default=None, description="error or rule code: TS2322, E0308, F401")
    package: str | None = None
    version: str | None = None
    requirement: str | None = Field(default=None, description="the version range asked for")
    command: str | None = None
    host: str | None = Field(default=None, description="host name or URL")
    step: str | None = None
    expected: str | None = None
    actual: str | None = None
    evidence_lines: list[int] = Field(default_factory=list, description="1-based, ascending")
    count: int = Field(default=1, ge=1)
    rule_id: str | None = Field(default=None, description="the rule or grammar that found it")
    fingerprint: str = ""

    def subjects(self) -> list[str]:
        """What this finding names (test, file, code, package, command, host), most specific
        first, without repeats."""
        values = (
            self.test_id,
            self.file,
            self.package,
            self.code,
            self.command,
            self.host,
        )
        return list(dict.fromkeys(v for v in values if v))


class Citation(_Model):
    chunk_id: str
    document_id: str
    title: str
    source: str = Field(description="path relative to the knowledge-base root (or a URL)")
    score: float
    excerpt: str = ""
    entry_id: str | None = Field(default=None, description="the knowledge-base entry's id")


class SuggestedFix(_Model):
    text: str
    origin: Origin
    entry_id: str | None = Field(default=None, description="the entry this step comes from")
    filled: list[str] = Field(
        default_factory=list, description="placeholders filled from the findings"
    )


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
    findings: list[Finding] = Field(
        default_factory=list, description="distinct failures, root cause first"
    )
    findings_total: int = Field(
        default=0, ge=0, description="distinct findings before the list was capped"
    )
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
    history: RunHistory | None = Field(
        default=None, description="verdict from the failure history (None: not recorded)"
    )


class ReportDraft(_Model):
    """What a model may write: the prose fields. Evidence and citations stay rule-made."""

    summary: str = Field(min_length=1, max_length=2000)
    category: Category
    root_cause: str = Field(min_length=1, max_length=4000)
    suggested_fixes: list[str] = Field(default_factory=list, max_length=10)
    confidence: float = Field(ge=0.0, le=1.0)
