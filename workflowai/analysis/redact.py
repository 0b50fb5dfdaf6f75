"""Secret redaction: applied to every log line before anything is stored, shown or sent.

A secret becomes `[REDACTED:<type>]` (other modules mask on that form); `Redactor.counts`
counts redactions by type, never values. Each line is redacted in place, so line numbers never
move. What is recognized, and where:
- `redact_shapes`: values whose format says what they are (cloud, VCS, registry, SaaS tokens,
  JWTs, one-line private keys), under any name;
- `redact_context`: values recognized by what carries them (secret-named assignments in env,
  YAML, JSON and URL-encoded forms; flags and commands; Authorization and cookie headers; URL
  credentials; random values under non-id names);
- `redact_spans` combines them on one line; `redact_wrap` finds a token wrapped across two;
- this module: what needs the lines around it, held as state in the `Redactor` (one per log):
  PEM private key blocks, `password:` with its value on the next line (or a YAML block under
  it), Kubernetes Secret `data:`/`stringData:` blocks, GitHub Actions `::add-mask::V` (V is
  then masked wherever it appears later), and a token wrapped onto the next line.

Wrapped tokens need a look-back: the first half of a token cut by a terminal or `fold` sits at
the end of line N and may look like nothing until line N+1 completes it. The redactor keeps
line N's raw text and spans; when line N+1 starts where line N's token characters stopped,
`redact_wrap` searches the two runs joined, and a secret crossing the break redacts both
halves: line N+1's is redacted at once, line N's corrected text is offered by
`take_amendment()`. We chose a correction over delaying every line by one because
`normalize.read_log` decides what to keep from the line it just read (candidate prefilter,
context ring, tail): a delay would shift all of that by a line, while a correction replaces one
line where it is held, and only in the rare case of a wrap. The correction is for the line
given to the previous `redact_line` call; a caller that skipped lines in between must ignore
it. Everything else looks forward only: state set by line N (a key block, `password:`,
`data:`, a mask) applies to the lines after it, never to lines already kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from workflowai.analysis.redact_context import TRAILING_NAME
from workflowai.analysis.redact_names import is_secret_name, is_secret_value
from workflowai.analysis.redact_shapes import BEGIN_KEY, END_KEY, KEY_MARKERS, Span
from workflowai.analysis.redact_spans import (
    MARK,
    NAMES,
    apply_spans,
    find_spans,
    is_base64_value,
    merge_spans,
    overlaps,
)
from workflowai.analysis.redact_wrap import wrapped_secret

__all__ = ["MARK", "Redactor", "find_spans", "redact_lines", "redact_text"]

# a key block that never ends stops being redacted after this many lines (bounded damage)
MAX_KEY_BLOCK_LINES = 200
MAX_MASKS = 512
MIN_MASK_LENGTH = 4  # GitHub masks shorter values too; here they would blank ordinary words

_ADD_MASK = re.compile(r"::add-mask::(?P<value>.*)$")
_DATA_BLOCK = re.compile(r"^(?P<indent>\s*)(?P<kind>data|stringData|binaryData):\s*$")
_JSON_DATA_BLOCK = re.compile(r'^(?P<indent>\s*)"(?:data|stringData)"\s*:\s*\{\s*$')
_YAML_ITEM = re.compile(r"^\s*(?:-\s+)?[^\s:#][^:]*?:\s+(?P<value>\S.*?)\s*$")
_JSON_ITEM = re.compile(r'^\s*"[^"]+"\s*:\s*"(?P<value>[^"]*)"')
_PROSE = re.compile(r"[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}")
_ARMOR_HEADER = re.compile(r"^\s*(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset):")
_STATE_ENDINGS = frozenset(":{=|>-+")
_MARKED = MARK.split("{", 1)[0]  # `[REDACTED:`: text an earlier pass already redacted


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class Redactor:
    """Stateful line redactor: one per log, fed every line in order (see the module docstring)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._key_block = 0  # lines seen inside a PEM private key block
        self._key_counted = False  # the block's redaction counted (once, with its first body)
        self._pending: tuple[int, bool] | None = None  # (key line's indent, YAML block scalar?)
        self._block_counted = False
        self._data_block: tuple[int, str] | None = None  # (indent, "data"/"stringData"/"json")
        self._masks: dict[str, None] = {}
        self._mask_re: re.Pattern[str] | None = None
        self._prev: tuple[str, list[Span]] | None = None  # raw line N and its merged spans
        self._amendment: str | None = None

    def redact_line(self, line: str) -> str:
        """One line with every secret replaced by `[REDACTED:<type>]`."""
        self._amendment = None
        prev, self._prev = self._prev, None
        quiet: list[Span] = []  # spans already counted (a key body, a block's later lines)
        spans: list[Span] = []
        rest = self._stateful(line, spans, quiet)
        if rest < 0:
            return self._finish(line, spans, quiet)
        spans += find_spans(line)
        self._mask_spans(line, spans)
        self._enter_states(line, rest, spans)
        if rest == 0 and prev is not None and not self._key_block:
            self._join(prev, line, spans, quiet)
        text = self._finish(line, spans, quiet)
        if rest == 0 and not self._key_block and self._pending is None:
            self._prev = (line, merge_spans(spans + quiet))
        return text

    def take_amendment(self) -> str | None:
        """The previous line re-redacted, when this line completed a token wrapped across both."""
        amendment, self._amendment = self._amendment, None
        return amendment

    def redact_fragment(self, text: str) -> str:
        """Redact text that is not a log line (a step name): no state is read or changed, except
        that values masked with `::add-mask::` so far are masked here too."""
        spans = find_spans(text)
        self._mask_spans(text, spans)
        return self._finish(text, spans, [])

    # -- state ------------------------------------------------------------------------------

    def _stateful(self, line: str, spans: list[Span], quiet: list[Span]) -> int:
        """Apply the state left by earlier lines. Returns -1 when the whole line is decided,
        else the offset where ordinary redaction must look (after a key block's end)."""
        if self._key_block:
            end = END_KEY.search(line)
            if end is not None or line.lstrip().startswith("Private-MAC:"):
                self._key_block = 0
                stop = end.start() if end is not None else len(line)
                if line[:stop].strip():
                    quiet.append((_indent(line), stop, "private-key"))
                return end.end() if end is not None and end.end() < len(line) else -1
            self._key_block += 1
            if self._key_block > MAX_KEY_BLOCK_LINES or (
                _PROSE.search(line) and not _ARMOR_HEADER.match(line)
            ):
                self._key_block = 0  # a truncated key: this line is ordinary output again
                return 0
            body = line.strip()
            if body and not body.startswith(_MARKED):  # not already redacted by an earlier pass
                first = not self._key_counted
                self._key_counted = True
                span = (_indent(line), len(line.rstrip()), "private-key")
                (spans if first else quiet).append(span)
            return -1
        if self._pending is not None:
            indent, block = self._pending
            start = _indent(line)
            value = line[start:].rstrip()
            if block and start > indent and "PRIVATE KEY" in line:
                self._pending = None  # `key: |` holding a PEM: the key block takes over
            elif block and start > indent:  # a YAML block scalar's lines: counted once
                if not value.startswith(_MARKED):
                    first = not self._block_counted
                    self._block_counted = True
                    span = (start, len(value) + start, "secret-assignment")
                    (spans if first else quiet).append(span)
                return -1
            self._pending = None
            if (
                not block
                and value
                and not any(c.isspace() for c in value)
                and _is_lone_value(value)
            ):
                spans.append((start, start + len(value), "secret-assignment"))
                return -1
        if self._data_block is not None:
            return self._in_data_block(line, spans)
        return 0

    def _in_data_block(self, line: str, spans: list[Span]) -> int:
        assert self._data_block is not None
        indent, kind = self._data_block
        if kind == "json":
            item = _JSON_ITEM.match(line)
            if "}" in line and item is None:
                self._data_block = None
                return 0
        else:
            if _indent(line) <= indent:
                self._data_block = None
                return 0
            item = _YAML_ITEM.match(line)
            if item is not None and item.group("value") in ("|", ">", "|-", ">-"):
                self._pending, self._block_counted = (_indent(line), True), False
                return -1
        if item is not None:
            value = item.group("value").strip("\"'")
            secret = is_base64_value(value) if kind != "stringData" else is_secret_value(value)
            if secret:
                start = line.index(value, item.start("value"))
                spans.append((start, start + len(value), "kubernetes-secret"))
        return -1 if item is not None else 0

    def _enter_states(self, line: str, rest: int, spans: list[Span]) -> None:
        if "::add-mask::" in line:
            self._add_mask(line, spans)
        if "PRIVATE KEY" in line or "PuTTY" in line:
            begin = BEGIN_KEY.search(line, rest) or KEY_MARKERS.search(line, rest)
            if begin is not None and END_KEY.search(line, begin.end()) is None:
                self._key_block = 1  # the header stays visible; the body lines are redacted
                spans[:] = [s for s in spans if s[2] != "private-key"]
                rest_of_line = line[begin.end() :].strip()
                self._key_counted = bool(rest_of_line) and not rest_of_line.startswith(_MARKED)
                if self._key_counted:
                    spans.append((begin.end(), len(line), "private-key"))
                return
        tail = line[-2:] if line[-1:] not in " \t" else line.rstrip()[-2:]
        if tail[-1:] not in _STATE_ENDINGS:
            return
        if (tail[-1:] in ":{") and (
            data := _DATA_BLOCK.match(line) or _JSON_DATA_BLOCK.match(line)
        ):
            kind = data.groupdict().get("kind") or "json"
            self._data_block = (len(data.group("indent")), kind)
            return
        if (tail[-1:] in ":=|>" or tail in ("|-", ">-", "|+", ">+")) and NAMES.search(line.lower()):
            trailing = TRAILING_NAME.search(line)
            if trailing is not None and is_secret_name(trailing.group("name")):
                self._pending = (_indent(line), trailing.group("block") is not None)
                self._block_counted = False

    def _add_mask(self, line: str, spans: list[Span]) -> None:
        match = _ADD_MASK.search(line)
        if match is None:
            return
        start = match.start("value")
        value = match.group("value").strip()
        opener = line[: match.start()].rstrip()[-1:]
        if value[-1:] in "\"'" and value[-1:] == opener:
            value = value[:-1].rstrip()  # `echo "::add-mask::V"` as the shell printed it
        if len(value) < MIN_MASK_LENGTH or not is_secret_value(value):
            return
        start = line.index(value, start)
        spans.append((start, start + len(value), "add-mask"))
        if value not in self._masks and len(self._masks) < MAX_MASKS:
            self._masks[value] = None
            alternatives = sorted(self._masks, key=len, reverse=True)
            self._mask_re = re.compile("|".join(re.escape(v) for v in alternatives))

    def _mask_spans(self, line: str, spans: list[Span]) -> None:
        if self._mask_re is not None:
            spans.extend((m.start(), m.end(), "add-mask") for m in self._mask_re.finditer(line))

    def _join(
        self, prev: tuple[str, list[Span]], line: str, spans: list[Span], quiet: list[Span]
    ) -> None:
        """A token wrapped from line N: redact its part here, offer line N corrected."""
        prev_line, prev_spans = prev
        found = wrapped_secret(prev_line, line)
        if found is None:
            return
        start, end, kind = found
        if overlaps(prev_spans, start, len(prev_line)) or overlaps(spans, 0, end):
            quiet.append((0, end, kind))  # that secret was already counted on one side
        else:
            spans.append((0, end, kind))
        fixed = merge_spans([*prev_spans, (start, len(prev_line), kind)])
        if fixed != prev_spans:
            self._amendment = apply_spans(prev_line, fixed)

    def _finish(self, line: str, spans: list[Span], quiet: list[Span]) -> str:
        if not spans and not quiet:
            return line
        merged = merge_spans(spans + quiet)
        for start, end, kind in merged:
            if any(s < end and start < e for s, e, _ in spans):
                self.counts[kind] += 1
        return apply_spans(line, merged)


def _is_lone_value(value: str) -> bool:
    """The only token of the line after `password:`: a value, not `username:` or `- item`."""
    if value.endswith((":", "=", "{", "[", ",")) or value.startswith(("-", "#", "//")):
        return False
    return is_secret_value(value.strip("\"'"))


def redact_lines(lines: Iterable[str], redactor: Redactor | None = None) -> Iterator[str]:
    """Redact a stream of lines, yielding each one after the next is seen (for amendments)."""
    redactor = redactor or Redactor()
    held: str | None = None
    for line in lines:
        text = redactor.redact_line(line)
        amendment = redactor.take_amendment()
        if held is not None:
            yield amendment if amendment is not None else held
        held = text
    if held is not None:
        yield held


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """Redact a whole text (any number of lines); returns it with counts by secret type."""
    redactor = Redactor()
    lines = list(redact_lines(text.split("\n"), redactor))
    return "\n".join(lines), dict(redactor.counts)
