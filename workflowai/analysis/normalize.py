"""Read any CI/CD log into a bounded `NormalizedLog` that keeps the original line numbers.

Choices, for logs of hundreds of MB:
- The input is streamed line by line (bytes, never the whole file in memory). Each line is
  decoded as UTF-8 with replacement, cleaned by `linetext.clean_line` (ANSI, CR progress,
  timestamps, group markers) and, when a redactor is given, redacted before it is kept.
- Only what evidence needs is kept: lines near a *candidate* (a line passing the rule pack's
  cheap keyword prefilter), with `keep_context` lines either side taken from a ring buffer,
  and the last `tail_lines` lines (failures cluster at the end). The kept set is capped at
  `max_kept_lines`; when full the oldest kept lines go first. Totals are always counted.
- A redactor may correct the line it saw before (a token wrapped across two lines, see
  `redact.py`): that line is replaced where it is held, so no half of a secret is kept.
- Inputs larger than `max_bytes` are analyzed from their tail (where failures are): the head
  is skipped (its newlines still counted, so numbers stay original) and a warning says so.
  Non-seekable streams are spooled to a temporary file first so the tail can be found.
- Structural markers (GitHub `##[group]`/`::group::`, GitLab `section_start/end`, Jenkins
  `[Pipeline]` stage lines, Travis folds) are hidden: counted, never shown; the step they
  open is recorded (redacted, like every line) for every following line. A Travis `$ cmd`
  echo line stays visible and opens a step too: each command of Travis's script phase runs
  outside any fold.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Protocol

from workflowai.analysis.linetext import clean_line
from workflowai.errors import LogParseError

SNIFF_BYTES = 8192
# lowercase substrings: an over-approximation of what the rule pack matches (a unit test
# checks every rule example passes), cheap enough for hundreds of MB
CANDIDATE_KEYWORDS: tuple[str, ...] = (
    "\tat ",
    "    at ",
    ".go:",
    ".tf line",
    "401",
    "403",
    "410 gone",
    ": c: ",
    ": w: ",
    "[-] ",
    "abort",
    "assert",
    "backoff",
    "can't",
    "cancel",
    "cannot",
    "caused by",
    "certificate",
    "conflict",
    "core dumped",
    "could not",
    "crashed",
    "crashloop",
    "deadline",
    "denied",
    "did not complete",
    "dns",
    "dubious",
    "enospc",
    "eof",
    "err!",
    "errimage",
    "error",
    "evicted",
    "examples,",
    "exceeded",
    "exception",
    "exit code",
    "exit status",
    "exited",
    "expected",
    "fail",
    "fatal",
    "forbidden",
    "gc overhead",
    "goroutine ",
    "handshake",
    "heap",
    "imagepull",
    "incompatible",
    "insufficient",
    "invalid",
    "killed",
    "ld returned",
    "lock",
    "manifest unknown",
    "memory",
    "mismatch",
    "missing",
    "name or service",
    "no matching",
    "no output has been received",
    "no space",
    "no such file",
    "no such host",
    "non-resolvable",
    "not found",
    "not ok",
    "offense",
    "oom",
    "packagesnotfound",
    "panic",
    "permission",
    "refused",
    "reset",
    "resolutionimpossible",
    "resolve",
    "returned a non-zero code",
    "returned non-zero",
    "rspec ./",
    "segmentation fault",
    "sigkill",
    "sigsegv",
    "ssl",
    "syntax",
    "terminated",
    "terraform",
    "tests run:",
    "time limit",
    "timed out",
    "timeout",
    "tls",
    "traceback",
    "unable to",
    "unauthorized",
    "undefined",
    "unknown revision",
    "unmet dependencies",
    "unreachable",
    "unschedulable",
    "unsupported",
    "version solving",
    "violation",
    "would reformat",
    "xpass",
    "\u00d7",
    "●",
    "✕",
    "✖",
)


def looks_like_candidate(text: str) -> bool:
    """Cheap prefilter: could this line be failure evidence? (substring checks only)"""
    low = text.lower()
    for keyword in CANDIDATE_KEYWORDS:  # noqa: SIM110 - a plain loop is ~3x faster than any()
        if keyword in low:
            return True
    return False


_COPY_CHUNK = 1 << 20


class LineRedactor(Protocol):
    def redact_line(self, text: str) -> str: ...

    def take_amendment(self) -> str | None: ...

    def redact_fragment(self, text: str) -> str: ...

    @property
    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    step: str | None = None
    candidate: bool = False


@dataclass
class NormalizedLog:
    lines: OrderedDict[int, Line]
    total_lines: int
    total_bytes: int
    analyzed_from_line: int = 1
    ci_provider: str | None = None
    steps: list[tuple[int, str]] = field(default_factory=list)  # (first line, step name)
    warnings: list[str] = field(default_factory=list)
    redactions: dict[str, int] = field(default_factory=dict)

    def get(self, number: int) -> Line | None:
        return self.lines.get(number)

    @property
    def last_step(self) -> str | None:
        return self.steps[-1][1] if self.steps else None


Source = bytes | str | Path | BinaryIO


def _open(source: Source) -> tuple[BinaryIO, bool]:
    """A seekable binary stream and whether we own (must close) it."""
    if isinstance(source, bytes):
        return io.BytesIO(source), True
    if isinstance(source, str):
        return io.BytesIO(source.encode("utf-8", errors="surrogatepass")), True
    if isinstance(source, Path):
        try:
            return source.open("rb"), True
        except OSError as exc:
            raise LogParseError(f"cannot read log {source}: {exc}") from exc
    if source.seekable():
        return source, False
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by read_log
    shutil.copyfileobj(source, spool, _COPY_CHUNK)
    spool.seek(0)
    return spool, True


def _check_text(sample: bytes) -> None:
    if not sample.strip():
        raise LogParseError("empty log")
    if b"\x00" in sample:
        raise LogParseError("input looks binary (it contains NUL bytes), not a text log")
    printable = sum(1 for b in sample if b >= 0x20 or b in b"\t\n\r\x1b\x08")
    if printable / len(sample) < 0.7:
        raise LogParseError("input looks binary (mostly non-text bytes), not a text log")


def _skip_head(stream: BinaryIO, start: int, size: int, max_bytes: int) -> tuple[int, int]:
    """Skip to the last `max_bytes` (on a line boundary); return (bytes, newlines) skipped."""
    skip = size - max_bytes
    newlines = 0
    stream.seek(start)
    remaining = skip
    while remaining > 0:
        chunk = stream.read(min(_COPY_CHUNK, remaining))
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        remaining -= len(chunk)
    partial = stream.readline()  # finish the cut line so analysis starts on a whole line
    return skip + len(partial), newlines + (1 if partial.endswith(b"\n") else 0)


def iter_lines(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        raw = stream.readline()
        if not raw:
            return
        yield raw


def _amend(number: int, text: str, kept: OrderedDict[int, Line], *rings: deque[Line]) -> None:
    """Replace line `number`'s text wherever it is held (the redactor corrected it)."""
    for ring in rings:
        if ring and ring[-1].number == number:
            ring[-1] = replace(ring[-1], text=text)
    if number in kept:
        kept[number] = replace(kept[number], text=text)


