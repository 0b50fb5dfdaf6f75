"""Prose, fixes and citations from findings: what a reader sees names what failed."""

from __future__ import annotations

import pytest

from workflowai.analysis.assemble import assemble_report
from workflowai.analysis.explain import compose_summary, fill_template
from workflowai.analysis.findings import FindingSet
from workflowai.analysis.relevance import relevant_hits
from workflowai.analysis.render import render_markdown
from workflowai.analysis.report import Category, EvidenceBlock, Finding, FindingKind, LogLine
from workflowai.analysis.signals import Signals
from workflowai.schemas import Chunk, ScoredChunk


def _hit(
    entry: str, ecosystem: str, *, tools: str = "", score: float = 1.0, **meta: str
) -> ScoredChunk:
    chunk = Chunk(
        id=f"{entry}-0",
        document_id=entry,
        source=f"runbooks/{ecosystem}/{entry}.yaml",
        title=entry,
        text=f"{entry} text",
        position=0,
        document_hash="h",
        metadata={
            "kind": "runbook",
            "entry_id": entry,
            "ecosystem": ecosystem,
            "tools": tools,
            "path": f"runbooks/{ecosystem}/{entry}.yaml",
            **meta,
        },
    )
    return ScoredChunk(chunk=chunk, score=score)


PYTEST = Finding(
    kind=FindingKind.TEST_FAILURE,
    tool="pytest",
    ecosystem="python",
    test_id="tests/test_tax.py::test_vat[de-DE]",
    file="tests/test_tax.py",
    message="FileNotFoundError: [Errno 2] No such file or directory: 'tests/fixtures/de-DE.json'",
    evidence_lines=[40],
)


@pytest.mark.parametrize(
    ("template", "values", "text", "filled"),
    [
        (
            'pytest -x -vv "{test_id}"',
            {"test_id": "t.py::a"},
            'pytest -x -vv "t.py::a"',
            ["test_id"],
        ),
        ("Open {file} at line {line}", {"file": "a.py"}, "Open a.py at line <line>", ["file"]),
        ("Pin {package} to {version}", {}, "Pin <package> to <version>", []),
        ("Check {flavour}", {"flavour": "x"}, "Check <flavour>", []),
        ("Use a set literal {1, 2}", {}, "Use a set literal <1, 2>", []),
        ("Unbalanced { brace", {}, "Unbalanced { brace", []),
    ],
)
def test_explain_fill_template(
    template: str, values: dict[str, str], text: str, filled: list[str]
) -> None:
    assert fill_template(template, values) == (text, filled)


def test_explain_summary_counts_the_runners_total_and_names_the_tests() -> None:
    found = FindingSet(findings=[PYTEST], total=37, tests_failed=37, category=Category.TEST)
    summary = compose_summary(found, failing_step="Run pytest", exit_code=1)
    assert summary is not None
    assert summary.startswith("37 tests failed: tests/test_tax.py::test_vat[de-DE]")
    # the missing file is said plainly
    assert "cannot open tests/fixtures/de-DE.json" in summary
    assert "exit code 1" in summary


def test_relevance_drops_entries_of_another_language_and_provider() -> None:
    hits = [
        _hit("rspec-failures", "ruby", tools="rspec", score=0.9),
        _hit("pytest-test-failures", "python", tools="pytest", score=0.8),
        _hit("gitlab-ci-invalid-yaml", "gitlab-ci", score=0.7),
        _hit("dns-resolution-failure", "general", tools="any", score=0.6),
        _hit("unittest-failures", "python", tools="unittest", score=0.79),
    ]
    kept = relevant_hits(
        hits, ecosystems=["python"], tools=["pytest"], ci_provider="github-actions"
    )
    ids = [h.chunk.metadata["entry_id"] for h in kept]
    assert "rspec-failures" not in ids and "gitlab-ci-invalid-yaml" not in ids
    # the entry for the log's own tool moves up; another tool of the same ecosystem moves down
    assert ids[0] == "pytest-test-failures"
    assert ids.index("dns-resolution-failure") < ids.index("unittest-failures")


def _signals(*findings: Finding, total: int | None = None) -> Signals:
    block = EvidenceBlock(
        start_line=40, end_line=40, lines=[LogLine(number=40, text="E   FileNotFoundError")]
    )
    return Signals(
        blocks=[block],
        category=Category.TEST,
        failing_step="Run pytest",
        exit_code=1,
        findings=FindingSet(
            findings=list(findings),
            total=total if total is not None else len(findings),
            tests_failed=sum(f.kind is FindingKind.TEST_FAILURE for f in findings),
            category=Category.TEST,
            ecosystems=["python"],
            tools=["pytest"],
        ),
    )


def test_assemble_fills_runbook_fixes_from_the_finding_and_cites_relative_paths() -> None:
    runbook = _hit(
        "pytest-test-failures",
        "python",
        tools="pytest",
        category="test",
        fix='Rerun only the failing test: pytest -x -vv "{test_id}"\nOpen {file} at line {line}',
    )
    foreign = _hit(
        "rspec-failures", "ruby", tools="rspec", category="test", fix="bundle exec rspec {file}"
    )
    report = assemble_report(_signals(PYTEST), hits=[foreign, runbook], draft=None)
    texts = [f.text for f in report.suggested_fixes]
    assert texts == [
        'Rerun only the failing test: pytest -x -vv "tests/test_tax.py::test_vat[de-DE]"',
        "Open tests/test_tax.py at line <line>",
    ]
    assert report.suggested_fixes[0].filled == ["test_id"]
    assert {f.entry_id for f in report.suggested_fixes} == {"pytest-test-failures"}
    assert [c.entry_id for c in report.citations] == ["pytest-test-failures"]
    assert report.citations[0].source == "runbooks/python/pytest-test-failures.yaml"
    assert report.category is Category.TEST
    assert report.findings == [PYTEST]


def test_assemble_without_runbooks_suggests_the_findings_own_step() -> None:
    report = assemble_report(_signals(PYTEST), hits=[], draft=None)
    assert report.suggested_fixes[0].text.startswith(
        "Run tests/test_tax.py::test_vat[de-DE] locally"
    )


def test_render_what_failed_table_is_escaped_and_says_how_many_are_hidden() -> None:
    odd = PYTEST.model_copy(update={"test_id": "tests/t.py::test_a[x|y]", "message": "<b>boom</b>"})
    report = assemble_report(_signals(odd, total=12), hits=[], draft=None)
    markdown = render_markdown(report)
    section = markdown.split("### What failed", 1)[1].split("### Root cause", 1)[0]
    assert "test\\_a\\[x\\|y\\]" in section
    assert "<b>" not in section and "&lt;b&gt;boom&lt;/b&gt;" in section
    assert "_12 failures found; 1 shown._" in section
