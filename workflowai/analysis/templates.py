"""Drain-style masking: a log line -> its template, with run-specific tokens replaced.

Two runs of the same job differ in timestamps, durations, ids, temp paths, ports and counters;
masking those makes their lines comparable (baseline push-down) and their failures hashable
(signatures). Order matters: specific shapes (uuid, timestamp, path) before bare numbers.
"""

from __future__ import annotations

import re

_MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\[REDACTED:[\w-]+\]"), "<SECRET>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<UUID>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?\b"
        ),
        "<TS>",
    ),
    (re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<TIME>"),
    (
        re.compile(
            r"(?:/tmp|/var/folders|/private/var|[A-Za-z]:\\\\Users\\\\[^\\\s]+\\\\AppData\\\\Local"
            r"\\\\Temp|/home/[^/\s]+|/Users/[^/\s]+|/builds/[^/\s]+|/github/workspace|"
            r"/home/runner/work/[^/\s]+|/var/lib/jenkins/workspace/[^/\s]+)(?:/[^\s:'\",)]*)?"
        ),
        "<PATH>",
    ),
    (re.compile(r"\b(?:0x)?(?=[a-f]*\d)[0-9a-f]{7,64}\b", re.I), "<HEX>"),
    (
        re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds?|m|min|minutes?|h|µs|us|ns)\b"),
        "<DUR>",
    ),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:[KMGT]i?B|bytes|kB)\b", re.I), "<SIZE>"),
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+(?::\d+)?\b"), "<IP>"),
    (re.compile(r"(?<!\w)\d+(?:[.,]\d+)*"), "<N>"),
    (re.compile(r"\s+"), " "),
]


def mask_line(text: str) -> str:
    """The line's template: variable tokens masked, whitespace collapsed, ends trimmed."""
    masked = text
    for pattern, token in _MASKS:
        masked = pattern.sub(token, masked)
    return masked.strip()
