"""Per-line cleaning of raw CI log lines: ANSI, carriage returns, timestamps, group markers.

Pure functions on one decoded line; `normalize.py` streams a whole log through them.
`clean_line` returns the visible text plus what the line says about the log's structure
(a step starting or ending, a marker to hide), so line numbers never shift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# CSI sequences, OSC sequences (terminated by BEL or ST) and two-byte escapes
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
_BACKSPACE = re.compile(r"[^\x08\n]\x08")

# GitHub Actions `2024-01-01T00:00:00.0000000Z `, GitLab `2024-01-01T00:00:00.123456Z 00O+ `,
# Jenkins timestamper `[2024-01-01T00:00:00.000Z] ` or `[00:00:01] `
_TIMESTAMP = re.compile(
    r"^(?:\ufeff)?(?:"
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?(?: \d\d[OE]\+?)? ?"
    r"|\[\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\] ?"
    r"|\[\d\d:\d\d:\d\d(?:\.\d+)?\] ?"
    r")"
)

_GHA_GROUP = re.compile(r"^(?:##\[group\]|::group::)(?P<name>.*)$")
_GHA_ENDGROUP = re.compile(r"^(?:##\[endgroup\]|::endgroup::)\s*$")
_GITLAB_START = re.compile(r"section_start:\d+:(?P<id>[\w.\-]+)(?:\[[^\]]*\])?")
_GITLAB_END = re.compile(r"section_end:\d+:(?P<id>[\w.\-]+)")
_JENKINS_STAGE = re.compile(r"^\[Pipeline\] \{ \((?P<name>[^)]*)\)\s*$")
_JENKINS_MARKER = re.compile(r"^\[Pipeline\] (?:stage|\{|\}|// \w+|node|withEnv|timeout)(?:\s.*)?$")
_TRAVIS_FOLD = re.compile(r"travis_fold:(?P<kind>start|end):(?P<id>[\w.\-]+)")
_TRAVIS_TIME = re.compile(r"travis_time:(?:start|end):[\w:,=.\-]*")


@dataclass(frozen=True)
class CleanLine:
    text: str
    hidden: bool = False  # a structural marker: counted, never shown
    step_start: str | None = None
    step_end: bool = False
    provider: str | None = None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    """A progress line rewritten with CR shows only its final state (the last non-blank part)."""
    if "\r" not in text:
        return text
    parts = [p for p in text.split("\r") if p.strip()]
    return parts[-1] if parts else ""


def _apply_backspaces(text: str) -> str:
    for _ in range(64):
        if "\x08" not in text:
            break
        text = _BACKSPACE.sub("", text)
    return text.replace("\x08", "")


def clean_line(raw: str) -> CleanLine:
    """Clean one decoded line (without its newline) and classify structural markers."""
    text = strip_ansi(raw.rstrip("\r\n"))
    provider: str | None = None
    step_start: str | None = None
    step_end = False
    marker_only = False
    if "travis_" in text:
        provider = "travis"
        for m in _TRAVIS_FOLD.finditer(text):
            if m.group("kind") == "start":
                step_start = m.group("id")
            else:
                step_end = True
        stripped = _TRAVIS_TIME.sub("", _TRAVIS_FOLD.sub("", text))
        marker_only = not stripped.replace("\r", "").strip()
        text = stripped
    if "section_" in text:
        start = _GITLAB_START.search(text)
        end = _GITLAB_END.search(text)
        if start or end:
            provider = "gitlab"
            rest = _GITLAB_END.sub("", _GITLAB_START.sub("", text))
            title = collapse_carriage_returns(rest).strip()
            if start:
                step_start = title or start.group("id")
            step_end = step_end or bool(end)
            # the section title is shown by GitLab as the step's header: keep it hidden too
            return CleanLine(
                "", hidden=True, step_start=step_start, step_end=step_end, provider=provider
            )
    text = _apply_backspaces(collapse_carriage_returns(text))
    text = _CONTROL.sub("", text)
    ts = _TIMESTAMP.match(text)
    if ts and ts.end() > 0:
        if text.startswith("20") and "T" in ts.group(0):
            provider = provider or "timestamped"
        text = text[ts.end() :]
    if m := _GHA_GROUP.match(text):
        return CleanLine(
            "", hidden=True, step_start=m.group("name").strip() or None, provider="github-actions"
        )
    if _GHA_ENDGROUP.match(text):
        return CleanLine("", hidden=True, provider="github-actions")
    if text.startswith("[Pipeline]"):
        if m := _JENKINS_STAGE.match(text):
            return CleanLine("", hidden=True, step_start=m.group("name"), provider="jenkins")
        if _JENKINS_MARKER.match(text):
            return CleanLine("", hidden=True, provider="jenkins")
    if marker_only:
        return CleanLine(
            "", hidden=True, step_start=step_start, step_end=step_end, provider=provider
        )
    return CleanLine(text, step_start=step_start, step_end=step_end, provider=provider)
