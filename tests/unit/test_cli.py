"""The `workflowai` CLI on real commands (typer's CliRunner).

The workflow commands run the real flows on a temporary Prefect server (one for this module)
against a temporary SQLite knowledge base with the real MiniLM embedder.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from workflowai.cli import app

runner = CliRunner()


def test_cli_types_prints_every_schema() -> None:
    result = runner.invoke(app, ["types"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"analyze-log", "execute", "generate", "index", "reindex", "search"}
    assert document["search"]["entrypoint"] == "flows/search.py:search_flow"
    assert "query" in document["search"]["parameters"]["properties"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["types", "analyse"], "unknown workflow type 'analyse'; valid types: analyze-log"),
        (["analyze-log", "/no/such.log"], "no such log file: /no/such.log"),
        (["analyze-log", "x.log", "--format", "xml"], "--format must be md or json"),
        (["index", "/no/such/folder"], "no such file or folder: /no/such/folder"),
        (["search", "npm", "--filter", "category"], "--filter takes key=value"),
        (["generate", "hi", "--max-tokens", "0"], "Invalid value for '--max-tokens'"),
    ],
)
def test_cli_bad_input_is_one_line_and_non_zero(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
