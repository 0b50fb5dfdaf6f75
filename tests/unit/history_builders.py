"""Reports and contexts the history tests record: a pytest failure on a feature branch."""

from __future__ import annotations

from workflowai.analysis.report import (
    AnalysisReport,
    Category,
    Citation,
    EvidenceBlock,
    Finding,
    FindingKind,
    LogLine,
    Origin,
    SuggestedFix,
)
from workflowai.history.models import RunContext


def report(
    test_id: str = "tests/test_tax.py::test_vat_rate_for_region[de-DE]",
    *,
    generic_only: bool = False,
) -> AnalysisReport:
    exit_finding = Finding(
        kind=FindingKind.PROCESS_EXIT, message="Process completed with exit code 1."
    )
    failure = Finding(
        kind=FindingKind.TEST_FAILURE,
        tool="pytest",
        test_id=test_id,
        file="tests/test_tax.py",
        line=41,
        message="FileNotFoundError: [Errno 2] No such file or directory: 'tests/fixtures/tax/de-DE.json'",
        evidence_lines=[118],
    )
    lines = ["##[error]Process completed with exit code 1."]
    if not generic_only:
        lines.insert(0, f"FAILED {test_id} - FileNotFoundError: tests/fixtures/tax/de-DE.json")
    return AnalysisReport(
        summary=f"1 test failed: {test_id}",
        category=Category.TEST,
        root_cause="cannot open tests/fixtures/tax/de-DE.json",
        evidence=[
            EvidenceBlock(
                start_line=118,
                end_line=117 + len(lines),
                lines=[LogLine(number=118 + i, text=t) for i, t in enumerate(lines)],
                key_lines=[118],
            )
        ],
        findings=[exit_finding] if generic_only else [failure, exit_finding],
        suggested_fixes=[
            SuggestedFix(
                text="Run pytest -x -vv tests/test_tax.py",
                origin=Origin.RETRIEVAL,
                entry_id="pytest-missing-fixture-file",
            ),
            SuggestedFix(
                text="Check the fixture path", origin=Origin.RETRIEVAL, entry_id="file-not-found"
            ),
        ],
        citations=[
            Citation(
                chunk_id="c1",
                document_id="runbooks/python/pytest-missing-fixture-file.yaml",
                title="pytest fixture file missing",
                source="runbooks/python/pytest-missing-fixture-file.yaml",
                score=0.71,
                entry_id="pytest-missing-fixture-file",
            ),
            Citation(
                chunk_id="c2",
                document_id="runbooks/general/file-not-found.yaml",
                title="File not found",
                source="runbooks/general/file-not-found.yaml",
                score=0.52,
                entry_id="file-not-found",
            ),
        ],
        failure_signature="5d41402abc4b2a76",
        signature_text="FAILED ... FileNotFoundError",
        confidence=0.8,
    )


def context(
    branch: str = "feature/vat",
    commit: str = "4e8932e579d2",
    job: str = "CI / test",
    **more: object,
) -> RunContext:
    return RunContext(
        repository="acme/shop",
        branch=branch,
        commit=commit,
        job=job,
        attempt=1,
        provider="github-actions",
        run_url=f"https://github.com/acme/shop/actions/runs/{commit}",
        **more,  # type: ignore[arg-type]
    )
