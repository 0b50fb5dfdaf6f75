"""Masking, baseline templates and failure signatures: stable across runs, distinct across failures."""

from __future__ import annotations

import pytest

from workflowai.analysis.baseline import build_baseline
from workflowai.analysis.normalize import read_log
from workflowai.analysis.signals import extract_signals
from workflowai.analysis.signature import failure_signature
from workflowai.analysis.templates import mask_line
from workflowai.settings import AnalysisSettings

MASKS = [
    (
        "Tests run: 12, Failures: 1, Time elapsed: 3.2 s",
        "Tests run: <N>, Failures: <N>, Time elapsed: <DUR>",
    ),
    ("2024-01-01T00:00:01Z started", "<TS> started"),
    (
        "/tmp/pytest-of-runner/pytest-12/test_x0/a.py:12: AssertionError",
        "<PATH>:<N>: AssertionError",
    ),
    ("build 4e8932e579d2 id 123e4567-e89b-12d3-a456-426614174000", "build <HEX> id <UUID>"),
    ("error[E0308]: mismatched types", "error[E0308]: mismatched types"),
    ("connect to 10.0.3.7:5432 failed", "connect to <IP> failed"),
    ("token [REDACTED:github-token] rejected", "token <SECRET> rejected"),
]


@pytest.mark.parametrize(("line", "template"), MASKS)
def test_mask_line_masks_run_specific_tokens(line: str, template: str) -> None:
    assert mask_line(line) == template


RUN_1 = """\
2024-03-01T08:00:00.0000000Z ##[group]Run pytest
2024-03-01T08:00:01.0000000Z collected 10 items in 0.41s
2024-03-01T08:00:05.0000000Z FAILED tests/test_db.py::test_connect - ConnectionRefusedError: [Errno 111] Connection refused
2024-03-01T08:00:05.1000000Z E   psycopg2.OperationalError: could not connect to server at /tmp/pg-4f9a1c2e/.s.PGSQL.5432
2024-03-01T08:00:06.0000000Z ##[error]Process completed with exit code 1.
"""
RUN_2 = """\
2024-03-02T09:13:44.1234567Z ##[group]Run pytest
2024-03-02T09:13:44.2000000Z Cache restored from key: pip-8c1d2e
2024-03-02T09:13:44.3000000Z Cache size: 12 MB
2024-03-02T09:13:45.0000000Z collected 10 items in 0.87s
2024-03-02T09:13:49.0000000Z FAILED tests/test_db.py::test_connect - ConnectionRefusedError: [Errno 111] Connection refused
2024-03-02T09:13:49.5000000Z E   psycopg2.OperationalError: could not connect to server at /tmp/pg-77be03d1/.s.PGSQL.5432
2024-03-02T09:13:50.0000000Z ##[error]Process completed with exit code 1.
"""
OTHER = RUN_1.replace(
    "FAILED tests/test_db.py::test_connect - ConnectionRefusedError: [Errno 111] Connection refused",
    "FAILED tests/test_api.py::test_login - AssertionError: assert 401 == 200",
).replace(
    "E   psycopg2.OperationalError: could not connect to server at /tmp/pg-4f9a1c2e/.s.PGSQL.5432",
    "E   AssertionError: assert 401 == 200",
)


def _signature(text: str) -> tuple[str, str]:
    signals = extract_signals(read_log(text, max_bytes=1 << 20), settings=AnalysisSettings())
    return signals.signature_hash, signals.signature_text


def test_signature_same_failure_two_runs_same_hash() -> None:
    first, second = _signature(RUN_1), _signature(RUN_2)
    assert first == second
    assert "test_connect" in first[1]
    assert "2024" not in first[1] and "4f9a1c2e" not in first[1]


def test_signature_different_failures_differ() -> None:
    assert _signature(RUN_1)[0] != _signature(OTHER)[0]


def test_failure_signature_order_and_duplicates_do_not_matter() -> None:
    a = failure_signature(["x.c:1:2: error: boom", "ld returned 1 exit status"])
    b = failure_signature(
        ["ld returned 7 exit status", "x.c:99:1: error: boom", "x.c:5:5: error: boom"]
    )
    assert a == b
    assert len(a[0]) == 16


def test_failure_signature_of_nothing_is_stable() -> None:
    assert failure_signature([]) == failure_signature([])


def test_baseline_contains_masked_templates_of_the_passing_log() -> None:
    baseline = build_baseline(
        "2024-01-01T00:00:00Z Downloaded foo-1.2.3.jar (12 kB at 40 kB/s)\n", max_bytes=1 << 20
    )
    assert baseline.contains("Downloaded foo-1.2.4.jar (13 kB at 41 kB/s)")
    assert not baseline.contains("Could not find artifact foo:bar:1.2.4")
    assert baseline.total_lines == 1
