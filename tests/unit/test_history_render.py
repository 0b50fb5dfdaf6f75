"""The verdict and a confirmed known issue in the Markdown header, safe against log-made text."""

from __future__ import annotations

from datetime import UTC, datetime

from workflowai.analysis.render import render_markdown
from workflowai.analysis.report import AnalysisReport, Category
from workflowai.history.models import EarlierRun, KnownIssue, RunHistory, Verdict

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _report(history: RunHistory | None) -> AnalysisReport:
    return AnalysisReport(
        summary="1 test failed: tests/test_tax.py::test_vat_rate_for_region[de-DE]",
        category=Category.TEST,
        root_cause="cannot open tests/fixtures/tax/de-DE.json",
        evidence=[],
        suggested_fixes=[],
        citations=[],
        failure_signature="5d41402abc4b2a76",
        signature_text="t",
        confidence=0.8,
        history=history,
    )


def test_render_markdown_shows_verdict_under_summary() -> None:
    history = RunHistory(
        verdict=Verdict.RECURRING,
        fingerprint="1e43c61f3777b39c",
        reason="seen 2 times before, first 2025-03-01 on feature/vat, main",
        occurrences=3,
        first_seen=datetime(2025, 3, 1, tzinfo=UTC),
        last_seen=T0,
        branches=["feature/vat", "main"],
        earlier_runs=[
            EarlierRun(seen_at=T0, run_url="https://github.com/acme/shop/actions/runs/1"),
            EarlierRun(seen_at=T0, run_url="javascript:alert(1)"),
            EarlierRun(seen_at=T0, run_url="https://x.example/a) [click](https://evil"),
        ],
    )
    markdown = render_markdown(_report(history))
    lines = markdown.splitlines()

    summary = next(i for i, line in enumerate(lines) if line.startswith("**Summary:**"))
    verdict = lines[summary + 2]
    assert verdict.startswith(
        "**Verdict: recurring** (3 occurrences; first seen 2025-03-01; branches: feature/vat, main)"
    )
    assert "Earlier runs: [1](https://github.com/acme/shop/actions/runs/1)" in verdict
    assert "javascript:" not in markdown
    assert "evil" not in markdown


def test_render_markdown_known_issue_and_escaped_branch() -> None:
    history = RunHistory(
        verdict=Verdict.BROKEN_BASE,
        fingerprint="1e43c61f3777b39c",
        reason="the same failure happened on the default branch main 10 h ago",
        occurrences=2,
        first_seen=T0,
        branches=["## injected <b>"],
        known_issue=KnownIssue(
            entry_id="confirmed-1e43c61f3777b39c",
            title="VAT fixtures not generated",
            cause="`make fixtures` is skipped by the test job",
            confirmed_at=datetime(2025, 3, 4, 16, 30, tzinfo=UTC),
        ),
    )
    markdown = render_markdown(_report(history))

    assert "**Verdict: broken-base**" in markdown
    assert "\\#\\# injected &lt;b&gt;" in markdown
    assert (
        "**Known issue (confirmed 2025-03-04):** VAT fixtures not generated: "
        "\\`make fixtures\\` is skipped by the test job"
    ) in markdown


def test_render_markdown_without_history_has_no_verdict() -> None:
    assert "Verdict" not in render_markdown(_report(None))
