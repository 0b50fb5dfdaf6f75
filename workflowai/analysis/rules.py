r"""The rule pack: ordered, data-driven regexes (YAML files in `rules/`) that mark failure lines.

Each rule has an id, a `Category`, an ecosystem, a weight in (0, 1] and a pattern; `before` and
`after` say how much context that kind of message needs (a traceback needs the lines after
its header, an exception line the frames before it). Files load in name order, rules in file
order. Each rule is searched on its own: one alternation of every pattern was measured slower
than the separate searches (Python's `re` tries every branch at every position). Only the
rules whose required literals the line contains are searched (`literals.py`, one pass over
the line for all rules): most lines match none. Patterns that start with an unbounded class
anchor it at a token start (`(?<![^\s(])...`) so a long line without spaces costs linear,
not quadratic, time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis.literals import RuleGate, required_literals
from workflowai.analysis.report import Category
from workflowai.errors import ConfigError


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: Category
    ecosystem: str = "generic"
    weight: float = Field(gt=0.0, le=1.0)
    pattern: str
    ignore_case: bool = False
    before: int = Field(default=0, ge=0, le=50)
    after: int = Field(default=0, ge=0, le=50)
    # the CI runner reporting a failed step: the first such line closes the failing output
    anchor: bool = False

    @property
    def generic(self) -> bool:
        return self.ecosystem in {"generic", "ci"} or self.category is Category.UNKNOWN


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    groups: dict[str, str]


class RulePack:
    """Compiled rules; `match(line)` returns every rule the line matches, in pack order."""

    def __init__(self, rules: list[Rule]) -> None:
        ids = [rule.id for rule in rules]
        if len(ids) != len(set(ids)):
            raise ConfigError(f"duplicate rule ids in the rule pack: {sorted(ids)}")
        self.rules = rules
        flags = [re.IGNORECASE if r.ignore_case else 0 for r in rules]
        try:
            compiled = [re.compile(r.pattern, f) for r, f in zip(rules, flags, strict=True)]
            required = [required_literals(r.pattern, f) for r, f in zip(rules, flags, strict=True)]
        except re.error as exc:
            raise ConfigError(f"invalid rule pattern: {exc}") from exc
        self._compiled = compiled
        self._gate = RuleGate(required)

    def match(self, line: str) -> list[RuleHit]:
        if not line:
            return []
        hits: list[RuleHit] = []
        for i in self._gate.rules_for(line):  # ascending: pack order
            found = self._compiled[i].search(line)
            if found is not None:
                groups = {k: v for k, v in found.groupdict().items() if v is not None}
                hits.append(RuleHit(rule=self.rules[i], groups=groups))
        return hits

    def by_id(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def load_rules(folder: Path | None = None) -> list[Rule]:
    """Rules from every `*.yaml` in `folder` (default: the packaged pack), in file-name order.

    Raises ConfigError on an unreadable file or an invalid rule.
    """
    root = folder if folder is not None else Path(str(resources.files(__package__) / "rules"))
    rules: list[Rule] = []
    for path in sorted(root.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            rules.extend(Rule.model_validate(item) for item in data.get("rules", []))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"bad rule file {path.name}: {exc}") from exc
    return rules


@lru_cache(maxsize=1)
def default_pack() -> RulePack:
    """The packaged rule pack, compiled once per process."""
    return RulePack(load_rules())
