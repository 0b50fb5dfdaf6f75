"""Line scoring: rule hits, weighted by position, failing step, repetition and the baseline.

A `ScoredLine` is a kept log line that matched at least one rule. Its score starts at the
strongest rule weight (plus a little for corroborating rules), then:
- where the log has a failure anchor (the CI runner's first line saying a step failed, a rule
  with `anchor: true`), the failing step's output (from the start of the step holding the
  anchor up to the anchor) keeps its full score, steps before it score less (they passed, so
  their errors were tolerated) and lines after the anchor less still (after-failure hooks,
  cache uploads, cleanup); without an anchor, lines late in the log score higher;
- within one region, only the first line of each kind of evidence (its strongest rule) keeps
  its full score: tools print the root cause first, then cascades and end-of-run summaries;
- generic hits on warning-level lines count less (a warning did not fail the job);
- lines whose masked template also occurs in a passing run (baseline) are pushed down hard;
- templates repeated many times in this log are damped (noise such as retried downloads);
- a line printed again later in the same region (a log file cat'd after the failure, a runner
  that echoes its failures at the end) is a reprint: the first occurrence takes the best score
  of its copies and the copies keep at most `REPRINT_FACTOR` of it, so evidence is shown where
  the tool printed it, in its original context.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from workflowai.analysis.baseline import Baseline
from workflowai.analysis.rules import RuleHit, RulePack
from workflowai.analysis.templates import mask_line

BASELINE_FACTOR = 0.15
POSITION_FLOOR = 0.85  # the first line of the log keeps 85% of its score; the last keeps 100%
EARLIER_STEP_FACTOR = 0.75  # a step before the failing one (plus up to 0.05 by position)
AFTER_ANCHOR_FACTOR = 0.45  # after the CI runner said the step failed
REPEAT_KIND_FACTOR = 0.85  # the second and later line of one kind of evidence in a region
WARNING_FACTOR = 0.6  # a generic hit on a warning-level line
REPRINT_FACTOR = 0.9  # a later copy of a line, against its first occurrence in the region
_WARNING_LEVEL = re.compile(r"^\W{0,3}(?:warn(?:ing)?\b|W: )", re.IGNORECASE)
# a generic hit on a line that reports success ("0 failures") is no evidence
_ZERO_FAILURES = re.compile(
    r"\b0 (?:failures?|errors?|failed)\b|Failures: 0, Errors: 0|\bfailed:? 0\b|errors?=0\b",
    re.IGNORECASE,
)


@dataclass
class ScoredLine:
    number: int
    text: str
    step: str | None
    hits: list[RuleHit]
    rule_weight: float
    score: float
    template: str
    in_baseline: bool = False
    context_before: int = 0
    context_after: int = 0
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def specific(self) -> bool:
        """Matched a rule that knows the tool (not only a generic heuristic)."""
        return any(not hit.rule.generic for hit in self.hits)


def score_lines(
    lines: Iterable[tuple[int, str, str | None]],
    *,
    total_lines: int,
    pack: RulePack,
    baseline: Baseline | None,
    step_starts: Sequence[int] = (),
) -> list[ScoredLine]:
    """Every line that matches a rule, scored (see the module docstring).

    `step_starts`: first line numbers of the log's steps, which bound the failing step.
    """
    scored: list[ScoredLine] = []
    for number, text, step in lines:
        hits = pack.match(text)
        if not hits or (all(h.rule.generic for h in hits) and _ZERO_FAILURES.search(text)):
            continue
        weight = _line_weight(hits)
        groups: dict[str, str] = {}
        for hit in hits:
            groups.update({k: v for k, v in hit.groups.items() if k not in groups})
        template = mask_line(text)
        scored.append(
            ScoredLine(
                number=number,
                text=text,
                step=step,
                hits=hits,
                rule_weight=weight,
                score=weight,
                template=template,
                in_baseline=baseline is not None and baseline.contains(text),
                context_before=max(hit.rule.before for hit in hits),
                context_after=max(hit.rule.after for hit in hits),
                groups=groups,
            )
        )
    repeats = Counter(line.template for line in scored)
    anchor = next((ln.number for ln in scored if any(h.rule.anchor for h in ln.hits)), None)
    step_start = 1 if anchor is None else max((n for n in step_starts if n <= anchor), default=1)
    span = max(total_lines, 1)
    seen_kinds: set[tuple[str, str]] = set()
    copies: dict[tuple[str, str], list[ScoredLine]] = {}
    for line in scored:
        relative = line.number / span
        if anchor is None:
            region, factor = "log", POSITION_FLOOR + (1 - POSITION_FLOOR) * relative
        elif line.number > anchor:
            region, factor = "after", AFTER_ANCHOR_FACTOR
        elif line.number >= step_start:
            region, factor = "failing", 1.0
        else:
            region, factor = "before", EARLIER_STEP_FACTOR + 0.05 * relative
        kind = (region, _kind(line.hits))
        if kind in seen_kinds:
            factor *= REPEAT_KIND_FACTOR
        seen_kinds.add(kind)
        if not line.specific and _WARNING_LEVEL.match(line.text):
            factor *= WARNING_FACTOR
        line.score = line.rule_weight * factor
        if line.in_baseline:
            line.score *= BASELINE_FACTOR
        if repeats[line.template] > 3:
            line.score /= 1 + 0.25 * math.log(repeats[line.template] / 3)
        if repeats[line.template] > 1:
            copies.setdefault((region, line.template), []).append(line)
    for group in copies.values():
        if len(group) > 1:
            best = max(line.score for line in group)
            group[0].score = best
            for line in group[1:]:
                line.score = min(line.score, best * REPRINT_FACTOR)
    return scored


def _kind(hits: list[RuleHit]) -> str:
    """The kind of evidence a line is: its strongest rule, a tool-specific one first."""
    best = max(hits, key=lambda h: (not h.rule.generic, h.rule.weight))
    return best.rule.id


def _line_weight(hits: list[RuleHit]) -> float:
    """The strongest rule, plus a little for corroborating specific rules (not generic ones)."""
    specific = sorted((h.rule.weight for h in hits if not h.rule.generic), reverse=True)
    generic = max((h.rule.weight for h in hits if h.rule.generic), default=0.0)
    if not specific:
        return generic
    return min(1.0, specific[0] + 0.05 * sum(specific[1:3]) + 0.02 * (generic > 0))
