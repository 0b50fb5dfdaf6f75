"""Fingerprints: stable across runs of the same failure, distinct across failures, never made
from generic exit lines alone."""

from __future__ import annotations

import pytest

from workflowai.analysis.fingerprint import (
    finding_fingerprint,
    is_generic_line,
    mask_file,
    run_fingerprint,
    with_fingerprints,
)
from workflowai.analysis.report import (
    AnalysisReport,
    Category,
    EvidenceBlock,
    Finding,
    FindingKind,
    LogLine,
)

GENERIC_LINES = [
    "##[error]Process completed with exit code 1.",
    "make: *** [Makefile:31: test] Error 2",
    "make[2]: *** [scripttests] Error 1",
    "Makefile:412: recipe for target 'test_stdlib' failed",
    "npm ERR! code ELIFECYCLE",
    "npm ERR! errno 1",
    "npm ERR! Exit status 1",
    "npm ERR! Failed at the web-app@1.4.0 test script.",
    "npm ERR! Test failed.  See above for more details.",
    "error Command failed with exit code 1.",
    # npm's epilogue as a finding's message keeps it, without the "npm ERR!" prefix
    "errno 1",
    "Failed at the bootstrap@4.3.1 js-test-karma script.",
    "A complete log of this run can be found in:",
    "This is probably not a problem with npm. There is likely additional logging output above.",
    "    /home/travis/.npm/_logs/2019-07-31T12_04_15_647Z-debug.log",
    'The command "npm test" exited with 1.',
    "Done. Your build exited with 1.",
    "ERROR: Job failed: exit code 1",
    "ERROR: script returned exit code 2",
    "Build step 'Execute shell' marked build as failure",
    "Finished: FAILURE",
    "[ERROR] BUILD FAILURE",
    "FAILURE: Build failed with an exception.",
    "Error: Process exited with code: 5",
    "subprocess.CalledProcessError: Command '['tox']' returned non-zero exit status 1.",
    "  5 failing",
    "=========== 2 failed, 48 passed, 1 skipped in 12.31s ===========",
    "Tests run: 212, Failures: 2, Errors: 0, Skipped: 3",
    "Tests:       2 failed, 40 passed, 42 total",
    "FAILED (failures=2, errors=1)",
    "[error] (core / Test / test) sbt.TestsFailedException: Tests unsuccessful",
    "** TEST FAILED **",
    "FAIL",
]
SPECIFIC_LINES = [
    "FAILED tests/test_invoices.py::test_total_with_discount - AssertionError: assert Decimal('90.00') == Decimal('89.99')",
    "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
    'npm ERR! peer react@"^17.0.0" from react-beautiful-dnd@13.1.1',
    "curl: (6) Could not resolve host: registry.acme.internal",
    "--- FAIL: TestSeparator (0.03s)",
    "java.lang.OutOfMemoryError: Java heap space",
]


@pytest.mark.parametrize("line", GENERIC_LINES)
def test_is_generic_line_exit_and_count_lines(line: str) -> None:
    assert is_generic_line(line)


@pytest.mark.parametrize("line", SPECIFIC_LINES)
def test_is_generic_line_specific_failures_are_not(line: str) -> None:
    assert not is_generic_line(line)


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/home/runner/work/shop/shop/src/cart.py", "src/cart.py"),
        ("/builds/acme/shop/src/cart.py", "src/cart.py"),
        ("/var/lib/jenkins/workspace/shop-pr-12/src/cart.py", "src/cart.py"),
        ("/home/travis/build/acme/shop/src/cart.py", "src/cart.py"),
        ("D:\\a\\shop\\shop\\src\\cart.cs", "src\\cart.cs"),
        ("/tmp/pytest-of-runner/pytest-3/test_export0/out.csv", "<PATH>"),
        ("tests/test_tax.py", "tests/test_tax.py"),
    ],
)
def test_mask_file_strips_workspaces_and_temp_paths(path: str, masked: str) -> None:
    assert mask_file(path) == masked


def _test_failure(**changes: object) -> Finding:
    fields: dict[str, object] = {
        "kind": FindingKind.TEST_FAILURE,
        "tool": "pytest",
        "test_id": "tests/test_tax.py::test_vat_rate_for_region[de-DE]",
        "file": "/home/runner/work/shop/shop/tests/test_tax.py",
        "line": 41,
        "message": "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/pytest-of-runner/pytest-7/fixtures/de-DE.json'",
        "evidence_lines": [118, 119],
    }
    fields.update(changes)
    return Finding(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"line": 57},  # the test moved down the file
        {"evidence_lines": [2040]},  # and printed elsewhere in a longer log
        {"file": "/builds/acme/shop/tests/test_tax.py"},  # another runner's workspace
        {
            "message": "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/pytest-of-runner/pytest-12/fixtures/de-DE.json'"
        },
        {"count": 3, "step": "Run pytest -n 4"},
    ],
)
def test_finding_fingerprint_stable_across_runs(changes: dict[str, object]) -> None:
    assert finding_fingerprint(_test_failure(**changes)) == finding_fingerprint(_test_failure())


