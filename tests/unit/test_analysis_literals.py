"""Required literals: what every match of a rule contains, and the rule pack's prefilter on them.

The prefilter may only skip a search that could not match: the pack's hits must equal a plain
search of every rule, on real lines and on case and Unicode variants of them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.test_analysis_rules import FAMILIES
from workflowai.analysis.literals import Requirement, RuleGate, required_literals
from workflowai.analysis.rules import Rule, RulePack, default_pack

REPO = Path(__file__).resolve().parents[2]
LONG_S, KELVIN, DOTTED_I = "\u017f", "\u212a", "\u0130"  # case-fold to s, k, i in `re`


@pytest.mark.parametrize(
    ("pattern", "flags", "literals", "ignore_case"),
    [
        (
            r"Traceback \(most recent call last\):",
            0,
            ("Traceback (most recent call last):",),
            False,
        ),
        # the longest run of plain characters wins
        (r"^error\[(?P<code>E\d{4})\]: (?P<message>.+)", 0, ("error[",), False),
        # an alternation every match goes through: one literal per branch
        (r"(?:Connection refused|ECONNREFUSED)", 0, ("Connection refused", "ECONNREFUSED"), False),
        # a repeat of at least one keeps its literal; lowercased when case is ignored
        (r"(?:ab)+ Timed Out", re.IGNORECASE, (" timed out",), True),
        (r"x(?i:Timed) out", 0, ("timed",), True),  # a local (?i): the whole test lowercase
        # an optional part's literal is not required
        (r"(?:Fatal: )?boom", 0, ("boom",), False),
        (r"a{0}bc", 0, ("bc",), False),
        # inline flags: a global (?i), verbose mode's escaped space and comment
        (r"(?i)Build FAILED", 0, ("build failed",), True),
        (r"(?x) Build \  FAILED  # the summary", 0, ("Build FAILED",), False),
        # an atomic group's literal is required; a lookahead's text is not consumed
        (r"(?>atomic)x", 0, ("atomic",), False),
        (r"(?=look)ahead", 0, ("ahead",), False),
    ],
)
def test_required_literals_are_the_ones_every_match_contains(
    pattern: str, flags: int, literals: tuple[str, ...], ignore_case: bool
) -> None:
    assert required_literals(pattern, flags) == Requirement(literals, ignore_case)


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"\d+\s+\w+", 0),  # classes only
        (r"(?:error)?\d+", 0),  # the only literal is optional
        (r"(?:error|\d+)", 0),  # one branch without a literal
        (r"k\u212a", re.IGNORECASE),  # a non-ASCII literal compared without case
    ],
)
def test_no_requirement_where_no_literal_is_certain(pattern: str, flags: int) -> None:
    assert required_literals(pattern, flags) is None


def test_an_invalid_pattern_raises_as_compile_would() -> None:
    with pytest.raises(re.error):
        required_literals(r"(unclosed", 0)


def test_the_gate_lets_through_the_rules_whose_literals_the_line_contains() -> None:
    gate = RuleGate(
        [
            required_literals(r"Connection refused|ECONNREFUSED", 0),
            required_literals(r"\d+ tests? failed", re.IGNORECASE),
            None,  # no requirement: always searched
            required_literals(r"refused", 0),
        ]
    )
    assert gate.rules_for("curl: (7) Connection refused") == [0, 2, 3]
    assert gate.rules_for("3 TESTS FAILED") == [1, 2]
    assert gate.rules_for("all good") == [2]
    # overlapping literals are all found: "ECONNREFUSED" holds no lowercase "refused"
    assert gate.rules_for("ECONNREFUSED refused") == [0, 2, 3]


def test_the_gate_searches_case_insensitive_rules_on_every_non_ascii_line() -> None:
    # re.IGNORECASE matches the long s for `s`, and str.lower() keeps it
    gate = RuleGate([required_literals("secret", re.IGNORECASE), required_literals("x", 0)])
    line = f"the {LONG_S}ecret"
    assert re.search("secret", line, re.IGNORECASE)
    assert line.lower() == line
    assert gate.rules_for(line) == [0]
    assert gate.rules_for("nothing here") == []
    assert gate.rules_for("A SECRET") == [0]
    assert RuleGate([]).rules_for("anything") == []


def _plain_hits(pack: RulePack, line: str) -> list[tuple[str, dict[str, str]]]:
    hits = []
    for rule in pack.rules:
        found = re.compile(rule.pattern, re.IGNORECASE if rule.ignore_case else 0).search(line)
        if line and found is not None:
            hits.append((rule.id, {k: v for k, v in found.groupdict().items() if v is not None}))
    return hits


def _lines() -> list[str]:
    files = sorted((REPO / "examples").glob("*.log")) + sorted(
        (REPO / "tests" / "fixtures" / "logs").glob("*.log")
    )
    lines = [line for path in files for line in path.read_text("utf-8", "replace").splitlines()]
    lines += [family[0] for family in FAMILIES]  # a line for each rule family
    variants = [v for line in lines for v in (line.upper(), line.lower(), line.swapcase())]
    # Unicode case folding: these match ASCII letters under re.IGNORECASE
    folded = [
        line.replace("s", LONG_S).replace("k", KELVIN).replace("i", DOTTED_I) for line in lines
    ]
    return lines + variants + folded


def test_the_pack_finds_what_a_plain_search_of_every_rule_finds() -> None:
    pack = default_pack()
    lines = _lines()
    assert len(lines) > 1000
    mismatched = [
        line
        for line in lines
        if [(h.rule.id, h.groups) for h in pack.match(line)] != _plain_hits(pack, line)
    ]
    assert mismatched == []
    # and the lines exercise the rules: most rules match somewhere
    matched = {h.rule.id for line in lines for h in pack.match(line)}
    assert len(matched) > len(pack.rules) // 3


def test_a_rule_without_a_certain_literal_is_still_searched() -> None:
    rule = Rule(id="digits", category="test", weight=0.5, pattern=r"(?:FAIL|\d+) tests")
    pack = RulePack([rule])
    assert [h.rule.id for h in pack.match("3 tests")] == ["digits"]
    assert [h.rule.id for h in pack.match("FAIL tests")] == ["digits"]
    assert pack.match("no match here") == []
