"""One line's secrets, without state: find them, merge overlapping ones, write the markers.

`find_spans` runs the shape finders (`redact_shapes`) and the context finders
(`redact_context`) on one line; a span is `(start, end, type)`. Overlapping spans become one,
named by the most specific type (a token's vendor over the assignment or header carrying it).
"""

from __future__ import annotations

import re

from workflowai.analysis.redact_context import (
    NAME_NEEDLES,
    find_assignments,
    find_flags,
    find_headers,
    find_high_entropy,
    find_url_credentials,
)
from workflowai.analysis.redact_shapes import Span, find_shapes

MARK = "[REDACTED:{}]"

_INLINE_DATA = re.compile(r'"(?:data|stringData)"\s*:\s*\{(?P<body>[^{}]*)\}')
_JSON_STRING_VALUE = re.compile(r':\s*"(?P<value>[^"]*)"')
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
# every word a context finder needs, in one regex over the lowercased line (a literal
# alternation without IGNORECASE scans ~10x faster than one with it)
NAMES = re.compile("|".join(NAME_NEEDLES))
_CONTEXT = re.compile(
    "|".join(NAME_NEEDLES)
    + r"|bearer|basic |login|curl|mysql|mariadb|zip|7z|rar|openssl|-stdin|://[^\s/@]*@"
    + r'|"data"|"stringdata"'
)
# merged spans keep the most specific type: vendor shapes (0) over these
_GENERIC = {"high-entropy": 3, "secret-assignment": 2, "password-flag": 2, "url-credentials": 2}
_GENERIC |= {"authorization": 2, "bearer-token": 2, "cookie": 2}


def is_base64_value(value: str) -> bool:
    return len(value) >= 8 and _BASE64.fullmatch(value) is not None


def find_inline_secret_data(line: str, spans: list[Span]) -> None:
    """`"data":{"password":"cGFzcw=="}` in a one-line Kubernetes Secret JSON."""
    for block in _INLINE_DATA.finditer(line):
        offset = block.start("body")
        for item in _JSON_STRING_VALUE.finditer(block.group("body")):
            if is_base64_value(item.group("value")):
                start, end = item.span("value")
                spans.append((offset + start, offset + end, "kubernetes-secret"))


def find_spans(line: str) -> list[Span]:
    """Every secret on one line that the line alone shows (no state). A marker left by an
    earlier pass is no secret: redacting redacted text changes and counts nothing."""
    spans = _find(line)
    if spans and "[REDACTED:" in line:
        spans = [s for s in spans if not line.startswith("[REDACTED:", s[0])]
    return spans


def _find(line: str) -> list[Span]:
    spans: list[Span] = []
    find_shapes(line, spans)
    if "=" in line:
        find_high_entropy(line, spans)
    low = line.lower()
    if _CONTEXT.search(low) is None:  # one scan; ~90% of real log lines stop here
        return spans
    if "://" in line and "@" in line:
        find_url_credentials(line, spans)
    named = NAMES.search(low) is not None
    if named:
        find_assignments(line, spans)
    find_flags(line, low, spans, named=named)
    find_headers(line, low, spans)
    if '"data"' in line or '"stringData"' in line:
        find_inline_secret_data(line, spans)
    return spans


def merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end, kind in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            best = min(last[2], kind, key=lambda k: _GENERIC.get(k, 0))
            merged[-1] = (last[0], max(last[1], end), best)
        else:
            merged.append((start, end, kind))
    return merged


def overlaps(spans: list[Span], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e, _ in spans)


def apply_spans(line: str, spans: list[Span]) -> str:
    """The line with each (merged, ordered) span replaced by its `[REDACTED:<type>]` marker."""
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        out.append(line[pos:start])
        out.append(MARK.format(kind))
        pos = end
    out.append(line[pos:])
    return "".join(out)
