"""The committed report schema is generated from AnalysisReport and is current."""

from __future__ import annotations

import json

from workflowai.analysis.report import REPORT_SCHEMA_VERSION
from workflowai.analysis.schema_export import SCHEMA_PATH, main, render_schema


def test_analysis_schema_committed_file_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "run: python -m workflowai.analysis.schema_export"
    )
    assert main(["--check"]) == 0


def test_analysis_schema_names_version_and_required_fields() -> None:
    schema = json.loads(render_schema())
    assert schema["x-schema-version"] == REPORT_SCHEMA_VERSION
    for field in ("summary", "category", "root_cause", "evidence", "failure_signature"):
        assert field in schema["required"]
