"""The run report: jobs grouped by failure signature, one Markdown comment under the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.analysis.assemble import assemble_report
from workflowai.analysis.pipeline import analyze
from workflowai.analysis.render import MAX_COMMENT_CHARS
from workflowai.analysis.report import AnalysisReport, EvidenceBlock, LogLine
from workflowai.analysis.run_render import demote_headings, render_run_markdown
from workflowai.analysis.run_report import build_run_report
from workflowai.settings import AnalysisSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
GITHUB_LIMIT = 65_536


def _report(name: str) -> AnalysisReport:
    signals = analyze(FIXTURES / name, settings=AnalysisSettings())
    return assemble_report(signals, hits=[], draft=None, redactions=signals.redactions)


@pytest.fixture(scope="module")
def pip() -> AnalysisReport:
    return _report("github_actions_pip.log")


@pytest.fixture(scope="module")
def go() -> AnalysisReport:
    return _report("gitlab_go_test.log")


def test_jobs_with_the_same_signature_form_one_group(
    pip: AnalysisReport, go: AnalysisReport
) -> None:
    jobs = [
        ("build (ubuntu, 3.11)", pip),
        ("test (go)", go),
        ("build (macos, 3.11)", pip),
        ("build (windows, 3.11)", pip),
        ("build (ubuntu, 3.12)", pip),
    ]
    run = build_run_report(jobs)
    assert [len(g.jobs) for g in run.groups] == [4, 1]
    assert run.groups[0].jobs == [
        "build (ubuntu, 3.11)",
        "build (macos, 3.11)",
        "build (windows, 3.11)",
        "build (ubuntu, 3.12)",
    ]
    assert run.groups[0].failure_signature == pip.failure_signature
    assert run.groups[1].category is go.category
    markdown = render_run_markdown(run)
    assert "5 failed jobs, 2 causes" in markdown
    assert "### 1. 4 jobs failed with the same cause" in markdown
    assert "### 2. Job **test (go)**" in markdown
    # the single-log rendering is reused below each section heading, one level down
    assert markdown.count("#### Root cause") == 2
    assert "\n## WorkflowAI failure analysis\n" not in markdown
    assert len(markdown) < GITHUB_LIMIT


def test_build_run_report_refuses_repeated_names(pip: AnalysisReport) -> None:
    with pytest.raises(ValueError, match="unique"):
        build_run_report([("build", pip), ("build", pip)])


def _huge(report: AnalysisReport, tag: str) -> AnalysisReport:
    """A report with many long evidence blocks and its own signature (a distinct cause)."""
    lines = [LogLine(number=n, text=f"{tag} error: " + "x" * 390) for n in range(1, 40)]
    block = EvidenceBlock(start_line=1, end_line=39, lines=lines, key_lines=[5])
    return report.model_copy(
        update={"evidence": [block] * 12, "failure_signature": tag, "summary": f"{tag} failed"}
    )


@pytest.mark.parametrize("causes", [1, 3, 12, 100])
def test_run_markdown_fits_one_github_comment(pip: AnalysisReport, causes: int) -> None:
    run = build_run_report([(f"job {i}", _huge(pip, f"sig{i:03d}")) for i in range(causes)])
    markdown = render_run_markdown(run)
    assert len(markdown) <= MAX_COMMENT_CHARS < GITHUB_LIMIT
    assert f"{causes} causes" in markdown or causes == 1
    assert "### 1." in markdown  # the largest cause is always shown
    if causes >= 12:
        assert "shortened to fit one comment" in markdown or "only in the overview" in markdown


@pytest.mark.parametrize(
    ("name", "absent"),
    [
        ("lint | deploy", "| deploy |"),  # would split the overview table's cell
        ("<img src=x onerror=alert(1)>", "<img"),
        ("## Approved", "\n## Approved"),
        ("[click](http://evil.example)", "[click](http"),
    ],
)
def test_job_names_are_data_not_markup(pip: AnalysisReport, name: str, absent: str) -> None:
    markdown = render_run_markdown(build_run_report([(name, pip)]))
    assert absent not in markdown


def test_demote_headings_skips_fenced_blocks() -> None:
    markdown = "## Title\n\n### Root cause\n\n````text\n## not a heading\n```\n````\n### Fix\n"
    assert demote_headings(markdown) == (
        "#### Root cause\n\n````text\n## not a heading\n```\n````\n#### Fix"
    )
