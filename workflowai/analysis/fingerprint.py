"""Fingerprints: the same failure in two runs gets the same key; different failures differ.

`finding_fingerprint` hashes one finding's kind, tool, masked subjects and masked message.
`run_fingerprint` is the run-level grouping key the history store groups runs by: the set of
its specific findings' fingerprints, or, when the report has no specific finding, the masked
failure lines of its evidence. Masking (`templates.mask_line`, plus compound durations) removes
numbers, hex ids, temp paths and timestamps; CI workspace prefixes are stripped first
(`paths.workspace_relative`), so `src/app.py` stays a subject.

Generic lines never make a fingerprint on their own: runner exit lines ("Process completed with
exit code 1", "make: *** [all] Error 2", "npm ERR! Test failed") and test-count summaries say
that something failed, not what. Dr. CI's users reported false flaky verdicts from exactly
those, so a finding of kind process-exit, or one whose message is generic and that names no
subject, has no fingerprint ("").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from workflowai.analysis.paths import workspace_relative
from workflowai.analysis.report import AnalysisReport, EvidenceBlock, Finding, FindingKind
from workflowai.analysis.templates import mask_line

# bump when the hashed text changes: earlier fingerprints stop matching on purpose
SCHEME = "fp1"
MAX_TEXT_CHARS = 240
MAX_EVIDENCE_LINES = 40

# "4m9s", "1h2m3.5s": mask_line leaves the tail of a compound duration as text
_COMPOUND_DURATION = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?(?:h|m|s|ms)(?:\d+(?:\.\d+)?(?:h|m|s|ms))+\b"
)
# Lines that only say that a step, job, command or test run failed (CI runners, make, npm,
# yarn, build tools and test-count summaries, from their documented output), after masking.
_GENERIC = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"process completed with exit code",
        r"\bexit(?:ed)?\s+(?:with\s+)?(?:code|status)\b",
        r"\bexit (?:code|status):? <N>",
        r"\bexited with <N>",
        r"returned (?:a )?non-zero exit",
        r"^make(?:\[<N>\])?: \*\*\* .*\berror <N>",
        r"recipe for target .* failed",
        # npm's failure epilogue, with or without its prefix (a finding keeps the message)
        r"^(?:npm ERR! )?(?:code ELIFECYCLE|errno\b|Exit status|Failed at the .*script|"
        r"Test failed|A complete log of this run|This is probably not a problem with npm|"
        r"<PATH>\W*$|\s*$)",
        r"^error Command failed with exit code",
        r"\bjob failed\b",
        r"\bbuild failed\b",
        r"^\[?(?:ERROR\]? )?BUILD FAILURE",
        r"^FAILURE: Build failed",
        r"^Finished: FAILURE",
        r"marked build as failure",
        r"script returned exit code",
        r"Done\. Your build exited",
        r"see above for more details",
        r"^<N> (?:failing|failed|passed|errors?|tests?)\b",
        r"^(?:FAILED|FAIL|ERROR|Error|failed)\W*$",
        r"\btests? (?:unsuccessful|failed)\W*$",
        r"^\W*(?:<N> )?TESTS? FAILED\W*$",
        r"^Failing tests:$",
        r"\bFailed tests:$",
        r"^failed <N> and passed <N>",
        r"^Tests run: <N>, Failures: <N>",
        r"^=+ .*\b(?:failed|passed|errors?)\b.* =+$",
        r"^(?:<N> doctests?, )?<N> tests?, <N> failures?",
        r"^Tests?: +<N> failed",
        r"^FAILED \(.*(?:failures|errors)=<N>",
    )
]
_PLACEHOLDER = re.compile(r"<[A-Z]+>")
_SPECIFIC_SUBJECTS = ("test_id", "file", "code", "package", "host")
# context lines that vary between runs of one failure: log records below warning level, and
# package managers' and VCS progress lines (apt, pip, git), from their documented output
_LOW_LEVEL = re.compile(r"(?:^|[\s\[|(])(?:DEBUG|INFO|TRACE|NOTICE|VERBOSE)(?:[\s\]|):]|$)")
_PROGRESS = re.compile(
    r"^(?:Hit|Get|Ign|Fetched|Selecting|Preparing|Unpacking|Setting up|Processing|Downloading|"
    r"Collecting|Installing|Requirement already|Using cached|Cloning into|Receiving|"
    r"Resolving deltas|remote:)\b"
)


def mask_text(text: str) -> str:
    """`text` with run-specific tokens masked, one line, clipped. CI workspace prefixes are
    removed first (`src/app.py` stays a subject), compound durations masked before numbers."""
    text = _COMPOUND_DURATION.sub("<DUR>", workspace_relative(text))
    return mask_line(text)[:MAX_TEXT_CHARS]


def is_generic_line(text: str) -> bool:
    """True for a line that only says something failed (exit lines, counts, wrappers), or
    that is nothing but masked tokens (a log file's path, a timestamp)."""
    masked = mask_text(text)
    if not _PLACEHOLDER.sub("", masked).strip(" \t.,:;-_=*#|()[]{}'\""):
        return True
    return any(p.search(masked) for p in _GENERIC)


def mask_file(path: str) -> str:
    """A file subject without the workspace it was checked out in; temp paths masked."""
    return mask_text(path.strip())


def is_generic_finding(finding: Finding) -> bool:
    """Process exits, and findings whose message is generic and that name no subject."""
    if finding.kind is FindingKind.PROCESS_EXIT:
        return True
    named = any(getattr(finding, field) for field in _SPECIFIC_SUBJECTS)
    return not named and is_generic_line(finding.message)


def _digest(parts: Iterable[str]) -> str:
    text = "\x1f".join([SCHEME, *parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def finding_fingerprint(finding: Finding) -> str:
    """sha256 prefix of the finding's kind, tool, masked subjects and message; "" if generic."""
    if is_generic_finding(finding):
        return ""
    return _digest(
        [
            finding.kind.value,
            (finding.tool or "").lower(),
            mask_text(finding.test_id or ""),
            mask_file(finding.file or ""),
            finding.code or "",
            finding.package or "",
            mask_text(finding.command or ""),
            mask_text(finding.host or ""),
            mask_text(finding.message),
        ]
    )


def with_fingerprints(findings: Sequence[Finding]) -> list[Finding]:
    """The findings with `fingerprint` filled (generic ones keep "")."""
    return [f.model_copy(update={"fingerprint": finding_fingerprint(f)}) for f in findings]


def evidence_lines(blocks: Sequence[EvidenceBlock]) -> list[str]:
    """The masked, specific lines of the evidence (key lines and the lines around them).

    Generic lines, blank lines and context noise (low-level log records, progress lines that
    are not key lines) are left out; the rest is de-duplicated and sorted, so the order and
    repetition of lines in the log do not matter.
    """
    lines: set[str] = set()
    for block in blocks:
        keys = set(block.key_lines)
        for line in block.lines:
            masked = mask_text(line.text)
            if not masked or is_generic_line(line.text):
                continue
            noise = _LOW_LEVEL.search(line.text) or _PROGRESS.search(masked)
            if line.number in keys or not noise:
                lines.add(masked)
    return sorted(lines)[:MAX_EVIDENCE_LINES]


def run_fingerprint(report: AnalysisReport) -> str | None:
    """The run's grouping key: its specific findings, else its specific evidence lines.

    None when the run shows nothing specific (only generic exit lines, or no evidence): such a
    run is recorded but never grouped with another.
    """
    specific = sorted({f.fingerprint or finding_fingerprint(f) for f in report.findings} - {""})
    if specific:
        return _digest(["findings", *specific])
    lines = evidence_lines(report.evidence)
    if lines:
        return _digest(["evidence", *lines])
    return None
