r"""Grammars: data-driven line formats (YAML in `grammars/`) that turn log lines into findings.

Where a rule (`rules.py`) says "this line is evidence", a grammar says what the line names:
the failing test, the file and line of a compiler error, the package that did not resolve,
the host that did not answer. Each grammar has a `role`:
- `finding`: the line reports one failure of `kind` (the named groups fill `Finding` fields);
- `detail`: the line adds to the nearest finding within `within` lines (a location, expected
  and actual values, the exception of a test);
- `summary`: the line is a runner's total (`failed`, `errors`), for "37 tests failed".
Named groups are `Finding` field names (`test`, `file`, `line`, `column`, `code`, `message`,
`package`, `version`, `requirement`, `command`, `host`, `expected`, `actual`); a trailing
digit allows alternatives (`file2`), and `case` + `name` compose a test id. `classify` lets
the message (or an npm error code) choose the kind: an unreachable host under a dependency
tool is a network error. `location` looks for the file and line on the lines just below
(rustc's ` --> src/main.rs:4:5`) or above (Python's `File "x.py", line 3`), and with
`needs_location` the line is no finding without one; `header: above`
takes the file from the nearest path-only line above (eslint's stylish format), `header:
section` the test from the nearest test-report section header above (pytest's `___ test_x ___`,
needed when the run printed no summary list); a line under no such header is no finding. A fallback
grammar's findings are dropped when any other finding of the same kind exists. `command`
composes the failing command from the groups (`make {target}`: make prints only the target).
Grammars are tried in file-name then file order; for findings, the first match on a line wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis.report import FindingKind
from workflowai.errors import ConfigError


class Role(StrEnum):
    FINDING = "finding"
    DETAIL = "detail"
    SUMMARY = "summary"


class Classify(StrEnum):
    NONE = "none"
    MESSAGE = "message"  # the message text may name a more precise kind
    CODE = "code"  # an npm-style error code names the kind
    COMMAND = "command"  # what the failing command runs names the kind


class Grammar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: Role = Role.FINDING
    kind: FindingKind | None = None
    tool: str | None = None
    ecosystem: str | None = None
    pattern: str
    ignore_case: bool = False
    classify: Classify = Classify.NONE
    location: str | None = Field(default=None, pattern="^(above|below)$")
    header: str | None = Field(default=None, pattern="^(above|section)$")
    within: int = Field(default=12, ge=1, le=200)
    # the format is only this tool's when the location line is there (rustc's ` --> `)
    needs_location: bool = False
    # the command, composed from the groups where the line names only part of it
    command: str | None = None
    fallback: bool = False


@dataclass(frozen=True)
class GrammarHit:
    grammar: Grammar
    fields: dict[str, str]


_SUFFIX = re.compile(r"\d+$")


def _fields(groups: dict[str, str | None]) -> dict[str, str]:
    """Named groups -> Finding field names: `file2` is `file`; first non-empty wins."""
    out: dict[str, str] = {}
    for name, value in groups.items():
        if value is None or not value.strip():
            continue
        base = _SUFFIX.sub("", name)
        out.setdefault(base, value.strip())
    if "test" not in out and "name" in out:
        case = out.get("case")
        out["test"] = f"{case}.{out['name']}" if case else out["name"]
    return out


class GrammarPack:
    """Compiled grammars; `match(line)` returns the finding hit (first) and every detail and
    summary hit."""

    def __init__(self, grammars: list[Grammar]) -> None:
        ids = [g.id for g in grammars]
        if len(ids) != len(set(ids)):
            raise ConfigError(f"duplicate grammar ids: {sorted(ids)}")
        for grammar in grammars:
            if grammar.role is Role.FINDING and grammar.kind is None:
                raise ConfigError(f"grammar {grammar.id} reports a finding but has no kind")
        self.grammars = grammars
        try:
            self._compiled = [
                (g, re.compile(g.pattern, re.IGNORECASE if g.ignore_case else 0)) for g in grammars
            ]
        except re.error as exc:
            raise ConfigError(f"invalid grammar pattern: {exc}") from exc

    @cached_property
    def details(self) -> GrammarPack:
        """The detail grammars alone: what is looked for around a finding."""
        return GrammarPack([g for g in self.grammars if g.role is Role.DETAIL])

    def match(self, line: str) -> list[GrammarHit]:
        hits: list[GrammarHit] = []
        found_finding = False
        for grammar, compiled in self._compiled:
            if grammar.role is Role.FINDING and found_finding:
                continue
            found = compiled.search(line)
            if found is None:
                continue
            hits.append(GrammarHit(grammar=grammar, fields=_fields(found.groupdict())))
            found_finding = found_finding or grammar.role is Role.FINDING
        return hits


def load_grammars(folder: Path | None = None) -> list[Grammar]:
    """Grammars from every `*.yaml` in `folder` (default: the packaged ones), in name order.

    Raises ConfigError on an unreadable file or an invalid grammar.
    """
    root = folder if folder is not None else Path(str(resources.files(__package__) / "grammars"))
    grammars: list[Grammar] = []
    for path in sorted(root.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            grammars.extend(Grammar.model_validate(item) for item in data.get("grammars", []))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"bad grammar file {path.name}: {exc}") from exc
    return grammars


@lru_cache(maxsize=1)
def default_grammars() -> GrammarPack:
    """The packaged grammars, compiled once per process."""
    return GrammarPack(load_grammars())


# where a diagnostic's file and line are printed on a line of their own
_LOCATIONS = [
    # rustc's ` --> src/main.rs:4:5` (a Windows runner prints `C:\\...\\lib.rs:4:5`)
    re.compile(r"^\s*--> (?P<file>(?:[A-Za-z]:)?[^\s:]+):(?P<line>\d+)(?::(?P<column>\d+))?"),
    re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)'),
    re.compile(r"^\s*(?:│\s*)?on (?P<file>[^\s:]+\.tf(?:vars)?) line (?P<line>\d+)"),
    re.compile(
        r"^\s*(?:at |in )?(?P<file>[\w./-]+\.\w{1,6}):(?P<line>\d+)(?::(?P<column>\d+))?:?$"
    ),
]
# a line that is only a path: the file a linter's indented messages below belong to
_HEADER = re.compile(r"^(?P<file>(?:[A-Za-z]:)?[\w@.~/\\-]*[\w-]\.[A-Za-z]\w{0,5})\s*$")


def location_near(lines: dict[int, str], number: int, direction: str) -> dict[str, str]:
    """File/line/column from a location line just below (up to 4) or above (up to 6)."""
    steps = (
        range(number + 1, number + 5) if direction == "below" else range(number - 1, number - 7, -1)
    )
    for other in steps:
        text = lines.get(other)
        if text is None:
            continue
        for pattern in _LOCATIONS:
            found = pattern.match(text)
            if found is not None:
                return {k: v for k, v in found.groupdict().items() if v}
    return {}


_SECTION = re.compile(
    r"^_{3,} (?:(?:ERROR|FAILURE) (?:at (?:setup|teardown) of|collecting) )?"
    r"(?P<test>[\w.\[\]/:-][^ ]*) _{3,}$"
)


def section_above(lines: dict[int, str], number: int, limit: int = 300) -> str | None:
    """The test of the nearest report section header above `number` (pytest's `___ x ___`)."""
    for other in range(number - 1, max(0, number - limit), -1):
        text = lines.get(other)
        if text is not None and text.startswith("_"):
            found = _SECTION.match(text.strip())
            if found is not None:
                return found.group("test")
    return None


def header_above(lines: dict[int, str], number: int, limit: int = 200) -> str | None:
    """The nearest path-only line above `number` (eslint/stylelint stylish output)."""
    for other in range(number - 1, max(0, number - limit), -1):
        text = lines.get(other)
        if text is None:
            continue
        found = _HEADER.match(text)
        if found is not None:
            return found.group("file")
        if text.strip() and not text.startswith((" ", "\t")):
            return None
    return None
