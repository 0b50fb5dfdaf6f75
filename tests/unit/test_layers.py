"""The library never imports Prefect: flows and tasks own it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "workflowai"
PREFECT_IMPORT = re.compile(r"^\s*(import prefect|from prefect)", re.MULTILINE)


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.py")), ids=lambda p: p.name)
def test_library_module_does_not_import_prefect(path: Path) -> None:
    assert not PREFECT_IMPORT.search(path.read_text()), f"{path} imports prefect"
