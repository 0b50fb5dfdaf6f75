"""Render an `AnalysisReport` as Markdown that fits a pull-request comment.

Log text is data, never markup: evidence goes into fenced code blocks whose fence is longer
than any backtick run inside, and every prose field is escaped (HTML and Markdown specials,
newlines folded), so a log that contains "## Summary", `</details>` or a fence cannot change
the comment's structure. The whole comment stays under GitHub's 65,536-character limit.
"""

from __future__ import annotations

import html
import re

from workflowai.analysis.explain import short_message, subject, where
from workflowai.analysis.report import AnalysisReport, EvidenceBlock, FindingKind

MAX_COMMENT_CHARS = 60_000
MAX_LINE_CHARS = 400
MAX_PROSE_CHARS = 2_000
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
_BLOCK_START = re.compile(r"^(\s*(?:\d+)?)([-+=>.)])")
_BACKTICKS = re.compile(r"`+")


def escape_inline(text: str, *, limit: int = MAX_PROSE_CHARS) -> str:
    """One line of plain text safe inside Markdown prose (no markup, no HTML, no newlines)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    # a paragraph must not start a list, quote or heading underline
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def fence_for(body: str) -> str:
    """A backtick fence longer than any backtick run in `body` (at least three)."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(body)), default=0)
    return "`" * max(3, longest + 1)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 1] + "…"


def render_block(block: EvidenceBlock) -> str:
    width = len(str(block.end_line))
    keys = set(block.key_lines)
    rows = [
        f"{'>' if line.number in keys else ' '} {line.number:>{width}} | {_clip(line.text)}"
        for line in block.lines
    ]
    body = "\n".join(rows)
    fence = fence_for(body)
    head = f"**Lines {block.start_line}-{block.end_line}**"
    details = []
    if block.step:
        details.append(f"step: {escape_inline(block.step, limit=120)}")
    if block.rule_ids:
        details.append("rules: " + ", ".join(escape_inline(r, limit=60) for r in block.rule_ids))
    if details:
        head += " (" + "; ".join(details) + ")"
    return f"{head}\n\n{fence}text\n{body}\n{fence}"


def _table(report: AnalysisReport) -> list[str]:
    rows = [("Category", report.category.value), ("Confidence", f"{report.confidence:.0%}")]
    if report.failing_step:
        rows.append(("Failing step", escape_inline(report.failing_step, limit=200)))
    if report.exit_code is not None:
        rows.append(("Exit code", str(report.exit_code)))
    if report.ci_provider:
        rows.append(("CI", escape_inline(report.ci_provider, limit=60)))
    rows.append(("Log", f"{report.log_type.value}, {report.total_lines} lines"))
    rows.append(("Failure signature", f"`{report.failure_signature}`"))
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


_SAFE_URL = re.compile(r"^https?://[^\s<>()\[\]\"'`\\]+$")


def history_lines(report: AnalysisReport) -> list[str]:
    """The verdict from the failure history (and a confirmed known issue) under the summary."""
    history = report.history
    if history is None:
        return []
    facts = [f"{history.occurrences} occurrence{'s' if history.occurrences > 1 else ''}"]
    if history.first_seen is not None:
        facts.append(f"first seen {history.first_seen:%Y-%m-%d}")
    if history.branches:
        facts.append(
            "branches: " + ", ".join(escape_inline(b, limit=80) for b in history.branches[:5])
        )
    line = f"**Verdict: {history.verdict.value}** ({'; '.join(facts)})"
    if history.reason:
        line += f": {escape_inline(history.reason, limit=300)}"
    links = [r.run_url for r in history.earlier_runs if r.run_url and _SAFE_URL.match(r.run_url)]
    if links:
        line += " Earlier runs: " + " ".join(f"[{i}]({u})" for i, u in enumerate(links, 1))
    out = [line, ""]
    known = history.known_issue
    if known is not None:
        out += [
            f"**Known issue (confirmed {known.confirmed_at:%Y-%m-%d}):** "
            f"{escape_inline(known.title, limit=200)}: {escape_inline(known.cause, limit=600)}",
            "",
        ]
    return out


_KIND_LABELS = {
    FindingKind.TEST_FAILURE: "test",
    FindingKind.COMPILE_ERROR: "compile error",
    FindingKind.LINT_VIOLATION: "lint",
    FindingKind.TYPE_ERROR: "type error",
    FindingKind.DEPENDENCY_CONFLICT: "dependency conflict",
    FindingKind.MISSING_DEPENDENCY: "missing dependency",
    FindingKind.COMMAND_NOT_FOUND: "command not found",
    FindingKind.NETWORK_ERROR: "network",
    FindingKind.TIMEOUT: "timeout",
    FindingKind.OUT_OF_MEMORY: "out of memory",
    FindingKind.PERMISSION_DENIED: "permission",
    FindingKind.CONFIG_ERROR: "configuration",
    FindingKind.INFRASTRUCTURE_ERROR: "infrastructure",
    FindingKind.PROCESS_EXIT: "command exit",
}