@pytest.mark.parametrize(
    "changes",
    [
        {"test_id": "tests/test_tax.py::test_vat_rate_for_region[fr-FR]"},
        {"file": "tests/test_invoices.py"},
        {"message": "AssertionError: assert Decimal('90.00') == Decimal('89.99')"},
        {"kind": FindingKind.TIMEOUT},
        {"tool": "unittest"},
    ],
)
def test_finding_fingerprint_differs_across_failures(changes: dict[str, object]) -> None:
    assert finding_fingerprint(_test_failure(**changes)) != finding_fingerprint(_test_failure())


@pytest.mark.parametrize(
    "finding",
    [
        Finding(kind=FindingKind.PROCESS_EXIT, message="Process completed with exit code 1."),
        Finding(
            kind=FindingKind.PROCESS_EXIT, message="make: *** [all] Error 2", command="make all"
        ),
        Finding(kind=FindingKind.TEST_FAILURE, message="2 failed, 48 passed in 12.31s"),
        Finding(
            kind=FindingKind.TEST_FAILURE,
            message='The command "npm test" exited with 1.',
            command="npm test",
        ),
    ],
)
def test_finding_fingerprint_empty_for_generic_findings(finding: Finding) -> None:
    assert finding_fingerprint(finding) == ""


def test_finding_fingerprint_generic_message_with_a_subject_is_specific() -> None:
    finding = Finding(
        kind=FindingKind.TEST_FAILURE, message="FAILED", test_id="TestCart/empty_cart"
    )
    assert finding_fingerprint(finding) != ""


def _report(findings: list[Finding], lines: list[str]) -> AnalysisReport:
    blocks = (
        [
            EvidenceBlock(
                start_line=10,
                end_line=9 + len(lines),
                lines=[LogLine(number=10 + i, text=t) for i, t in enumerate(lines)],
                key_lines=[10],
            )
        ]
        if lines
        else []
    )
    return AnalysisReport(
        summary="s",
        category=Category.TEST,
        root_cause="r",
        evidence=blocks,
        findings=findings,
        suggested_fixes=[],
        citations=[],
        failure_signature="0" * 16,
        signature_text="t",
        confidence=0.5,
    )


EXIT = Finding(kind=FindingKind.PROCESS_EXIT, message="Process completed with exit code 1.")


def test_run_fingerprint_from_specific_findings_in_any_order() -> None:
    a = _test_failure()
    b = _test_failure(test_id="tests/test_tax.py::test_vat_rate_for_region[fr-FR]")
    first = run_fingerprint(_report([a, b, EXIT], ["x"]))
    assert first is not None
    assert run_fingerprint(_report([EXIT, b, a], ["other evidence"])) == first
    assert run_fingerprint(_report([a, EXIT], ["x"])) != first


def test_run_fingerprint_ignores_generic_findings_and_uses_evidence() -> None:
    lines = [
        "2025-03-01T08:00:05Z curl: (6) Could not resolve host: registry.acme.internal",
        "##[error]Process completed with exit code 6.",
    ]
    again = [
        "2025-03-02T11:41:07Z curl: (6) Could not resolve host: registry.acme.internal",
        "##[error]Process completed with exit code 6.",
    ]
    assert run_fingerprint(_report([EXIT], lines)) is not None
    assert run_fingerprint(_report([EXIT], lines)) == run_fingerprint(_report([], again))


def test_run_fingerprint_none_when_only_generic_lines() -> None:
    lines = [
        "npm ERR! Test failed.  See above for more details.",
        "Done. Your build exited with 1.",
    ]
    assert run_fingerprint(_report([EXIT], lines)) is None
    assert run_fingerprint(_report([], [])) is None


def test_with_fingerprints_fills_each_finding() -> None:
    filled = with_fingerprints([_test_failure(), EXIT])
    assert filled[0].fingerprint == finding_fingerprint(_test_failure())
    assert filled[1].fingerprint == ""


def test_run_fingerprint_ignores_context_noise_around_the_failure() -> None:
    failure = "ERROR flashlight: pac.go:88 Unable to set lantern as system proxy"
    # the first line of each block is its key line (see _report)
    one = [
        failure,
        "Apr 12 10:11:12 - 4m9s DEBUG proxiedsites: proxiedsites.go:120 Applied updated configuration",
        "Get:12 http://archive.ubuntu.com/ubuntu xenial-updates/main amd64 libssl1.0.0 [1,083 kB]",
    ]
    two = [
        failure,
        "Apr 14 22:01:07 - 12m5s DEBUG autoupdate: autoupdate.go:54 Software version: 2.3.1",
        "Hit:3 http://security.ubuntu.com/ubuntu xenial-security InRelease",
    ]
    assert run_fingerprint(_report([], one)) == run_fingerprint(_report([], two))
    # a noisy-looking line that a rule matched (a key line) still counts
    keyed = _report([], ["Apr 12 10:11:12 - 4m9s DEBUG panic: runtime error: index out of range"])
    assert run_fingerprint(keyed) is not None
