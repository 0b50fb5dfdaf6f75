"""Tokens wrapped onto the next line: find a secret that crosses the break between two lines.

A terminal, `fold` or `base64` cuts a long token at its width: line N ends with its first part
(often too short to be recognized alone) and line N+1 starts with the rest. Line N's trailing
run of token characters and line N+1's leading run are searched joined, with some context
before the cut (`password=`, `Bearer `). The join is refused when the two runs are plain words
(`foo` + `bar` meet at every line break) and when line N+1's part reads as its own text: a word
(`Downloading`), an assignment (`HOME=/home/runner` after an env dump's secret) or reaches past
the run. Cost: one extra `find_spans` on a short window, only where both runs are mixed.
"""

from __future__ import annotations

import re

from workflowai.analysis.redact_shapes import Span
from workflowai.analysis.redact_spans import find_spans

# a cut token: anything but spaces, quotes and brackets (passwords hold `$;!&~^`)
_RUN = re.compile(r"[^\s\"'<>()\[\]{}|\\`]+")  # matched at a line's start or reversed end
NOT_TOKEN = frozenset(" \t\"'<>()[]{}|\\`")
_NAME_EQ = re.compile(r"[^A-Za-z0-9]*[A-Za-z_][A-Za-z0-9_]{2,}=[^=]")  # `++NAME=v`, not `x==`
_DIGIT_OR_SEP = re.compile(r"[0-9=%]")
_WORD = r"(?:[A-Z]?[a-z]+|[A-Z]+)"
_WORDLIKE = re.compile(rf"{_WORD}(?:[-_.]{_WORD})*[.:,]?")
_VOWELS = re.compile(r"[aeiouAEIOU]")
_CONTEXT = 80  # characters before the cut searched with it (a name, `Bearer `, `://u:`)
_MIN_JOINED = 16
_MAX_RUN = 512


def _is_word(text: str) -> bool:
    """`Downloading`, `build-essential`: a word starting the next line, not a token's tail (a
    long run of letters with almost no vowels, `Kyikvnfcf`, is a tail)."""
    if not _WORDLIKE.fullmatch(text):
        return False
    return len(text) < 8 or len(_VOWELS.findall(text)) >= 0.2 * len(text)


def wrapped_secret(prev_line: str, line: str) -> tuple[int, int, str] | None:
    """A secret crossing the break between `prev_line` and `line`, as (start of its part on
    `prev_line`, end of its part on `line`, type); None when there is none."""
    if prev_line[-1:] in NOT_TOKEN or line[:1] in NOT_TOKEN:
        return None
    head = _RUN.match(line, 0, _MAX_RUN)
    tail = _RUN.match(prev_line[: -_MAX_RUN - 1 : -1])  # the run ending line N, reversed
    if head is None or tail is None or head.end() + tail.end() < _MIN_JOINED:
        return None
    run = tail.group() + head.group()
    if (run.islower() or run.isupper()) and not _DIGIT_OR_SEP.search(run):
        return None
    cut = max(0, len(prev_line) - tail.end() - _CONTEXT)
    left = prev_line[cut:]
    window = left + line[: head.end() + _CONTEXT]
    crossing: list[Span] = [s for s in find_spans(window) if s[0] < len(left) < s[1]]
    if not crossing:
        return None
    start, end, kind = max(crossing, key=lambda span: span[1] - span[0])
    start, end = cut + start, end - len(left)  # in line N's / this line's coordinates
    part = line[:end]
    if end > head.end() or _is_word(part) or _NAME_EQ.match(part):
        return None  # `Downloading`, `NAME=v`, `++(x)` after a token: the next line's own text
    if not any(map(str.isalnum, part)):
        return None
    return start, end, kind