def _cell(text: str, limit: int) -> str:
    """Table-cell text: escaped prose with `|` escaped too, bounded."""
    return escape_inline(text, limit=limit) or "-"


def _findings_table(report: AnalysisReport) -> list[str]:
    """ "What failed": one row per finding (root cause first), and how many are not shown."""
    if not report.findings:
        return []
    rows = ["| | What | Where | Message | Lines |", "|---|---|---|---|---|"]
    for finding in report.findings:
        what = subject(finding) if finding.kind is not FindingKind.PROCESS_EXIT else ""
        what = what or finding.command or finding.package or finding.code or ""
        place = where(finding)
        lines = ", ".join(str(n) for n in finding.evidence_lines[:4])
        message = short_message(finding.message, 200) if finding.message else ""
        if finding.expected is not None or finding.actual is not None:
            message += f" (expected {finding.expected or '?'}, got {finding.actual or '?'})"
        rows.append(
            f"| {_KIND_LABELS[finding.kind]} | {_cell(what, 160)} | {_cell(place, 120)} "
            f"| {_cell(message, 240)} | {lines or '-'} |"
        )
    out = ["### What failed", "", *rows, ""]
    hidden = report.findings_total - len(report.findings)
    if hidden > 0:
        out += [f"_{report.findings_total} failures found; {len(report.findings)} shown._", ""]
    return out


def render_markdown(report: AnalysisReport) -> str:
    """The report as a Markdown comment: summary, facts, evidence, fixes, sources, provenance."""
    out: list[str] = [
        "## WorkflowAI failure analysis",
        "",
        f"**Summary:** {escape_inline(report.summary)}",
        "",
        *history_lines(report),
        *_table(report),
        "",
        *_findings_table(report),
        "### Root cause",
        "",
        escape_inline(report.root_cause, limit=4_000),
        "",
    ]
    if report.suggested_fixes:
        out += ["### Suggested fixes", ""]
        out += [
            f"{i}. {escape_inline(fix.text, limit=600)} _({fix.origin.value})_"
            for i, fix in enumerate(report.suggested_fixes, start=1)
        ]
        out.append("")
    tail: list[str] = []
    if report.citations:
        tail += ["### Knowledge base entries", ""]
        tail += [
            f"- {escape_inline(c.title or c.document_id, limit=200)} "
            f"({escape_inline(c.source, limit=200)}, score {c.score:.3f})"
            for c in report.citations
        ]
        tail.append("")
    sig_body = report.signature_text
    sig_fence = fence_for(sig_body)
    tail += [
        "<details><summary>Signature template</summary>",
        "",
        f"{sig_fence}text\n{sig_body}\n{sig_fence}",
        "",
        "</details>",
        "",
    ]
    if report.redactions:
        counts = ", ".join(
            f"{escape_inline(k, limit=60)}: {v}" for k, v in sorted(report.redactions.items())
        )
        tail += [f"**Redacted secrets:** {counts}", ""]
    prov = report.provenance
    prov_text = (
        f"category: {prov.category.value}; root cause: {prov.root_cause.value}; "
        f"summary: {prov.summary.value}; fixes: "
        + (", ".join(sorted({o.value for o in prov.fixes})) or "none")
    )
    if prov.model:
        prov_text += f"; model: {escape_inline(prov.model, limit=120)}"
    if prov.model_error:
        prov_text += f"; model not used: {escape_inline(prov.model_error, limit=300)}"
    tail += [f"_Provenance: {prov_text}_", ""]
    if report.tool_calls:
        tail += [f"_Agent tool calls: {len(report.tool_calls)}_", ""]
    for warning in report.warnings:
        tail += [f"> Warning: {escape_inline(warning, limit=500)}", ""]
    budget = MAX_COMMENT_CHARS - sum(len(x) + 1 for x in out + tail) - 200
    evidence: list[str] = ["### Evidence", ""]
    shown = 0
    for block in report.evidence:
        text = render_block(block)
        if len(text) + 2 > budget:
            break
        evidence += [text, ""]
        budget -= len(text) + 2
        shown += 1
    if shown < len(report.evidence):
        evidence += [
            f"_{len(report.evidence) - shown} more evidence blocks left out for length._",
            "",
        ]
    if not report.evidence:
        evidence += ["_No failure evidence found in the log._", ""]
    return "\n".join(out + evidence + tail).rstrip() + "\n"
