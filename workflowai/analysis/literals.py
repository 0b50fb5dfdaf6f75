"""Literals a regex cannot match without: which rules are worth searching on a line.

Most log lines match none of the rule pack's patterns, and a failed `re.search` still walks the
line (Python's `re` is a backtracking engine without a literal prefilter of its own).
`required_literals` reads from the parsed pattern literals every match contains: a run of plain
characters in the pattern's main sequence, or one per branch of an alternation every match
goes through. Anything it does not understand yields no requirement (the regex always runs),
so a missing or changed parser module only costs speed, never a match. `RuleGate` finds, in
one pass over a line, every rule whose requirement the line meets (an Aho-Corasick automaton
over all rules' literals: testing ~380 literals one `in` at a time cost more than the regex
searches it saved).

Case-insensitive patterns compare lowercased text, and only on ASCII lines (Unicode case
folding lets e.g. U+017F LATIN SMALL LETTER LONG S match `s`, and `str.lower` keeps it); a
case-insensitive literal with a non-ASCII character yields no requirement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

try:  # the parser `re.compile` uses: private, hence the guard (no prefilter without it)
    from re import _constants as sre_constants
    from re import _parser as sre_parser
except ImportError:  # pragma: no cover - Python versions without these modules
    sre_parser = None  # type: ignore[assignment]
    sre_constants = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Requirement:
    """A match contains at least one of `literals` (lowercase where `ignore_case`)."""

    literals: tuple[str, ...]
    ignore_case: bool


class RuleGate:
    """The rules (by index) a line may match, given each rule's Requirement or None."""

    def __init__(self, requirements: Sequence[Requirement | None]) -> None:
        self._ungated = [i for i, req in enumerate(requirements) if req is None]
        self._folded_rules = [i for i, req in enumerate(requirements) if req and req.ignore_case]
        exact: dict[str, set[int]] = {}  # literal -> the rules it gates
        folded: dict[str, set[int]] = {}  # lowercase literal -> the rules it gates
        for i, req in enumerate(requirements):
            if req is None:
                continue
            table = folded if req.ignore_case else exact
            for literal in req.literals:
                table.setdefault(literal, set()).add(i)
        self._exact, self._folded = _automaton(exact), _automaton(folded)

    def rules_for(self, line: str) -> list[int]:
        """Indices, ascending, of the rules whose requirement `line` meets or that have none."""
        found = set(self._ungated)
        if self._exact is not None:
            for _end, rules in self._exact.iter(line):
                found.update(rules)
        if self._folded is not None:
            if line.isascii():
                for _end, rules in self._folded.iter(line.lower()):
                    found.update(rules)
            else:  # Unicode case folding: see the module docstring
                found.update(self._folded_rules)
        return sorted(found)


def _automaton(owners: dict[str, set[int]]) -> Any:
    """An automaton yielding, for each literal found, the rules it gates; None when empty."""
    if not owners:
        return None
    automaton = ahocorasick.Automaton()
    for literal, rules in owners.items():
        automaton.add_word(literal, tuple(sorted(rules)))
    automaton.make_automaton()
    return automaton


def required_literals(pattern: str, flags: int = 0) -> Requirement | None:
    """What every match of `pattern` (compiled with `flags`) contains; None when nothing is
    known. Raises re.error for an invalid pattern, as `re.compile` would."""
    if sre_parser is None:  # pragma: no cover
        return None
    parsed = sre_parser.parse(pattern, flags)
    try:
        ignore_case = bool(parsed.state.flags & re.IGNORECASE) or _adds_ignore_case(parsed)
        found = _of_sequence(list(parsed))
    except (AttributeError, TypeError, ValueError, IndexError):  # a parse tree of another shape
        return None
    if not found or any(not literal for literal in found):
        return None
    if ignore_case:
        if not all(literal.isascii() for literal in found):
            return None
        found = [literal.lower() for literal in found]
    return Requirement(literals=tuple(dict.fromkeys(found)), ignore_case=ignore_case)


def _adds_ignore_case(items: Any) -> bool:
    """A local `(?i:...)` group anywhere: the whole pattern is then treated as ignoring case."""
    for op, av in items:
        if op is sre_constants.SUBPATTERN:
            if av[1] & re.IGNORECASE or _adds_ignore_case(av[3]):
                return True
        elif op is sre_constants.BRANCH:
            if any(_adds_ignore_case(branch) for branch in av[1]):
                return True
        elif op in _REPEATS:
            if _adds_ignore_case(av[2]):
                return True
        elif op is _ATOMIC and _adds_ignore_case(av):
            return True
    return False


def _of_sequence(items: Sequence[tuple[Any, Any]]) -> list[str] | None:
    """The most selective requirement among a sequence's parts (each part is required)."""
    candidates: list[list[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre_constants.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(["".join(run)])
            run = []
        part = _of_item(op, av)
        if part:
            candidates.append(part)
    if run:
        candidates.append(["".join(run)])
    if not candidates:
        return None
    # the alternative set whose shortest literal is longest rejects the most lines
    return max(candidates, key=lambda literals: (min(map(len, literals)), -len(literals)))


def _of_item(op: Any, av: Any) -> list[str] | None:
    if op is sre_constants.SUBPATTERN:
        return _of_sequence(list(av[3]))
    if op is _ATOMIC:
        return _of_sequence(list(av))
    if op in _REPEATS:
        low, _high, item = av
        return _of_sequence(list(item)) if low >= 1 else None
    if op is sre_constants.BRANCH:
        branches = [_of_sequence(list(branch)) for branch in av[1]]
        if any(not branch for branch in branches):
            return None
        return [literal for branch in branches if branch for literal in branch]
    return None  # classes, anchors, lookarounds, back references: no literal of their own


if sre_constants is not None:
    _REPEATS = {
        sre_constants.MAX_REPEAT,
        sre_constants.MIN_REPEAT,
        *([sre_constants.POSSESSIVE_REPEAT] if hasattr(sre_constants, "POSSESSIVE_REPEAT") else []),
    }
    _ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)
else:  # pragma: no cover
    _REPEATS = set()
    _ATOMIC = None
