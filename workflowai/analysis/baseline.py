"""Baseline: the masked line templates of a passing run of the same job.

A failing log's line whose template also occurs in the passing log is routine output (a
warning every run prints, a download line) and is pushed down in the ranking. The baseline
is streamed and stored as 8-byte template digests, so a large passing log costs little memory;
it is cleaned (`linetext.clean_line`) and redacted exactly like the failing log.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from workflowai.analysis.linetext import clean_line
from workflowai.analysis.redact import Redactor
from workflowai.analysis.templates import mask_line
from workflowai.errors import LogParseError

# digests kept at most (about 16 bytes each in a frozenset): a bound for pathological logs
MAX_TEMPLATES = 2_000_000


class Baseline(BaseModel):
    model_config = ConfigDict(frozen=True)

    digests: frozenset[int]
    total_lines: int = 0

    def contains(self, text: str) -> bool:
        """True when `text`'s template occurs in the passing log."""
        return template_digest(mask_line(text)) in self.digests


def template_digest(template: str) -> int:
    return int.from_bytes(hashlib.blake2b(template.encode(), digest_size=8).digest(), "big")


def _lines(source: bytes | str | Path | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, str):
        source = source.encode("utf-8", errors="surrogatepass")
    if isinstance(source, bytes):
        yield from io.BytesIO(source)
        return
    if isinstance(source, Path):
        try:
            with source.open("rb") as handle:
                yield from handle
        except OSError as exc:
            raise LogParseError(f"cannot read baseline log {source}: {exc}") from exc
        return
    yield from source


def build_baseline(source: bytes | str | Path | BinaryIO, *, max_bytes: int) -> Baseline:
    """Stream a passing log into its set of template digests (the first `max_bytes` bytes).

    Raises LogParseError when the file cannot be read.
    """
    digests: set[int] = set()
    redactor = Redactor()
    seen_bytes = 0
    total = 0
    for raw in _lines(source):
        total += 1
        seen_bytes += len(raw)
        if seen_bytes > max_bytes or len(digests) >= MAX_TEMPLATES:
            break
        cleaned = clean_line(raw.decode("utf-8", errors="replace"))
        if cleaned.hidden or not cleaned.text.strip():
            continue
        digests.add(template_digest(mask_line(redactor.redact_line(cleaned.text))))
    return Baseline(digests=frozenset(digests), total_lines=total)
