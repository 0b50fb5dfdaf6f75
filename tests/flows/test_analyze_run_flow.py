"""`analyze-run` and `analyze-log` reading logs by reference, under a real (test) Prefect server.

The log storage is a real LocalFileSystem block saved on the test server; payloads are made
and uploaded exactly as `trigger` does (client-side redaction, content addressing).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.filesystems import LocalFileSystem

from flows.analyze_log import analyze_log_flow
from flows.analyze_run import analyze_run_flow
from flows.execute import execute_flow
from tasks.run_report import run_report_key
from workflowai.analysis.report import AnalysisReport, Category
from workflowai.analysis.run_report import RunReport
from workflowai.blobstore import FolderBlobStore
from workflowai.errors import LogIntegrityError
from workflowai.logpack import prepare_baseline, prepare_log
from workflowai.logref import LogRef, upload
from workflowai.params import AnalyzeLogParams, AnalyzeRunParams, ExecuteParams, RunJob
from workflowai.settings import AnalysisSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
TOKEN = "ghp_" + "Zq8Xw2Lr5Tn9Vb3Kd7Mh1Pj4Fs6Gy0Ac2UeR"


@pytest.fixture
def storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workflowai_home: Path
) -> FolderBlobStore:
    folder = tmp_path / "log-storage"
    name = f"logs-{uuid.uuid4().hex[:12]}"
    LocalFileSystem(basepath=str(folder)).save(name)
    monkeypatch.setenv("WORKFLOWAI_LOG_STORAGE__BLOCK", f"local-file-system/{name}")
    return FolderBlobStore(folder)


def _upload(store: FolderBlobStore, text: str, *, baseline: bool = False) -> LogRef:
    prepare = prepare_baseline if baseline else prepare_log
    return upload(store, prepare(text.encode(), AnalysisSettings()), max_bytes=1 << 24)


def _pip_log() -> str:
    log = (FIXTURES / "github_actions_pip.log").read_text()
    return log.replace("Collecting requests", f"git clone https://x:{TOKEN}@github.com/o/r\n" * 1)


@pytest.mark.slow
def test_analyze_run_groups_jobs_and_publishes_one_report(storage: FolderBlobStore) -> None:
    pip, go = (
        _upload(storage, _pip_log()),
        _upload(storage, (FIXTURES / "gitlab_go_test.log").read_text()),
    )
    params = AnalyzeRunParams(
        jobs=[
            RunJob(name="build (ubuntu)", log_ref=pip),
            RunJob(name="test (go)", log_ref=go),
            RunJob(name="build (macos)", log_ref=pip),
        ],
        ensure_knowledge_base=False,
    )
    run = analyze_run_flow(params)
    assert isinstance(run, RunReport)
    assert [g.jobs for g in run.groups] == [["build (ubuntu)", "build (macos)"], ["test (go)"]]
    assert run.report_of("test (go)").category is Category.TEST
    assert TOKEN not in run.model_dump_json()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[run_report_key(run)]))
        )
    assert artifacts and "2 jobs failed with the same cause" in str(artifacts[0].data)
    assert TOKEN not in str(artifacts[0].data)


@pytest.mark.slow
def test_analyze_log_reads_log_and_baseline_refs_via_execute(storage: FolderBlobStore) -> None:
    failing = _upload(storage, _pip_log())
    passing = _upload(storage, _pip_log().replace("ERROR", "ok"), baseline=True)
    report = execute_flow(
        ExecuteParams(
            workflow_type="analyze-log",
            parameters={
                "log_ref": failing.model_dump(),
                "baseline_ref": passing.model_dump(),
                "publish": False,
                "ensure_knowledge_base": False,
            },
        )
    )
    assert isinstance(report, AnalysisReport)
    assert report.category is Category.DEPENDENCY
    assert sum(report.redactions.values()) >= 1


@pytest.mark.usefixtures("workflowai_home")
def test_analyze_log_refuses_a_tampered_log(storage: FolderBlobStore) -> None:
    ref = _upload(storage, _pip_log())
    (storage.root / ref.key).write_bytes(
        prepare_log(b"npm ERR! something else\n", AnalysisSettings())
    )
    with pytest.raises(LogIntegrityError, match="does not match its reference"):
        analyze_log_flow(AnalyzeLogParams(log_ref=ref, ensure_knowledge_base=False, publish=False))
