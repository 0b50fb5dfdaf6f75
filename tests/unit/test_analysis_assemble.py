"""assemble_report and build_retrieval_query on real signals of fixture logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.analysis.assemble import assemble_report
from workflowai.analysis.pipeline import analyze
from workflowai.analysis.query import MAX_QUERY_CHARS, build_retrieval_query, clean_for_query
from workflowai.analysis.report import (
    Category,
    LogType,
    Origin,
    ReportDraft,
    ToolCallRecord,
)
from workflowai.analysis.signals import Signals
from workflowai.schemas import Chunk, ScoredChunk
from workflowai.settings import AnalysisSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def _signals(name: str) -> Signals:
    return analyze(FIXTURES / name, settings=AnalysisSettings())


def _runbook(entry_id: str, category: str, score: float, fix: str, cause: str) -> ScoredChunk:
    chunk = Chunk(
        id=f"c-{entry_id}",
        document_id=f"doc-{entry_id}",
        document_hash="h",
        position=0,
        title=f"Runbook {entry_id}",
        text=f"Cause: {cause}\nFix:\n{fix}",
        source=f"knowledge_base/runbooks/{entry_id}.yaml",
        metadata={
            "kind": "runbook",
            "category": category,
            "ecosystem": "python",
            "entry_id": entry_id,
            "cause": cause,
            "fix": fix,
            "tags": "pip",
        },
    )
    return ScoredChunk(chunk=chunk, score=score)


PIP_RUNBOOK = _runbook(
    "pip-no-matching-distribution",
    "dependency",
    0.9,
    "Check the version exists on PyPI\nPin a version that supports the runner's Python",
    "The requested version does not exist for this Python or platform.",
)


def test_analysis_assemble_without_draft_uses_rules_and_runbook() -> None:
    signals = _signals("github_actions_pip.log")
    report = assemble_report(
        signals, hits=[PIP_RUNBOOK], draft=None, log_type=LogType.BUILD, redactions={}
    )
    assert report.category is Category.DEPENDENCY
    assert "Run pip install -r requirements.txt" in report.summary
    assert "torch==9.9.9" in report.summary
    assert "does not exist for this Python" in report.root_cause
    assert [f.text for f in report.suggested_fixes] == [
        "Check the version exists on PyPI",
        "Pin a version that supports the runner's Python",
    ]
    assert all(f.origin is Origin.RETRIEVAL for f in report.suggested_fixes)
    assert report.citations[0].document_id == "doc-pip-no-matching-distribution"
    assert report.provenance.summary is Origin.RULES
    # the root cause is the finding (rules); the runbook only adds why such failures happen
    assert report.provenance.root_cause is Origin.RULES
    assert "torch==9.9.9" in report.root_cause
    assert report.exit_code == 1
    assert report.failure_signature == signals.signature_hash
    agreeing = report.confidence
    other = _runbook("oom", "out-of-memory", 0.9, "Use a bigger runner", "Memory ran out.")
    disagreeing = assemble_report(signals, hits=[other], draft=None, redactions={}).confidence
    assert agreeing > disagreeing


def test_analysis_assemble_without_hits_gives_generic_fix() -> None:
    report = assemble_report(_signals("gitlab_go_test.log"), hits=[], draft=None, redactions={})
    assert report.category is Category.TEST
    assert len(report.suggested_fixes) == 1
    assert report.suggested_fixes[0].origin is Origin.RULES
    assert report.citations == []


@pytest.mark.parametrize(("tool_calls", "origin"), [((), Origin.MODEL), (("kb",), Origin.AGENT)])
def test_analysis_assemble_with_draft_takes_prose_from_model(
    tool_calls: tuple[str, ...], origin: Origin
) -> None:
    signals = _signals("github_actions_pip.log")
    draft = ReportDraft(
        summary="pip could not find torch 9.9.9.",
        category=Category.DEPENDENCY,
        root_cause="The pinned torch version does not exist.",
        suggested_fixes=["Pin torch to 2.2.0"],
        confidence=0.8,
    )
    calls = [
        ToolCallRecord(tool=t, arguments={"query": "torch"}, result_summary="1 hit", seconds=0.1)
        for t in tool_calls
    ]
    report = assemble_report(
        signals,
        hits=[PIP_RUNBOOK],
        draft=draft,
        redactions={"github-token": 1},
        model_name="smollm2",
        tool_calls=calls,
    )
    assert report.summary == draft.summary
    assert report.root_cause == draft.root_cause
    assert report.suggested_fixes[0].text == "Pin torch to 2.2.0"
    assert report.provenance.summary is origin
    assert report.provenance.model == "smollm2"
    assert report.evidence == signals.blocks  # evidence stays rule-made
    assert report.redactions == {"github-token": 1}


def test_analysis_assemble_records_model_error() -> None:
    report = assemble_report(
        _signals("jenkins_maven_test.log"),
        hits=[],
        draft=None,
        redactions={},
        model_error="the model's answer is not JSON",
    )
    assert report.provenance.model_error == "the model's answer is not JSON"
    assert report.provenance.summary is Origin.RULES


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        (
            "ERROR: No matching distribution found for torch==9.9.9",
            "ERROR: No matching distribution found for torch",
        ),
        ("error at /home/runner/work/app/src/x.py:12 in 0xdeadbeef", "error at in"),
        ("token [REDACTED:github-token] rejected", "token rejected"),
    ],
)
def test_analysis_query_cleaning(text: str, cleaned: str) -> None:
    assert clean_for_query(text) == cleaned


def test_analysis_query_names_the_failure_and_is_bounded() -> None:
    query = build_retrieval_query(_signals("github_actions_pip.log"))
    assert "No matching distribution found for torch" in query
    assert len(query) <= MAX_QUERY_CHARS
    long = analyze(("x " * 5000 + "error: boom\n").encode(), settings=AnalysisSettings())
    assert len(build_retrieval_query(long)) <= MAX_QUERY_CHARS
