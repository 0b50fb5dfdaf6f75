"""The `workflowai` CLI on real commands (typer's CliRunner).

The workflow commands run the real flows on a temporary Prefect server (one for this module)
against a temporary SQLite knowledge base with the real MiniLM embedder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workflowai.cli import app

runner = CliRunner()


def test_cli_types_prints_every_schema() -> None:
    result = runner.invoke(app, ["types"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {
        "analyze-log",
        "analyze-run",
        "confirm-cause",
        "execute",
        "failure-digest",
        "generate",
        "index",
        "record-success",
        "reindex",
        "search",
    }
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


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def kb(prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp WORKFLOWAI_HOME whose knowledge base holds the three test runbooks."""
    from tests.flows.corpus import write_corpus

    monkeypatch.setenv("WORKFLOWAI_HOME", str(tmp_path / "home"))
    corpus = write_corpus(tmp_path / "kb")
    result = runner.invoke(app, ["index", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["documents_indexed"] == 3
    assert summary["failures"] == []
    return corpus


@pytest.mark.slow
def test_cli_index_twice_skips_unchanged(kb: Path) -> None:
    result = runner.invoke(app, ["index", str(kb)])
    assert result.exit_code == 0, result.output
    assert "skipped unchanged" in result.stdout
    assert "│ 3" in result.stdout.split("skipped unchanged")[1].splitlines()[0]


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_cli_search_json_ranks_the_matching_runbook(mode: str) -> None:
    result = runner.invoke(
        app, ["search", "Java heap space OutOfMemoryError", "--mode", mode, "--json", "-k", "2"]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["chunk"]["source"].endswith("java-heap.md")


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
def test_cli_search_prints_score_source_title_passage() -> None:
    result = runner.invoke(app, ["search", "docker pull rate limit", "-k", "1"])
    assert result.exit_code == 0, result.output
    assert "1. docker-rate-limit" in result.stdout  # a .txt title is its file stem
    assert "score=" in result.stdout
    assert "docker-rate-limit.txt" in result.stdout
    assert "toomanyrequests" in result.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
def test_cli_stats_counts_the_chunks() -> None:
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["backend"] == "sqlite"
    assert info["documents"] == 3


JAVA_LOG = """[INFO] --- maven-surefire-plugin:3.2.2:test (default-test) @ billing ---
[INFO] Running com.acme.billing.InvoiceTest
[ERROR] Tests run: 12, Failures: 0, Errors: 1, Skipped: 0
[ERROR] testLargeInvoice  Time elapsed: 3.1 s  <<< ERROR!
java.lang.OutOfMemoryError: Java heap space
\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)
[INFO] BUILD FAILURE
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.2:test
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


@pytest.mark.slow
@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
def test_cli_analyze_log_json(kb: Path, tmp_path: Path, from_stdin: bool) -> None:
    log = tmp_path / "build.log"
    log.write_text(JAVA_LOG)
    args = ["analyze-log", "-" if from_stdin else str(log), "--format", "json", "--top-k", "2"]
    result = runner.invoke(app, args, input=JAVA_LOG if from_stdin else None)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["category"] == "out-of-memory"
    lines = {line["number"]: line["text"] for b in report["evidence"] for line in b["lines"]}
    assert lines[5] == "java.lang.OutOfMemoryError: Java heap space"
    assert "wJalrXUtnFEMI" not in result.stdout
    assert report["citations"][0]["source"].endswith("java-heap.md")


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01\x02\x03binary\x00" * 100, "binary")],
    ids=["empty", "binary"],
)
def test_cli_analyze_log_rejects_empty_or_binary(
    tmp_path: Path, content: bytes, message: str
) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(content)
    result = runner.invoke(app, ["analyze-log", str(log)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (["--baseline", "no-such-baseline.log"], JAVA_LOG, 2),  # early exit: missing baseline
        (["--format", "xml"], JAVA_LOG, 2),  # early exit: bad option
        ([], "", 1),  # the flow refuses an empty log
        (["--format", "json", "--top-k", "1"], JAVA_LOG, 0),  # a completed analysis
    ],
    ids=["missing-baseline", "bad-format", "empty-log", "analyzed"],
)
def test_cli_analyze_log_stdin_leaves_no_raw_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str, code: int
) -> None:
    import tempfile

    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    result = runner.invoke(app, ["analyze-log", "-", *args], input=stdin)
    assert result.exit_code == code, result.output
    assert list(spool.iterdir()) == []


NPM_LOG = """npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR! Could not resolve dependency:
npm ERR! peer react@"^17.0.0" from react-dom@17.0.2
"""


@pytest.mark.slow
@pytest.mark.usefixtures("kb")
def test_cli_analyze_log_several_logs_print_one_json_line_each(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "nested").mkdir(parents=True)
    (folder / "a-java.log").write_text(JAVA_LOG)
    (folder / "b-empty.log").write_bytes(b"")
    (folder / "nested" / "c-npm.log").write_text(NPM_LOG)
    (folder / ".hidden.log").write_text(JAVA_LOG)
    extra = tmp_path / "single.log"
    extra.write_text(JAVA_LOG)
    result = runner.invoke(app, ["analyze-log", str(folder), str(extra), "--top-k", "2"])
    # one log failed: the others are still reported, and the exit code says so
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["log"]).name for r in records] == [
        "a-java.log", "b-empty.log", "c-npm.log", "single.log"
    ]  # fmt: skip
    java, empty, npm, single = records
    assert java["report"]["category"] == "out-of-memory"
    assert "wJalrXUtnFEMI" not in result.stdout
    assert empty["error"] == "LogParseError: empty log" and "report" not in empty
    assert npm["report"]["category"] == "dependency"
    # the same log again: the same report, and history has seen it once before
    assert {**single["report"], "history": None} == {**java["report"], "history": None}
    assert (java["report"]["history"]["verdict"], single["report"]["history"]["verdict"]) == (
        "new",
        "recurring",
    )
    assert "1 of 4 logs could not be analyzed" in result.output


def test_cli_analyze_log_refuses_stdin_among_several(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(JAVA_LOG)
    result = runner.invoke(app, ["analyze-log", str(log), "-"])
    assert result.exit_code == 2
    assert "stdin (-) can only be analyzed alone" in result.output
