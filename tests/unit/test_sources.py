"""Reading knowledge sources: every format, stable ids, metadata retrieval and reports rely on
(entry id, tools, fix templates, the path relative to the root), and failures that never stop
a run."""

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
tools: [npm]
symptoms:
  - npm ci fails before installing anything
  - a peer dependency conflict is reported
signatures:
  - 'npm ERR! code ERESOLVE'
  - 'npm ERR! ERESOLVE unable to resolve dependency tree'
cause: >-
  Two packages require incompatible versions of the same peer dependency.
fix:
  - 'Upgrade the package that declares the peer range of {package}.'
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
    assert doc.content.startswith("Category: dependency. Ecosystem: node. Tools: npm.")
    assert doc.metadata == {
        "kind": "runbook",
        "entry_id": "npm-eresolve",
        "category": "dependency",
        "ecosystem": "node",
        "tools": "npm",
        "path": "npm-eresolve.yaml",
        "cause": "Two packages require incompatible versions of the same peer dependency.",
        "fix": "Upgrade the package that declares the peer range of {package}.\n"
        "As a stopgap, run npm ci --legacy-peer-deps.",
        "tags": "npm,peer-deps",
    }
    assert doc.source == "npm-eresolve.yaml"
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
    assert docs[0].metadata == {
        "kind": "record",
        "entry_id": "one",
        "path": "one.json",
        "team": "ci",
        "n": 3,
    }
    assert [d.metadata["entry_id"] for d in docs[1:]] == ["x", "1"]


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
    incidents = [d for d in docs if d.source.startswith("past-incidents/")]
    assert len(runbooks) >= 100 and len(incidents) >= 4
    assert len({d.id for d in docs}) == len(docs)
    for doc in runbooks:
        meta = doc.metadata
        assert meta["category"] and meta["ecosystem"] and meta["tools"] and meta["fix"]
        assert doc.source == meta["path"] == f"runbooks/{meta['ecosystem']}/{meta['entry_id']}.yaml"
    for doc in incidents:
        assert doc.metadata["category"] and doc.metadata["ecosystem"] and doc.metadata["tools"]


def test_source_and_path_are_relative_to_the_root_never_the_machines_absolute_path(
    tmp_path: Path,
) -> None:
    root = tmp_path / "home" / "ci-user" / "kb"
    write(root / "runbooks" / "node" / "npm-eresolve.yaml", RUNBOOK)
    write(root / "past-incidents" / "outage.md", "# Outage\ntext")
    write(root / "records.jsonl", json.dumps({"id": "r1", "content": "one"}) + "\n")
    single = write(tmp_path / "loose" / "note.txt", "a plain note")
    docs, failures = read(root, single)
    assert failures == []
    assert [(d.source, d.metadata["path"]) for d in docs] == [
        ("past-incidents/outage.md", "past-incidents/outage.md"),
        ("records.jsonl", "records.jsonl"),
        ("runbooks/node/npm-eresolve.yaml", "runbooks/node/npm-eresolve.yaml"),
        ("note.txt", "note.txt"),
    ]
    for doc in docs:
        stored = [doc.source, doc.content, *map(str, doc.metadata.values())]
        assert not any(str(tmp_path) in text or "ci-user" in text for text in stored)


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ("[pytest]", "pytest"),
        ("[Ruff, ' flake8 ', ruff]", "ruff,flake8"),
        ("'eslint, prettier'", "eslint,prettier"),
    ],
)
def test_runbook_tools_become_one_lowercase_comma_separated_value(
    tmp_path: Path, tools: str, expected: str
) -> None:
    text = RUNBOOK.replace("tools: [npm]", f"tools: {tools}")
    (doc,), _ = read(write(tmp_path / "entry.yaml", text))
    assert doc.metadata["tools"] == expected
    assert f"Tools: {expected.replace(',', ', ')}." in doc.content


def test_runbook_without_tools_has_empty_tools_and_no_tools_line(tmp_path: Path) -> None:
    (doc,), _ = read(write(tmp_path / "entry.yaml", RUNBOOK.replace("tools: [npm]\n", "")))
    assert doc.metadata["tools"] == ""
    assert "Tools:" not in doc.content


def test_yaml_list_of_runbooks_keeps_each_entry_id_and_the_files_path(tmp_path: Path) -> None:
    entries = [
        {"id": "a", "title": "A", "tools": ["go"], "cause": "x", "fix": ["y"]},
        {"id": "b", "title": "B", "tools": ["cargo"], "cause": "z", "fix": "w"},
    ]
    docs, _ = read(write(tmp_path / "kb" / "team" / "many.yaml", json.dumps(entries)))
    assert [(d.metadata["entry_id"], d.metadata["tools"], d.source) for d in docs] == [
        ("a", "go", "many.yaml"),
        ("b", "cargo", "many.yaml"),
    ]


def test_markdown_note_declares_category_ecosystem_and_tools_in_its_header(
    tmp_path: Path,
) -> None:
    note = (
        "# Past incident: mirror lagged behind a release\n\n"
        "**Category:** dependency · **Ecosystem:** python · **Tools:** pip, Poetry "
        "· **Duration:** 3 hours\n\n"
        "## What happened\n**Category:** not a header field any more\n"
    )
    (doc,), _ = read(write(tmp_path / "kb" / "2026-03-mirror.md", note))
    assert doc.metadata == {
        "kind": "markdown",
        "entry_id": "2026-03-mirror",
        "path": "2026-03-mirror.md",
        "category": "dependency",
        "ecosystem": "python",
        "tools": "pip,poetry",
    }


def test_plain_note_has_entry_id_and_path_but_no_header_fields(tmp_path: Path) -> None:
    (doc,), _ = read(write(tmp_path / "disk.txt", "**Category:** infrastructure\ntext"))
    assert doc.metadata == {"kind": "note", "entry_id": "disk", "path": "disk.txt"}


def test_record_metadata_may_override_the_derived_fields(tmp_path: Path) -> None:
    record = {"id": "r", "content": "c", "metadata": {"path": "https://wiki/r", "kind": "faq"}}
    (doc,), _ = read(write(tmp_path / "r.json", json.dumps(record)))
    assert doc.metadata == {"kind": "faq", "entry_id": "r", "path": "https://wiki/r"}
