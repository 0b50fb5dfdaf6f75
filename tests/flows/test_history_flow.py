"""Verdicts end to end through the flows: `analyze-log` twice with the same context is
recurring with 2 occurrences; `confirm-cause` makes the next run cite the known issue first;
`record-success` turns the failure flaky; `failure-digest` publishes its table and chart.
Real starter KB (SQLite + MiniLM), real SQLite history, temporary Prefect server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.analyze_log import analyze_log_flow
from flows.history import confirm_cause_flow, failure_digest_flow, record_success_flow
from tasks.analysis import report_key
from workflowai.analysis.report import AnalysisReport
from workflowai.history.models import Verdict
from workflowai.params import (
    AnalyzeLogParams,
    ConfirmCauseParams,
    FailureDigestParams,
    RecordSuccessParams,
)

LOG = """2025-03-02T09:14:01.0000000Z ##[group]Run npm ci
2025-03-02T09:14:04.0000000Z npm ERR! code ERESOLVE
2025-03-02T09:14:04.0100000Z npm ERR! ERESOLVE unable to resolve dependency tree
2025-03-02T09:14:04.0300000Z npm ERR! While resolving: web-app@1.4.0
2025-03-02T09:14:04.0400000Z npm ERR! Found: react@18.2.0
2025-03-02T09:14:04.0500000Z npm ERR! Could not resolve dependency:
2025-03-02T09:14:04.0600000Z npm ERR! peer react@"^17.0.0" from react-beautiful-dnd@13.1.1
2025-03-02T09:14:04.0700000Z npm ERR! Fix the upstream dependency conflict, or retry
2025-03-02T09:14:05.0000000Z ##[error]Process completed with exit code 1.
"""
CONTEXT = {
    "repository": "acme/web-app",
    "branch": "feature/dnd",
    "commit": "4e8932e579d2c1f0a8b7e6d5c4b3a2f1e0d9c8b7",
    "job": "CI / install",
    "attempt": 1,
    "ci_provider": "github-actions",
    "run_url": "https://github.com/acme/web-app/actions/runs/101/attempts/1",
}


@pytest.fixture(scope="module")
def home(kb_home: Path) -> Path:
    """The module's WORKFLOWAI_HOME (KB and history): the runs build on each other."""
    return kb_home


@pytest.fixture(scope="module")
def log(home: Path) -> Path:
    path = home / "job-101.log"
    path.write_text(LOG)
    return path


def _analyze(log: Path, **context: object) -> AnalysisReport:
    return analyze_log_flow(AnalyzeLogParams(log_path=log, **{**CONTEXT, **context}))  # type: ignore[arg-type]


def _artifact(key: str) -> str:
    """The latest version of the artifact `key` (each run publishes a new one)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    assert artifacts, f"no artifact {key}"
    return str(artifacts[0].data)


@pytest.mark.slow
def test_history_flows_end_to_end(home: Path, log: Path) -> None:
    first = _analyze(log)
    second = _analyze(log)

    assert first.history is not None and first.history.verdict is Verdict.NEW
    assert second.history is not None
    assert second.history.verdict is Verdict.RECURRING
    assert second.history.occurrences == 2
    assert second.history.fingerprint == first.history.fingerprint
    assert second.history.earlier_runs[0].run_url == CONTEXT["run_url"]
    assert "**Verdict: recurring** (2 occurrences" in _artifact(report_key(second))
    assert (home / "history.sqlite").is_file()

    # a confirmed cause is indexed at once and cited first on the next run
    decision = confirm_cause_flow(
        ConfirmCauseParams(
            signature=second.history.fingerprint or "",
            title="react-beautiful-dnd pins React 17",
            cause="react-beautiful-dnd 13 declares a peer dependency on React 17; the app "
            "moved to React 18, so npm 7+ refuses the tree.",
            fix=["Replace react-beautiful-dnd with @hello-pangea/dnd (a React 18 fork)"],
        )
    )
    third = _analyze(log, run_url="https://github.com/acme/web-app/actions/runs/102/attempts/1")
    today = f"{datetime.now(UTC):%Y-%m-%d}"

    assert third.citations[0].title == f"Known issue (confirmed {today}): " + (
        "react-beautiful-dnd pins React 17"
    )
    assert third.citations[0].entry_id == decision.entry_id
    assert third.suggested_fixes[0].text.startswith("Replace react-beautiful-dnd")
    assert third.history is not None and third.history.occurrences == 3
    assert f"**Known issue (confirmed {today}):** react-beautiful-dnd pins React 17" in (
        _artifact(report_key(third))
    )
    assert (home / "confirmed" / f"{decision.entry_id}.yaml").is_file()

    # the job passed on a rerun of the same commit: the failure is flaky
    record_success_flow(
        RecordSuccessParams(
            commit=str(CONTEXT["commit"]), repository="acme/web-app", job="CI / install"
        )
    )
    fourth = _analyze(log, commit="77be03d1aa004e8932e579d2c1f0a8b7e6d5c4b3")
    assert fourth.history is not None and fourth.history.verdict is Verdict.FLAKY

    digest = failure_digest_flow(FailureDigestParams(since_days=1, top=5))
    assert [(r.signature, r.count) for r in digest.rows] == [(second.history.fingerprint, 4)]
    assert digest.rows[0].known_issue == f"react-beautiful-dnd pins React 17 (confirmed {today})"
    assert second.history.fingerprint in _artifact("failure-digest")
    assert "Daily failures of the top 1 signatures" in _artifact("failure-digest-daily")


@pytest.mark.slow
def test_analyze_log_reports_when_the_history_is_unreachable(
    home: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the block ends
    monkeypatch.setenv("WORKFLOWAI_HISTORY__BACKEND", "elasticsearch")
    monkeypatch.setenv("WORKFLOWAI_ELASTICSEARCH__URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WORKFLOWAI_ELASTICSEARCH__MAX_RETRIES", "0")

    report = _analyze(log)

    assert report.history is None
    assert report.evidence and report.summary
    assert any(w.startswith("not recorded in the failure history:") for w in report.warnings)
