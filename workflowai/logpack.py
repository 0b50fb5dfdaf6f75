"""The payload a log travels as: normalized and redacted on the client, checked again on the worker.

What is uploaded is not the raw file but what the analysis keeps of it, after redaction:
- a failing log: the `NormalizedLog` that `normalize.read_log` makes with a `Redactor` (kept
  lines with their original numbers, steps, totals, warnings, redaction counts). The worker
  sees exactly what a local run would, and a log of hundreds of MB costs what its kept lines
  cost (at most `max_kept_lines`).
- a passing (baseline) log: its set of masked line-template digests (`Baseline`), one-way
  hashes of redacted lines: no text at all.
The payload is JSON in an envelope naming its format and kind, gzip-compressed with a fixed
mtime so the same log always gives the same bytes (and so the same content address).

On the worker, `unpack_log` bounds decompression (a gzip bomb is refused) and `reredact`
runs the worker's own redactor over every kept line and step (defence in depth: an older or
modified client may have missed a shape); what it finds is counted and reported as a warning.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import TypeAdapter, ValidationError

from workflowai.analysis.baseline import Baseline, build_baseline
from workflowai.analysis.normalize import Line, NormalizedLog, read_log
from workflowai.analysis.redact import Redactor
from workflowai.blobstore import BlobStore
from workflowai.errors import LogRefError
from workflowai.logref import LogRef, fetch
from workflowai.settings import AnalysisSettings, Settings

FORMAT = "workflowai-log/1"
LOG = "log"
BASELINE = "baseline"
_LOG_ADAPTER: TypeAdapter[NormalizedLog] = TypeAdapter(NormalizedLog)


def _pack(kind: str, data: Any) -> bytes:
    body = json.dumps(
        {"format": FORMAT, "kind": kind, "data": data}, separators=(",", ":"), sort_keys=True
    )
    return gzip.compress(body.encode("utf-8"), compresslevel=6, mtime=0)


def pack_log(log: NormalizedLog) -> bytes:
    """The compressed payload of a normalized (already redacted) log."""
    return _pack(LOG, _LOG_ADAPTER.dump_python(log, mode="json"))


def pack_baseline(baseline: Baseline) -> bytes:
    """The compressed payload of a baseline: sorted template digests, deterministic bytes."""
    digests = sorted(baseline.digests)
    return _pack(BASELINE, {"digests": digests, "total_lines": baseline.total_lines})


def _unpack(payload: bytes, kind: str, max_unpacked_bytes: int) -> Any:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(payload)) as stream:
            body = stream.read(max_unpacked_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise LogRefError(f"the stored {kind} is not a gzip payload: {exc}") from exc
    if len(body) > max_unpacked_bytes:
        raise LogRefError(
            f"the stored {kind} expands to more than {max_unpacked_bytes} bytes: refused"
        )
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LogRefError(f"the stored {kind} is not a JSON payload: {exc}") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        found = envelope.get("format") if isinstance(envelope, dict) else None
        raise LogRefError(
            f"the stored {kind} has format {found!r}, this worker reads {FORMAT!r}: "
            "upgrade the client or the workers so they match"
        )
    if envelope.get("kind") != kind:
        raise LogRefError(f"the stored payload is a {envelope.get('kind')!r}, not a {kind!r}")
    return envelope.get("data")


def unpack_log(payload: bytes, *, max_unpacked_bytes: int) -> NormalizedLog:
    """The NormalizedLog in `payload`; LogRefError for anything else (never retried)."""
    data = _unpack(payload, LOG, max_unpacked_bytes)
    try:
        return _LOG_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise LogRefError(f"the stored log does not validate: {exc.error_count()} errors") from exc


def unpack_baseline(payload: bytes, *, max_unpacked_bytes: int) -> Baseline:
    data = _unpack(payload, BASELINE, max_unpacked_bytes)
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        raise LogRefError(
            f"the stored baseline does not validate: {exc.error_count()} errors"
        ) from exc


def reredact(log: NormalizedLog) -> NormalizedLog:
    """`log` with every kept line and step redacted again by this process's redactor.

    Already redacted values stay as they are (markers are not secrets); new finds are added to
    `redactions` and named in a warning, since they mean the uploading client missed them.
    """
    redactor = Redactor()
    steps_seen: dict[str, str] = {}

    def step_of(name: str | None) -> str | None:
        if name is None:
            return None
        if name not in steps_seen:
            steps_seen[name] = redactor.redact_line(name)
        return steps_seen[name]

    lines = type(log.lines)()
    for number, line in log.lines.items():
        text = redactor.redact_line(line.text) if line.text else line.text
        step = step_of(line.step)
        same = text == line.text and step == line.step
        lines[number] = line if same else Line(line.number, text, step, line.candidate)
    steps = [(first, step_of(name) or "") for first, name in log.steps]
    found = dict(redactor.counts)
    if not found:
        return replace(log, lines=lines, steps=steps)
    counts = dict(log.redactions)
    for kind, count in found.items():
        counts[kind] = counts.get(kind, 0) + count
    warning = (
        f"the worker redacted {sum(found.values())} value(s) the uploading client had not "
        f"({', '.join(sorted(found))}): upgrade the client"
    )
    return replace(
        log, lines=lines, steps=steps, redactions=counts, warnings=[*log.warnings, warning]
    )


def prepare_log(source: Path | BinaryIO | bytes, settings: AnalysisSettings) -> bytes:
    """Client side: read `source` (normalize + redact while streaming) and pack it.

    Raises LogParseError for an empty, binary or unreadable log (before anything is sent).
    """
    log = read_log(source, max_bytes=settings.max_log_bytes, redactor=Redactor())
    return pack_log(log)


def prepare_baseline(source: Path | BinaryIO | bytes, settings: AnalysisSettings) -> bytes:
    """Client side: a passing log's template digests (lines redacted before hashing), packed."""
    return pack_baseline(build_baseline(source, max_bytes=settings.max_log_bytes))


def max_unpacked_bytes(settings: AnalysisSettings) -> int:
    """How far a worker lets a payload expand: the kept text of a log at the byte limit, plus
    its JSON framing."""
    return 2 * settings.max_log_bytes + (16 << 20)


def open_log(store: BlobStore, ref: LogRef, settings: Settings) -> NormalizedLog:
    """Worker side: fetch `ref` (size and sha256 checked), unpack it and redact it again.

    Raises LogTooLargeError, BlobNotFoundError, LogIntegrityError or LogRefError (none retried).
    """
    payload = fetch(store, ref, max_bytes=settings.log_storage.max_bytes)
    return reredact(unpack_log(payload, max_unpacked_bytes=max_unpacked_bytes(settings.analysis)))


def open_baseline(store: BlobStore, ref: LogRef, settings: Settings) -> Baseline:
    """Worker side: fetch and unpack a baseline reference (digests only: nothing to redact)."""
    payload = fetch(store, ref, max_bytes=settings.log_storage.max_bytes)
    return unpack_baseline(payload, max_unpacked_bytes=max_unpacked_bytes(settings.analysis))
