"""Read knowledge sources into Documents: Markdown, text, JSON, JSONL and YAML runbooks.

A generator: documents stream out one at a time, so a large source never sits in memory. A
file that cannot be read or parsed yields an IndexFailure with the reason and the run goes on.
Document ids are stable across runs: the path relative to the root that was given, plus
`#<key>` for files holding several records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

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


def iter_documents(paths: Sequence[Path]) -> Iterator[SourceItem]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                hidden = any(part.startswith(".") for part in rel.parts)
                skipped = hidden or file.name.lower() in SKIPPED_IN_FOLDERS
                if file.is_file() and not skipped and file.suffix.lower() in SUPPORTED:
                    yield from _read_file(file, f"{path.name}/{rel.as_posix()}")
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED:
                yield IndexFailure(
                    source=str(path), reason=f"unsupported file type {path.suffix!r}"
                )
            else:
                yield from _read_file(path, path.name)
        else:
            yield IndexFailure(source=str(path), reason="no such file or directory")


def _read_file(file: Path, doc_id: str) -> Iterator[SourceItem]:
    suffix = file.suffix.lower()
    try:
        if suffix == ".jsonl" or suffix == ".ndjson":
            yield from _read_jsonl(file, doc_id)
            return
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield IndexFailure(source=str(file), reason=f"cannot read: {exc}")
        return
    if suffix in TEXT_SUFFIXES:
        if text.strip():
            markdown = suffix in MARKDOWN_SUFFIXES
            yield Document(
                id=doc_id,
                title=(_markdown_title(text) if markdown else None) or file.stem,
                content=text,
                source=str(file),
                metadata={"kind": "markdown" if markdown else "note"},
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
        yield _record_document(record, file, doc_id if key is None else f"{doc_id}#{key}")


def _read_jsonl(file: Path, doc_id: str) -> Iterator[SourceItem]:
    with file.open(encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield IndexFailure(source=f"{file}:{number}", reason=f"invalid JSON: {exc}")
                continue
            key = _record_key(record, number)
            yield _record_document(record, file, f"{doc_id}#{key}", where=f"{file}:{number}")


def _record_key(record: Any, fallback: int) -> str | int:
    if isinstance(record, Mapping):
        for field in ("id", "_id", "key"):
            if isinstance(record.get(field), str | int):
                return record[field]
    return fallback


def _record_document(record: Any, file: Path, doc_id: str, where: str | None = None) -> SourceItem:
    source = where or str(file)
    if not isinstance(record, Mapping):
        return IndexFailure(source=source, reason="a record must be an object/mapping")
    if RUNBOOK_KEYS & record.keys():
        return _runbook_document(record, file, doc_id)
    content = record.get("content", record.get("text"))
    if not isinstance(content, str) or not content.strip():
        return IndexFailure(source=source, reason="record has no 'content' (or 'text') string")
    meta = record.get("metadata") or {}
    if not isinstance(meta, Mapping):
        return IndexFailure(source=source, reason="'metadata' must be a mapping")
    return Document(
        id=doc_id,
        title=str(record.get("title") or ""),
        content=content,
        source=str(file),
        metadata=_scalar_metadata({"kind": "record", **meta}),
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _runbook_document(entry: Mapping[str, Any], file: Path, doc_id: str) -> Document:
    symptoms, signatures, fixes = (
        _as_list(entry.get(k)) for k in ("symptoms", "signatures", "fix")
    )
    cause = str(entry.get("cause") or "").strip()
    sections = [
        f"Category: {entry.get('category', 'unknown')}. Ecosystem: {entry.get('ecosystem', '')}.",
        "Symptoms: " + "; ".join(symptoms),
        "Log signatures:\n" + "\n".join(signatures),
        f"Cause: {cause}",
        "Fix:\n" + "\n".join(f"- {f}" for f in fixes),
    ]
    return Document(
        id=doc_id,
        title=str(entry.get("title") or entry.get("id") or file.stem),
        content="\n\n".join(sections),
        source=str(file),
        metadata=_scalar_metadata(
            {
                "kind": "runbook",
                "entry_id": entry.get("id") or file.stem,
                "category": entry.get("category", "unknown"),
                "ecosystem": entry.get("ecosystem", ""),
                "cause": cause,
                "fix": "\n".join(fixes),
                "tags": ",".join(_as_list(entry.get("tags"))),
                # a confirmed cause (workflowai confirm) says which failure it explains
                **{k: entry[k] for k in CONFIRMATION_KEYS if entry.get(k)},
            }
        ),
    )


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
