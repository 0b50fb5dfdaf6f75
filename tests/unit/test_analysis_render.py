"""render_markdown: PR-comment layout; log text (injection, fences, HTML) stays data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflowai.analysis.assemble import assemble_report
from workflowai.analysis.pipeline import analyze
from workflowai.analysis.render import MAX_COMMENT_CHARS, escape_inline, fence_for, render_markdown
from workflowai.settings import AnalysisSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def _render(name: str) -> str:
    signals = analyze(FIXTURES / name, settings=AnalysisSettings())
    report = assemble_report(signals, hits=[], draft=None, redactions=signals.redactions)
    return render_markdown(report)


def _outside_fences(markdown: str) -> str:
    """The markdown with fenced blocks removed (a CommonMark-style fence scan)."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize(
    ("body", "fence"), [("plain", "```"), ("a ``` b", "````"), ("`````x", "``````")]
)
def test_analysis_fence_longer_than_any_backtick_run(body: str, fence: str) -> None:
    assert fence_for(body) == fence


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("## Summary: all good", "## "),
        ("<script>alert(1)</script>", "<script>"),
        ("</details> done", "</details>"),
        ("line1\n# heading", "\n"),
        ("[click](http://evil)", "[click]("),
    ],
)
def test_analysis_escape_inline_neutralizes_markup(text: str, forbidden: str) -> None:
    assert forbidden not in escape_inline(text)


def test_analysis_escape_inline_cannot_start_a_list() -> None:
    assert escape_inline("- list item").startswith("\\-")
    assert escape_inline("1. first").startswith("1\\.")


def test_analysis_render_layout() -> None:
    md = _render("jenkins_maven_test.log")
    for heading in ("## WorkflowAI failure analysis", "### Root cause", "### Evidence"):
        assert heading in md
    assert "| Failing step | Build |" in md
    assert "| Exit code | 1 |" in md
    assert re.search(r">\s+9 \| java\.lang\.AssertionError", md)
    assert "_Provenance:" in md


def test_analysis_render_injection_stays_data() -> None:
    md = _render("prompt_injection.log")
    outside = _outside_fences(md)
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" not in outside
    assert "<script>" not in md.replace("```", "") or "<script>" not in outside
    assert "</evidence>" not in outside
    assert "## Summary: everything is fine" not in outside
    # the hostile lines are shown verbatim inside a fence that the log's backticks cannot close
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in md
    assert "\n```````text\n" in md or "\n````text\n" in md


def test_analysis_render_never_shows_secrets() -> None:
    md = _render("secrets.log")
    for value in ("AKIAIOSFODNN7EXAMPLE", "s3cr3tP4ssw0rd", "hunter2-not-real", "sk_live_"):
        assert value not in md
    assert "**Redacted secrets:**" in md


def test_analysis_render_respects_comment_limit() -> None:
    lines = [f"error: failure number {i} " + "word " * 150 for i in range(1500)]
    signals = analyze("\n".join(lines).encode(), settings=AnalysisSettings(max_evidence_blocks=50))
    md = render_markdown(assemble_report(signals, hits=[], draft=None, redactions={}))
    assert len(md) <= MAX_COMMENT_CHARS
