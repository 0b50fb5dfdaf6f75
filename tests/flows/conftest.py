"""One ephemeral Prefect server for the whole flow-test session (it takes seconds to start).

`flow_settings` points WORKFLOWAI_HOME (and so the SQLite KB) at a fresh folder per test, so
each flow builds its `Settings()` against its own store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def kb_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One WORKFLOWAI_HOME per test module: the starter KB is indexed once, on first use."""
    home = tmp_path_factory.mktemp("kb-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKFLOWAI_HOME", str(home))
        yield home


@pytest.fixture
def workflowai_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WORKFLOWAI_HOME", str(home))
    return home
