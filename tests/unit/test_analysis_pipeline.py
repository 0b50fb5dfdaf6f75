"""pipeline.analyze end to end on fixture logs: normalize -> redact -> (baseline) -> signals."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.analysis.pipeline import analyze
from workflowai.analysis.report import Category
from workflowai.errors import LogParseError
from workflowai.settings import AnalysisSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
SETTINGS = AnalysisSettings()


@pytest.mark.parametrize(
    ("fixture", "category", "step", "exit_code", "key_line"),
    [
        (
            "github_actions_pip.log",
            Category.DEPENDENCY,
            "Run pip install -r requirements.txt",
            1,
            "No matching distribution found for torch==9.9.9",
        ),
        ("gitlab_go_test.log", Category.TEST, None, 1, "--- FAIL: TestParseConfig"),
        ("jenkins_maven_test.log", Category.TEST, "Build", 1, "<<< FAILURE!"),
        ("prompt_injection.log", Category.TEST, "Run npm test", 1, "FAIL src/login.test.js"),
    ],
)
def test_analysis_pipeline_finds_the_failure(
    fixture: str, category: Category, step: str | None, exit_code: int, key_line: str
) -> None:
    signals = analyze(FIXTURES / fixture, settings=SETTINGS)
    assert signals.category is category
    if step is not None:
        assert signals.failing_step == step
    assert signals.exit_code == exit_code
    assert any(key_line in line.text for line in signals.key_lines)
    assert signals.blocks and len(signals.blocks) <= SETTINGS.max_evidence_blocks
    for block in signals.blocks:  # verbatim lines carry their original numbers
        assert block.start_line <= block.end_line
        assert [ln.number for ln in block.lines] == sorted(ln.number for ln in block.lines)


def test_analysis_pipeline_redacts_before_signals_and_counts() -> None:
    signals = analyze(FIXTURES / "secrets.log", settings=SETTINGS)
    shown = "\n".join(ln.text for b in signals.blocks for ln in b.lines)
    shown += "\n".join(ln.text for ln in signals.key_lines) + signals.signature_text
    for value in ("AKIAIOSFODNN7EXAMPLE", "ghp_0123456789", "s3cr3tP4ssw0rd", "hunter2-not-real"):
        assert value not in shown
    assert sum(signals.redactions.values()) >= 10
    assert "[REDACTED:" in shown or signals.blocks


def test_analysis_pipeline_baseline_pushes_routine_errors_down() -> None:
    routine = "WARNING: error reporting is disabled for job {n} (deprecated flag)\n"
    passing = "".join(routine.format(n=i) for i in range(5)) + "all tests passed\n"
    failing = (
        "".join(routine.format(n=i + 100) for i in range(5))
        + "step 2\n" * 20
        + "ModuleNotFoundError: No module named 'yaml'\n"
        + "done\n" * 20
    )
    with_baseline = analyze(failing.encode(), baseline_source=passing.encode(), settings=SETTINGS)
    assert "ModuleNotFoundError" in with_baseline.key_lines[0].text
    shown = {ln.number for b in with_baseline.blocks for ln in b.lines}
    assert not shown & set(range(1, 6))


def test_analysis_pipeline_rejects_empty_input() -> None:
    with pytest.raises(LogParseError, match="empty log"):
        analyze(b"", settings=SETTINGS)
