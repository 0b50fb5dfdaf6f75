"""Read knowledge sources into Documents: Markdown, text, JSON, JSONL and YAML runbooks.

A generator: documents stream out one at a time, so a large source never sits in memory. A
file that cannot be read or parsed yields an IndexFailure with the reason and the run goes on.
Document ids are stable across runs: the root folder's name and the path below it, plus
`#<key>` for files holding several records.

`Document.source` and the `path` metadata are the file's path relative to the root that was
given (a file given directly: its name), never the indexing machine's absolute path: they are
shown in reports and prompts. Every document carries `entry_id` (the runbook's or record's id,
else the file stem); runbooks also carry `tools` (comma-separated program names) and `fix`
(the template steps, one per line). Failures keep the absolute path: they are read by the
person running the index, on that machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from workflowai.schemas import Document, IndexFailure, Metadata

MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {*MARKDOWN_SUFFIXES, ".txt", ".text", ".rst"}
RECORD_SUFFIXES = {".json", ".jsonl", ".ndjson", ".yaml", ".yml"}
SUPPORTED = TEXT_SUFFIXES | RECORD_SUFFIXES
RUNBOOK_KEYS = {"symptoms", "signatures", "cause", "fix"}
CONFIRMATION_KEYS = ("fingerprint", "failure_signature", "confirmed_at")
# a folder's README describes the folder (the entry format, say), it is not knowledge
SKIPPED_IN_FOLDERS = {"readme.md", "readme.txt", "readme.rst"}

SourceItem = Document | IndexFailure
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
# a note's header fields, as the starter incident notes write them under the title:
# **Category:** dependency · **Ecosystem:** python · **Tools:** pip
_NOTE_FIELD = re.compile(r"\*\*(Category|Ecosystem|Tools):\*\*[ \t]*([^·*\n]+)", re.IGNORECASE)


def iter_documents(paths: Sequence[Path]) -> Iterator[SourceItem]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                skipped = hidden or file.name.lower() in SKIPPED_IN_FOLDERS
                if file.is_file() and not skipped and file.suffix.lower() in SUPPORTED:
                    yield from _read_file(file, f"{path.name}/{rel.as_posix()}", rel.as_posix())
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED:
                yield IndexFailure(
                    source=str(path), reason=f"unsupported file type {path.suffix!r}"
                )
            else:
                yield from _read_file(path, path.name, path.name)
        else:
            yield IndexFailure(source=str(path), reason="no such file or directory")


def _read_file(file: Path, doc_id: str, rel: str) -> Iterator[SourceItem]:
    """Documents of one file; `rel` is its path relative to the root being indexed."""
    suffix = file.suffix.lower()
    try:
        if suffix == ".jsonl" or suffix == ".ndjson":
            yield from _read_jsonl(file, doc_id, rel)
            return
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield IndexFailure(source=str(file), reason=f"cannot read: {exc}")
        return
    if suffix in TEXT_SUFFIXES:
        if text.strip():
            markdown = suffix in MARKDOWN_SUFFIXES
            kind = "markdown" if markdown else "note"
            meta = {"kind": kind, "entry_id": file.stem, "path": rel}
            yield Document(
                id=doc_id,
                title=(_markdown_title(text) if markdown else None) or file.stem,
                content=text,
                source=rel,
                metadata=_scalar_metadata(meta | (_note_fields(text) if markdown else {})),
            )
        return
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        yield IndexFailure(source=str(file), reason=f"invalid {suffix[1:].upper()}: {exc}")
        return
    records = data if isinstance(data, list) else [data]
    for index, record in enumerate(records):
        key = None if len(records) == 1 else str(_record_key(record, index))
        own_key = key or str(_record_key(record, file.stem))
        ref = _RecordRef(doc_id if key is None else f"{doc_id}#{key}", rel, own_key)
        yield _record_document(record, ref, where=str(file))


def _read_jsonl(file: Path, doc_id: str, rel: str) -> Iterator[SourceItem]:
    with file.open(encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield IndexFailure(source=f"{file}:{number}", reason=f"invalid JSON: {exc}")
                continue
            key = str(_record_key(record, number))
            ref = _RecordRef(f"{doc_id}#{key}", rel, key)
            yield _record_document(record, ref, where=f"{file}:{number}")


def _record_key(record: Any, fallback: str | int) -> str | int:
    if isinstance(record, Mapping):
        for field in ("id", "_id", "key"):
            if isinstance(record.get(field), str | int):
                return record[field]
    return fallback


class _RecordRef(NamedTuple):
    """Where a record sits: its document id, its file relative to the root, its own key."""

    doc_id: str
    rel: str
    key: str


def _record_document(record: Any, ref: _RecordRef, where: str) -> SourceItem:
    if not isinstance(record, Mapping):
        return IndexFailure(source=where, reason="a record must be an object/mapping")
    if RUNBOOK_KEYS & record.keys():
        return _runbook_document(record, ref)
    content = record.get("content", record.get("text"))
    if not isinstance(content, str) or not content.strip():
        return IndexFailure(source=where, reason="record has no 'content' (or 'text') string")
    meta = record.get("metadata") or {}
    if not isinstance(meta, Mapping):
        return IndexFailure(source=where, reason="'metadata' must be a mapping")
    # the record's own metadata wins, as it does for `kind`
    base = {"kind": "record", "entry_id": ref.key, "path": ref.rel}
    return Document(
        id=ref.doc_id,
        title=str(record.get("title") or ""),
        content=content,
        source=ref.rel,
        metadata=_scalar_metadata({**base, **meta}),
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _tool_names(value: Any) -> str:
    """Program names as one comma-separated string: lowercase, no blanks, no repeats."""
    names = (n.strip().lower() for item in _as_list(value) for n in item.split(","))
    return ",".join(dict.fromkeys(n for n in names if n))


def _runbook_document(entry: Mapping[str, Any], ref: _RecordRef) -> Document:
    symptoms, signatures, fixes = (
        _as_list(entry.get(k)) for k in ("symptoms", "signatures", "fix")
    )
    cause = str(entry.get("cause") or "").strip()
    tools = _tool_names(entry.get("tools"))
    category, ecosystem = entry.get("category", "unknown"), entry.get("ecosystem", "")
    header = f"Category: {category}. Ecosystem: {ecosystem}."
    sections = [
        # tool names in the text let keyword search match a log's tool to its runbooks
        header + (f" Tools: {tools.replace(',', ', ')}." if tools else ""),
        "Symptoms: " + "; ".join(symptoms),
        "Log signatures:\n" + "\n".join(signatures),
        f"Cause: {cause}",
        "Fix:\n" + "\n".join(f"- {f}" for f in fixes),
    ]
    entry_id = str(entry.get("id") or ref.key)
    return Document(
        id=ref.doc_id,
        title=str(entry.get("title") or entry_id),
        content="\n\n".join(sections),
        source=ref.rel,
        metadata=_scalar_metadata(
            {
                "kind": "runbook",
                "entry_id": entry_id,
                "category": category,
                "ecosystem": ecosystem,
                "tools": tools,
                "path": ref.rel,
                "cause": cause,
                "fix": "\n".join(fixes),
                "tags": ",".join(_as_list(entry.get("tags"))),
                # a confirmed cause (workflowai confirm) says which failure it explains
                **{k: entry[k] for k in CONFIRMATION_KEYS if entry.get(k)},
            }
        ),
    )


def _note_fields(text: str) -> dict[str, str]:
    """Category, ecosystem and tools a note declares in bold-label fields before its first
    section (`**Category:** dependency · **Ecosystem:** python · **Tools:** pip`)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("## "):
            break
        for label, value in _NOTE_FIELD.findall(line):
            key = label.lower()
            fields[key] = _tool_names(value) if key == "tools" else value.strip().lower()
    return fields


def _scalar_metadata(meta: Mapping[str, Any]) -> Metadata:
    out: Metadata = {}
    for key, value in meta.items():
        if isinstance(value, bool | int | float | str):
            out[str(key)] = value
        elif isinstance(value, list):
            out[str(key)] = ",".join(str(v) for v in value)
        elif value is not None:
            out[str(key)] = json.dumps(value, sort_keys=True, default=str)
    return out


def _markdown_title(text: str) -> str | None:
    """The first ATX heading (any level) outside code fences, or None."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            return match.group(1).strip()
    return None