def read_log(
    source: Source,
    *,
    max_bytes: int,
    redactor: LineRedactor | None = None,
    is_candidate: Callable[[str], bool] | None = None,
    keep_context: int = 8,
    tail_lines: int = 400,
    max_kept_lines: int = 50_000,
) -> NormalizedLog:
    """Stream `source` into a NormalizedLog (see the module docstring for what is kept).

    `source`: raw bytes, the log's text (a `str` is content, never a path), a `Path`, or a
    binary stream (spooled to a temporary file when not seekable). `redactor` redacts each
    line before it is kept; `is_candidate` overrides the keyword prefilter.

    Raises LogParseError for an empty or binary input or an unreadable path.
    """
    if is_candidate is None:
        is_candidate = looks_like_candidate
    stream, owned = _open(source)
    try:
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
        _check_text(stream.read(SNIFF_BYTES))
        stream.seek(start)
        warnings: list[str] = []
        number = 0
        if size > max_bytes:
            skipped_bytes, number = _skip_head(stream, start, size, max_bytes)
            warnings.append(
                f"the log has {size} bytes, over the {max_bytes}-byte limit: analyzed the last "
                f"{size - skipped_bytes} bytes (from line {number + 1}); earlier lines skipped"
            )
        analyzed_from = number + 1
        kept: OrderedDict[int, Line] = OrderedDict()
        before: deque[Line] = deque(maxlen=keep_context)
        tail: deque[Line] = deque(maxlen=tail_lines)
        steps: list[tuple[int, str]] = []
        step: str | None = None
        provider: str | None = None
        after_left = 0
        last_redacted = 0  # the line the redactor saw last: the one an amendment is for

        def keep(line: Line) -> None:
            kept[line.number] = line
            kept.move_to_end(line.number)
            if len(kept) > max_kept_lines:
                kept.popitem(last=False)

        for raw in iter_lines(stream):
            number += 1
            cleaned = clean_line(raw.decode("utf-8", errors="replace"))
            if cleaned.provider and (provider is None or provider == "timestamped"):
                provider = cleaned.provider
            text = cleaned.text
            if redactor is not None and text:
                text = redactor.redact_line(text)
                amended = redactor.take_amendment()  # a token wrapped from the line before
                if amended is not None and last_redacted == number - 1:
                    _amend(number - 1, amended, kept, before, tail)
                last_redacted = number
            step_name = cleaned.step_start
            if provider == "travis" and text.startswith("$ "):
                step_name = text[2:]  # Travis echoes each command as `$ cmd`: a step of its own
            elif step_name and redactor is not None:
                step_name = redactor.redact_fragment(step_name)  # `Run curl -H "Bearer ..."`
            if step_name:
                step = step_name[:200]
                if len(steps) < 10_000:
                    steps.append((number, step))
            if cleaned.hidden:
                continue
            candidate = is_candidate(text)
            line = Line(number, text, step, candidate)
            tail.append(line)
            if candidate:
                for prev in before:
                    if prev.number not in kept:
                        keep(prev)
                keep(line)
                after_left = keep_context
            elif after_left > 0:
                keep(line)
                after_left -= 1
            before.append(line)
        if number < analyzed_from:
            raise LogParseError("empty log")
        for line in tail:
            if line.number not in kept:
                kept[line.number] = line
        ordered = OrderedDict(sorted(kept.items()))
        return NormalizedLog(
            lines=ordered,
            total_lines=number,
            total_bytes=size,
            analyzed_from_line=analyzed_from,
            ci_provider=None if provider == "timestamped" else provider,
            steps=steps,
            warnings=warnings,
            redactions=dict(redactor.counts) if redactor is not None else {},
        )
    finally:
        if owned:
            stream.close()
