"""Reading knowledge sources: every format, stable ids, and failures that never stop a run."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from workflowai.knowledge.sources import iter_documents
from workflowai.schemas import Document, IndexFailure

RUNBOOK = """\
id: npm-eresolve
title: "npm: ERESOLVE unable to resolve dependency tree"
category: dependency
ecosystem: node
symptoms:
  - npm ci fails before installing anything
  - a peer dependency conflict is reported
signatures:
  - 'npm ERR! code ERESOLVE'
  - 'npm ERR! ERESOLVE unable to resolve dependency tree'
cause: >-
  Two packages require incompatible versions of the same peer dependency.
fix:
  - Align the peer dependency versions in package.json.
  - As a stopgap, run npm ci --legacy-peer-deps.
tags: [npm, peer-deps]
"""


def read(*paths: Path) -> tuple[list[Document], list[IndexFailure]]:
    items = list(iter_documents(list(paths)))
    docs = [i for i in items if isinstance(i, Document)]
    return docs, [i for i in items if isinstance(i, IndexFailure)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_iter_documents_is_a_generator(tmp_path: Path) -> None:
    assert inspect.isgenerator(iter_documents([tmp_path]))


def test_runbook_yaml_becomes_one_document_with_sections_and_scalar_metadata(
    tmp_path: Path,
) -> None:
    docs, failures = read(write(tmp_path / "kb" / "npm-eresolve.yaml", RUNBOOK))
    assert failures == []
    (doc,) = docs
    assert doc.title == "npm: ERESOLVE unable to resolve dependency tree"
    for section in ("Symptoms:", "Log signatures:", "Cause:", "Fix:"):
        assert section in doc.content
    assert "npm ERR! ERESOLVE unable to resolve dependency tree" in doc.content
    assert doc.metadata == {
        "kind": "runbook",
        "entry_id": "npm-eresolve",
        "category": "dependency",
        "ecosystem": "node",
        "cause": "Two packages require incompatible versions of the same peer dependency.",
        "fix": "Align the peer dependency versions in package.json.\n"
        "As a stopgap, run npm ci --legacy-peer-deps.",
        "tags": "npm,peer-deps",
    }
    assert all(isinstance(v, str | int | float | bool) for v in doc.metadata.values())


def test_runbook_fix_may_be_a_single_string(tmp_path: Path) -> None:
    text = RUNBOOK.split("fix:")[0] + "fix: Pin the dependency.\n"
    (doc,), _ = read(write(tmp_path / "one.yaml", text))
    assert doc.metadata["fix"] == "Pin the dependency."
    assert "- Pin the dependency." in doc.content


def test_yaml_list_of_runbooks_gets_one_document_each_keyed_by_id(tmp_path: Path) -> None:
    entries = [
        {"id": "a", "title": "A", "cause": "x", "fix": ["y"]},
        {"id": "b", "title": "B", "cause": "z", "fix": "w"},
    ]
    path = write(tmp_path / "many.yaml", json.dumps(entries))  # JSON is valid YAML
    docs, failures = read(path)
    assert failures == []
    assert [d.id for d in docs] == ["many.yaml#a", "many.yaml#b"]


@pytest.mark.parametrize(
    ("name", "text", "title", "kind"),
    [
        ("guide.md", "intro\n\n## Rolling back\nsteps", "Rolling back", "markdown"),
        ("guide.md", "# Disk full on runners #\n\ntext", "Disk full on runners", "markdown"),
        ("csharp.md", "# C# build fails\ntext", "C# build fails", "markdown"),
        ("fenced.md", "```sh\n# not a heading\n```\n# Real title\n", "Real title", "markdown"),
        ("no-heading.md", "just text", "no-heading", "markdown"),
        ("notes.txt", "# a shell comment\nplain text", "notes", "note"),
    ],
)
def test_text_files_take_the_first_heading_or_the_file_stem(
    tmp_path: Path, name: str, text: str, title: str, kind: str
) -> None:
    (doc,), _ = read(write(tmp_path / name, text))
    assert (doc.title, doc.metadata["kind"], doc.content) == (title, kind, text)


def test_json_object_and_list_with_text_alias(tmp_path: Path) -> None:
    single = write(
        tmp_path / "one.json",
        json.dumps({"title": "T", "content": "body", "metadata": {"team": "ci", "n": 3}}),
    )
    many = write(
        tmp_path / "many.json",
        json.dumps([{"id": "x", "text": "first"}, {"title": "second", "content": "two"}]),
    )
    docs, failures = read(single, many)
    assert failures == []
    assert [(d.id, d.title, d.content) for d in docs] == [
        ("one.json", "T", "body"),
        ("many.json#x", "", "first"),
        ("many.json#1", "second", "two"),
    ]
    assert docs[0].metadata == {"kind": "record", "team": "ci", "n": 3}


def test_jsonl_bad_line_is_a_failure_naming_file_and_line_and_the_rest_is_indexed(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps({"id": "r1", "content": "first record"}),
        "{not json",
        "",
        json.dumps({"id": "r3", "text": "third record"}),
        json.dumps({"id": "r4", "title": "no content"}),
    ]
    path = write(tmp_path / "records.jsonl", "\n".join(lines) + "\n")
    docs, failures = read(path)
    assert [d.id for d in docs] == ["records.jsonl#r1", "records.jsonl#r3"]
    assert [f.source for f in failures] == [f"{path}:2", f"{path}:5"]
    assert "invalid JSON" in failures[0].reason
    assert "content" in failures[1].reason


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("broken.yaml", "id: [unclosed\n", "invalid YAML"),
        ("broken.json", '{"title": ', "invalid JSON"),
        ("scalar.yaml", "just a string\n", "object"),
        ("nocontent.json", '{"title": "only a title"}', "content"),
        ("badmeta.json", '{"content": "x", "metadata": [1, 2]}', "metadata"),
    ],
)
def test_invalid_files_are_failures_and_the_run_goes_on(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    bad = write(tmp_path / "kb" / name, text)
    write(tmp_path / "kb" / "good.md", "# Good\ntext")
    docs, failures = read(tmp_path / "kb")
    assert [d.title for d in docs] == ["Good"]
    assert [f.source for f in failures] == [str(bad)]
    assert reason in failures[0].reason


def test_non_utf8_file_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    docs, failures = read(path)
    assert docs == [] and "cannot read" in failures[0].reason


def test_directory_ids_are_relative_and_stable_and_hidden_or_unknown_files_are_skipped(
    tmp_path: Path,
) -> None:
    root = tmp_path / "kb"
    write(root / "runbooks" / "npm.yaml", RUNBOOK)
    write(root / "notes" / "deploy.md", "# Deploy\ntext")
    write(root / ".git" / "config.md", "# hidden\n")
    write(root / ".draft.md", "# hidden too\n")
    write(root / "image.png", "not text")
    write(root / "README.md", "# How this folder works\n")
    first, failures = read(root)
    assert failures == []
    assert [d.id for d in first] == ["kb/notes/deploy.md", "kb/runbooks/npm.yaml"]
    second, _ = read(root)
    assert [(d.id, d.content_hash) for d in second] == [(d.id, d.content_hash) for d in first]


@pytest.mark.parametrize(
    ("name", "reason"), [("image.png", "unsupported file type"), ("missing.md", "no such file")]
)
def test_explicit_unsupported_or_missing_file_is_a_failure(
    tmp_path: Path, name: str, reason: str
) -> None:
    path = tmp_path / name
    if name.endswith(".png"):
        path.write_bytes(b"\x89PNG")
    docs, failures = read(path)
    assert docs == [] and reason in failures[0].reason


def test_empty_text_file_yields_nothing(tmp_path: Path) -> None:
    assert read(write(tmp_path / "empty.md", "  \n")) == ([], [])


def test_repository_knowledge_base_reads_without_failures() -> None:
    root = Path(__file__).resolve().parents[2] / "knowledge_base"
    docs, failures = read(root)
    assert failures == []
    runbooks = [d for d in docs if d.metadata.get("kind") == "runbook"]
    assert len(runbooks) >= 10
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.metadata["category"] and d.metadata["ecosystem"] for d in runbooks)
