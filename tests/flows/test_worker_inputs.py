"""Local run or deployment run: which worker paths a run may read (tasks/inputs.py).

The worker's process marker decides here; a real deployment run (root of the run tree has a
deployment) is exercised in tests/integration/test_secret_leaks_e2e.py, and a local flow run
(no deployment anywhere) in the flow tests, which read any temp path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.index import index_flow
from tasks.inputs import is_deployment_run, worker_path, worker_paths
from workflowai.errors import PathNotAllowedError
from workflowai.params import IndexParams
from workflowai.settings import Settings


def _settings(*roots: Path) -> Settings:
    return Settings.model_validate({"inputs": {"allowed_roots": [str(r) for r in roots]}})


def test_a_local_call_reads_any_path(tmp_path: Path) -> None:
    assert not is_deployment_run()
    assert worker_path(Path("/etc/ssl/openssl.cnf"), _settings()) == Path("/etc/ssl/openssl.cnf")


def test_a_worker_process_reads_only_under_the_allowed_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "00000000-0000-0000-0000-000000000001")
    root = tmp_path / "ci-logs"
    root.mkdir()
    (root / "job.log").write_text("npm ERR! code ERESOLVE\n")
    assert is_deployment_run()
    assert worker_paths([root / "job.log"], _settings(root)) == [(root / "job.log").resolve()]
    for path in (Path("/etc/ssl/openssl.cnf"), Path("/etc/no-such-file"), root / ".." / "x"):
        with pytest.raises(PathNotAllowedError, match="path refused"):
            worker_path(path, _settings(root))
    # configured sources are the operator's: an empty list stays empty (no check needed)
    assert worker_paths([], _settings()) == []


@pytest.mark.usefixtures("workflowai_home")
def test_a_local_index_flow_run_reads_a_temp_folder(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "note.md").write_text("# Disk full\nClean the runner's cache.\n")
    summary = index_flow(IndexParams(paths=[tmp_path / "kb"]))
    assert summary.documents_indexed == 1
