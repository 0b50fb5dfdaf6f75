"""Write (or check) the published JSON schema of `AnalysisReport`.

`python -m workflowai.analysis.schema_export` rewrites `schemas/analysis-report.schema.json`;
`--check` exits 1 when the committed file is out of date (a unit test runs the same check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workflowai.analysis.report import REPORT_SCHEMA_VERSION, AnalysisReport

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "analysis-report.schema.json"
SCHEMA_ID = "https://workflowai.dev/schemas/analysis-report.schema.json"


def report_schema() -> dict[str, Any]:
    """The JSON schema of AnalysisReport, with its id and version."""
    schema = AnalysisReport.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "x-schema-version": REPORT_SCHEMA_VERSION,
        **schema,
    }


def render_schema() -> str:
    return json.dumps(report_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH)
    args = parser.parse_args(argv)
    text = render_schema()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m workflowai.analysis.schema_export")
            return 1
        print(f"{args.path} is current")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
