"""`analyze-log` end to end: real starter KB indexed on first use (SQLite + bge-small), rules and
retrieval, report artifact; and the SmolLM2 model path with its fallback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.analyze_log import analyze_log_flow, warm_up
from tasks.analysis import report_key
from tasks.knowledge_base import STARTER_UNIT
from tasks.progress import PROGRESS_KEY
from workflowai.analysis.report import AnalysisReport, Category, Origin
from workflowai.errors import LogParseError, SchemaMismatchError
from workflowai.knowledge.embedding import SentenceTransformerEmbedder
from workflowai.llm.transformers_backend import smollm2_gguf_path
from workflowai.params import AnalyzeLogParams
from workflowai.settings import Settings

TOKEN = "ghp_Zq8Xw2Lr5Tn9Vb3Kd7Mh1Pj4Fs6Gy0Ac2Ue"
NPM_LOG = f"""2024-05-02T09:14:01.0000000Z ##[group]Run actions/setup-node@v4
2024-05-02T09:14:01.1000000Z with:
2024-05-02T09:14:01.2000000Z   node-version: 20
2024-05-02T09:14:02.0000000Z ##[endgroup]
2024-05-02T09:14:03.0000000Z ##[group]Run npm ci
2024-05-02T09:14:03.1000000Z npm config set //registry.npmjs.org/:_authToken={TOKEN}
2024-05-02T09:14:04.0000000Z npm ERR! code ERESOLVE
2024-05-02T09:14:04.0100000Z npm ERR! ERESOLVE unable to resolve dependency tree
2024-05-02T09:14:04.0200000Z npm ERR!
2024-05-02T09:14:04.0300000Z npm ERR! While resolving: web-app@1.4.0
2024-05-02T09:14:04.0400000Z npm ERR! Found: react@18.2.0
2024-05-02T09:14:04.0500000Z npm ERR! Could not resolve dependency:
2024-05-02T09:14:04.0600000Z npm ERR! peer react@"^17.0.0" from react-beautiful-dnd@13.1.1
2024-05-02T09:14:04.0700000Z npm ERR! Fix the upstream dependency conflict, or retry
2024-05-02T09:14:04.0800000Z npm ERR! this command with --force or --legacy-peer-deps
2024-05-02T09:14:05.0000000Z ##[error]Process completed with exit code 1.
"""


@pytest.fixture
def npm_log(tmp_path: Path) -> Path:
    path = tmp_path / "job-1234.log"
    path.write_text(NPM_LOG)
    return path


def _artifact_markdown(key: str) -> str:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    assert artifacts, f"no artifact {key}"
    return str(artifacts[0].data)


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home")
def test_analyze_log_flow_rules_and_retrieval(npm_log: Path) -> None:
    report = analyze_log_flow(AnalyzeLogParams(log_path=npm_log, ci_provider="github-actions"))

    assert isinstance(report, AnalysisReport)
    assert report.category is Category.DEPENDENCY
    assert report.exit_code == 1
    assert report.total_lines == NPM_LOG.count("\n")
    # evidence is verbatim (timestamps and markers cleaned) with the original line numbers
    original = NPM_LOG.splitlines()
    evidence = {line.number: line.text for block in report.evidence for line in block.lines}
    assert (
        evidence[8]
        == original[7].split("Z ", 1)[1]
        == "npm ERR! ERESOLVE unable to resolve dependency tree"
    )
    assert all(text in original[n - 1] for n, text in evidence.items() if "REDACTED" not in text)
    # the token never reaches the report; the redaction is counted
    assert TOKEN not in report.model_dump_json()
    assert sum(report.redactions.values()) >= 1
    # the starter KB was indexed on first use and its ERESOLVE runbook is cited
    assert report.citations
    assert any("eresolve" in c.source.lower() for c in report.citations[:3])
    assert report.provenance.summary is Origin.RULES
    assert report.provenance.model_error is None
    # the Markdown report is published as an artifact keyed by the signature
    markdown = _artifact_markdown(report_key(report))
    assert "ERESOLVE unable to resolve dependency tree" in markdown
    assert TOKEN not in markdown


@pytest.mark.slow
@pytest.mark.usefixtures("workflowai_home")
def test_a_first_analysis_reports_the_starter_knowledge_base_progress(
    npm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "starter"
    sources.mkdir()
    for n in range(3):
        (sources / f"entry-{n}.md").write_text(
            f"# npm peer dependency conflict {n}\n\nnpm ERR! ERESOLVE: run npm ls {n}.\n"
        )
    monkeypatch.setenv("WORKFLOWAI_REINDEX__SOURCES", json.dumps([str(sources)]))
    records: list[tuple[int, int, str]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if hasattr(record, PROGRESS_KEY):
                records.append(getattr(record, PROGRESS_KEY))

    logger, capture = logging.getLogger("prefect.task_runs"), Capture()
    logger.addHandler(capture)
    try:
        report = analyze_log_flow(AnalyzeLogParams(log_path=npm_log))
    finally:
        logger.removeHandler(capture)
    # what the CLI's bar shows on a first run: 0 of the 3 entries, then all 3
    assert records == [(0, 3, STARTER_UNIT), (3, 3, STARTER_UNIT)]
    assert {c.source for c in report.citations} <= {f"entry-{n}.md" for n in range(3)}
    assert report.citations


@pytest.mark.slow
@pytest.mark.usefixtures("workflowai_home")
def test_warm_up_loads_the_model_only_where_the_knowledge_base_is_to_be_indexed(
    npm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_load = SentenceTransformerEmbedder.load

    def spy(self: SentenceTransformerEmbedder) -> None:  # a spy: the real model still loads
        loads.append(self.model_name)
        real_load(self)

    monkeypatch.setattr(SentenceTransformerEmbedder, "load", spy)
    warm_up(AnalyzeLogParams(log_path=npm_log, ensure_knowledge_base=False))
    assert loads == []  # a query needs only the numpy encoder
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("WORKFLOWAI_REINDEX__SOURCES", json.dumps([str(tmp_path / "empty")]))
    warm_up(AnalyzeLogParams(log_path=npm_log))
    assert loads == []  # an empty store but nothing to index into it
    monkeypatch.delenv("WORKFLOWAI_REINDEX__SOURCES")
    warm_up(AnalyzeLogParams(log_path=npm_log))  # the repository's starter entries come next
    assert loads == [Settings().embedding.model]


@pytest.mark.slow
def test_a_knowledge_base_of_another_embedding_model_asks_for_a_reindex(
    workflowai_home: Path, npm_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the upgrade path: a starter KB indexed with MiniLM (the default before bge-small), then
    # an analysis with the default model. Same 384 dimensions, so only the check stops it
    # from ranking by vectors of two models.
    monkeypatch.setenv("WORKFLOWAI_EMBEDDING__MODEL", "all-MiniLM-L6-v2")
    assert analyze_log_flow(AnalyzeLogParams(log_path=npm_log)).citations
    monkeypatch.delenv("WORKFLOWAI_EMBEDDING__MODEL")
    with pytest.raises(SchemaMismatchError) as raised:
        analyze_log_flow(AnalyzeLogParams(log_path=npm_log))
    message = str(raised.value)
    assert "built with all-MiniLM-L6-v2 but BAAI/bge-small-en-v1.5" in message
    assert "workflowai reindex" in message


@pytest.mark.usefixtures("workflowai_home")
@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00" * 64, "binary")],
)
def test_analyze_log_flow_rejects_empty_or_binary(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.log"
    path.write_bytes(content)
    with pytest.raises(LogParseError, match=message):
        analyze_log_flow(AnalyzeLogParams(log_path=path, ensure_knowledge_base=False))


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home")
def test_analyze_log_flow_with_the_real_model_drafts_or_falls_back(
    npm_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SmolLM2-135M rarely writes a valid draft: either outcome must be a sound report."""
    gguf = smollm2_gguf_path()
    monkeypatch.setenv("WORKFLOWAI_GENERATION__BACKEND", "transformers")
    monkeypatch.setenv("WORKFLOWAI_GENERATION__MODEL", str(gguf.parent))
    monkeypatch.setenv("WORKFLOWAI_GENERATION__GGUF_FILE", gguf.name)
    monkeypatch.setenv("WORKFLOWAI_GENERATION__DEVICE", "cpu")
    report = analyze_log_flow(
        AnalyzeLogParams(log_path=npm_log, use_model=True, max_tokens=48, publish=False)
    )
    assert report.evidence and report.citations  # rule-made parts stay either way
    if report.provenance.model_error is None:
        assert report.provenance.summary is Origin.MODEL
        assert report.provenance.model
    else:
        assert report.provenance.summary is Origin.RULES
        assert report.category is Category.DEPENDENCY


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home")
def test_analyze_log_flow_model_without_backend_falls_back_with_the_reason(
    npm_log: Path,
) -> None:
    report = analyze_log_flow(AnalyzeLogParams(log_path=npm_log, use_model=True, publish=False))
    assert report.provenance.summary is Origin.RULES
    assert "WORKFLOWAI_GENERATION__BACKEND" in (report.provenance.model_error or "")


@pytest.mark.slow
@pytest.mark.usefixtures("kb_home")
def test_analyze_log_flow_agent_needs_a_tool_calling_backend(
    npm_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOWAI_GENERATION__BACKEND", "transformers")
    report = analyze_log_flow(AnalyzeLogParams(log_path=npm_log, agent=True, publish=False))
    assert report.provenance.summary is Origin.RULES
    assert "agent mode needs an OpenAI-compatible backend" in (report.provenance.model_error or "")
    assert report.tool_calls == []


@pytest.mark.slow
@pytest.mark.usefixtures("workflowai_home")
def test_warm_up_loads_the_generator_only_for_a_run_with_the_model(
    npm_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflowai.llm import transformers_backend

    monkeypatch.setenv("WORKFLOWAI_GENERATION__BACKEND", "transformers")
    monkeypatch.setenv("WORKFLOWAI_GENERATION__MODEL", str(smollm2_gguf_path()))
    loads: list[str] = []
    real_load = transformers_backend._load

    def spy(name: str, *args: object) -> object:  # a spy: the real model still loads
        loads.append(name)
        return real_load(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(transformers_backend, "_load", spy)
    warm_up(AnalyzeLogParams(log_path=npm_log, ensure_knowledge_base=False))
    assert loads == []
    warm_up(AnalyzeLogParams(log_path=npm_log, ensure_knowledge_base=False, use_model=True))
    assert loads == [str(smollm2_gguf_path().parent)]
