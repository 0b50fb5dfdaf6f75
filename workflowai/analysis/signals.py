"""Signals: ranked, compact evidence blocks plus a category guess, failing step and exit code.

`extract_signals` scores every kept line with the rule pack (`scoring.py`), grows a window of
context around the strongest key lines (the rule's own `before`/`after` hints, at least
`settings.context_lines`), merges windows that touch (up to `MAX_BLOCK_LINES`; a key line
that would make a block longer opens a block of its own beside it), ranks the blocks and keeps
the best `settings.max_evidence_blocks` within a budget of `MAX_EVIDENCE_LINES` shown lines.
A block whose key lines all repeat (by masked template) what a better block shows is skipped:
the same error printed again is no new evidence, and the budget goes to something else.
A block that overlaps a chosen one keeps the part beside it, so a failure list longer than
one block is shown on to its end. Chosen blocks at most `BRIDGE_GAP` lines apart are joined
while the budget allows: one excerpt with the lines between reads better than two fragments.
A block that ends inside a stack trace goes on through its frames with the lines still spare.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis.baseline import Baseline
from workflowai.analysis.findings import FindingSet, extract_findings
from workflowai.analysis.normalize import NormalizedLog
from workflowai.analysis.report import Category, EvidenceBlock, LogLine
from workflowai.analysis.rules import RulePack, default_pack
from workflowai.analysis.scoring import ScoredLine, score_lines
from workflowai.analysis.signature import failure_signature
from workflowai.settings import AnalysisSettings

MAX_EVIDENCE_LINES = 30
MAX_BLOCK_LINES = 16
# key lines below this share of the best score are not worth a block of their own
RELATIVE_FLOOR = 0.45
# weaker key lines still fill budget the strong ones leave unused
FILL_FLOOR = 0.2
# chosen blocks at most this many lines apart are joined, budget allowing
BRIDGE_GAP = 6
_EXIT_GROUPS = ("code", "code2", "code3", "code4", "code5", "code6", "code7", "exit", "exit_code")


class Signals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    blocks: list[EvidenceBlock]
    category: Category = Category.UNKNOWN
    category_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    failing_step: str | None = None
    exit_code: int | None = None
    key_lines: list[LogLine] = Field(default_factory=list, description="strongest first")
    rule_ids: list[str] = Field(default_factory=list)
    rule_strength: float = Field(default=0.0, ge=0.0, le=1.0)
    signature_hash: str = ""
    signature_text: str = ""
    total_lines: int = 0
    ci_provider: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    findings: FindingSet = Field(default_factory=FindingSet)

    @property
    def explained_category(self) -> Category:
        """The root finding's category, else the rules' vote: what the report says."""
        if self.findings.category is not Category.UNKNOWN:
            return self.findings.category
        return self.category


class _Block:
    """A window of the log around one or more key lines; each key keeps its own window."""

    def __init__(self, start: int, end: int, key: ScoredLine, *, primary: bool) -> None:
        self.start, self.end = start, end
        self.keys: list[ScoredLine] = [key]
        self.windows: dict[int, tuple[int, int]] = {key.number: (start, end)}
        self.primary = primary  # grown from a key line above the relative floor

    def add(self, key: ScoredLine, start: int, end: int) -> None:
        self.keys.append(key)
        self.windows[key.number] = (max(start, self.start), min(end, self.end))

    @property
    def score(self) -> float:
        return _score(self.keys)

    def touches(self, start: int, end: int) -> bool:
        return start <= self.end + 1 and end >= self.start - 1

    @classmethod
    def of(
        cls, keys: list[ScoredLine], windows: dict[int, tuple[int, int]], *, primary: bool
    ) -> _Block:
        """A block of these key lines, spanning their windows."""
        block = cls(
            min(w[0] for w in windows.values()),
            max(w[1] for w in windows.values()),
            keys[0],
            primary=primary,
        )
        block.keys, block.windows = keys, windows
        return block

    def without(self, shown_templates: set[str]) -> _Block | None:
        """This block cut down to its key lines whose templates are not shown yet, or None."""
        fresh = [k for k in self.keys if k.template not in shown_templates]
        if not fresh:
            return None
        if len(fresh) == len(self.keys):
            return self
        windows = {k.number: self.windows[k.number] for k in fresh}
        return _Block.of(fresh, windows, primary=self.primary)

    def joined(self, other: _Block) -> _Block:
        """One block spanning this one, `other` and the lines between them."""
        both = _Block.of(
            self.keys + other.keys,
            {**self.windows, **other.windows},
            primary=self.primary or other.primary,
        )
        both.start, both.end = min(self.start, other.start), max(self.end, other.end)
        return both

    def outside(self, lo: int, hi: int) -> list[_Block]:
        """The parts of this block beside lines `lo`-`hi` (a chosen block): its key lines
        there, their windows cut at the chosen block; none, one or two blocks."""
        below = [k for k in self.keys if k.number < lo]
        above = [k for k in self.keys if k.number > hi]
        parts: list[_Block] = []
        if below:
            windows = {
                k.number: (self.windows[k.number][0], min(self.windows[k.number][1], lo - 1))
                for k in below
            }
            parts.append(_Block.of(below, windows, primary=self.primary))
        if above:
            windows = {
                k.number: (max(self.windows[k.number][0], hi + 1), self.windows[k.number][1])
                for k in above
            }
            parts.append(_Block.of(above, windows, primary=self.primary))
        return parts


def _score(keys: list[ScoredLine]) -> float:
    """The best key line, plus a little for each of the next four."""
    scores = sorted((k.score for k in keys), reverse=True)
    return scores[0] + 0.15 * sum(scores[1:5])


def extract_signals(
    log: NormalizedLog,
    *,
    baseline: Baseline | None = None,
    settings: AnalysisSettings,
    pack: RulePack | None = None,
) -> Signals:
    """Ranked evidence and the failure's category, step, exit code and signature."""
    pack = pack or default_pack()
    rows = [(line.number, line.text, line.step) for line in log.lines.values()]
    scored = score_lines(
        rows,
        total_lines=log.total_lines,
        pack=pack,
        baseline=baseline,
        step_starts=[start for start, _ in log.steps],
    )
    blocks = _select_blocks(log, scored, settings)
    keys = sorted((k for b in blocks for k in b.keys), key=lambda k: -k.score)
    category, confidence = _category(keys)
    sig_lines = _signature_lines(keys)
    sig_hash, sig_text = failure_signature([k.text for k in sig_lines])
    evidence = [_evidence(log, block) for block in blocks]
    rule_ids = list(dict.fromkeys(hit.rule.id for k in keys for hit in k.hits))
    failing_step = _failing_step(log, keys)
    spans = [(b.start, b.end, max(k.score for k in b.keys)) for b in blocks]
    findings = extract_findings(
        log, scored, evidence=spans, failing_command=step_command(failing_step, log.ci_provider)
    )
    return Signals(
        blocks=evidence,
        category=category,
        category_confidence=confidence,
        failing_step=failing_step,
        exit_code=_exit_code(scored),
        key_lines=[LogLine(number=k.number, text=k.text) for k in keys[:10]],
        rule_ids=rule_ids,
        rule_strength=max((k.rule_weight for k in keys if k.specific), default=0.0),
        signature_hash=sig_hash,
        signature_text=sig_text,
        total_lines=log.total_lines,
        ci_provider=log.ci_provider,
        redactions=dict(log.redactions),
        warnings=list(log.warnings),
        findings=findings,
    )


def _select_blocks(
    log: NormalizedLog, scored: list[ScoredLine], settings: AnalysisSettings
) -> list[_Block]:
    """Blocks around the strongest key lines, chosen greedily within the line budget.

    Key lines above `RELATIVE_FLOOR` of the best score grow the primary blocks; weaker ones
    (down to `FILL_FLOOR`) grow fill blocks that are shown only when the primary ones leave
    budget unused, after them. Each pick takes the block whose not-yet-shown key lines score
    best, cut down to those lines: a block that mostly repeats what is shown costs only the
    lines of what it adds.
    """
    if not scored:
        return []
    ranked = sorted(scored, key=lambda s: (-s.score, -s.number))
    floor = ranked[0].score * RELATIVE_FLOOR
    limit = settings.max_evidence_blocks
    blocks: list[_Block] = []
    for line in ranked[:400]:
        if line.score < FILL_FLOOR:
            break
        _place(log, blocks, line, settings, primary=line.score >= floor, cap=limit * 3)
    chosen: list[_Block] = []
    shown_templates: set[str] = set()
    shown = 0
    pool = blocks
    while pool and len(chosen) < limit:
        candidates = [c for c in (b.without(shown_templates) for b in pool) if c is not None]
        fitting = [
            c for c in candidates if not chosen or shown + c.end - c.start + 1 <= MAX_EVIDENCE_LINES
        ]
        if not fitting:
            break
        best = max(fitting, key=lambda c: (c.primary, c.score))
        chosen.append(best)
        shown_templates |= {k.template for k in best.keys}
        shown += best.end - best.start + 1
        # a block that overlaps the chosen one keeps what lies beside it
        pool = [
            part
            for b in pool
            for part in (
                b.outside(best.start, best.end)
                if b.start <= best.end and b.end >= best.start
                else [b]
            )
        ]
    chosen = _bridge(chosen, MAX_EVIDENCE_LINES - shown)
    chosen.sort(key=lambda b: (not b.primary, -b.score))
    _continue_traces(log, chosen, MAX_EVIDENCE_LINES - sum(b.end - b.start + 1 for b in chosen))
    return chosen


# a stack frame line: JVM/JS `at ...`, `... N more`, `Caused by:`, Go's function and file lines
_FRAME = re.compile(
    r"^(?:\s+at\s|\s*\.\.\. \d+ (?:more|common frames omitted)|Caused by: |\t\S+\.go:\d+|"
    r"[\w.*/()\[\]-]+\(.*\)$|created by |goroutine \d+ \[)"
)


def _continue_traces(log: NormalizedLog, blocks: list[_Block], spare: int) -> None:
    """Grow blocks (best first) that end inside a stack trace through the trace's next frames,
    while the budget has lines to spare and the next line is in no other block: the frames of
    the project's own code usually come after the runtime's, below the block's cut."""
    for block in blocks:
        if not _is_frame(log, block.end):
            continue
        following = block.end + 1
        while (
            spare > 0
            and _is_frame(log, following)
            and not any(b.start <= following <= b.end for b in blocks)
        ):
            block.end = following
            following += 1
            spare -= 1


def _is_frame(log: NormalizedLog, number: int) -> bool:
    line = log.lines.get(number)
    return line is not None and _FRAME.match(line.text) is not None


def _bridge(blocks: list[_Block], spare: int) -> list[_Block]:
    """Join blocks a few lines apart into one excerpt while the budget has lines to spare:
    the lines between two pieces of one failure read better than a hole."""
    merged: list[_Block] = []
    for block in sorted(blocks, key=lambda b: b.start):
        if merged:
            gap = block.start - merged[-1].end - 1
            if gap <= BRIDGE_GAP and gap <= spare:
                merged[-1] = merged[-1].joined(block)
                spare -= gap
                continue
        merged.append(block)
    return merged


def _place(
    log: NormalizedLog,
    blocks: list[_Block],
    line: ScoredLine,
    settings: AnalysisSettings,
    *,
    primary: bool,
    cap: int,
) -> None:
    """Merge `line`'s context window into a block it touches, or open a block of its own."""
    before = max(settings.context_lines, line.context_before)
    after = max(settings.context_lines, line.context_after)
    start, end = _clip(log, line.number - before, line.number + after)
    target = next((b for b in blocks if b.touches(start, end)), None)
    if target is not None:
        # a weak line never grows a primary block: it only joins one that already shows it
        grow = primary or not target.primary
        if grow and max(end, target.end) - min(start, target.start) + 1 <= MAX_BLOCK_LINES:
            target.start, target.end = min(start, target.start), max(end, target.end)
            target.add(line, start, end)
            return
        if target.start <= line.number <= target.end:
            target.add(line, start, end)
            return
        # too long to merge: the part of the window beside the block becomes its own
        if line.number > target.end:
            start = target.end + 1
        else:
            end = target.start - 1
        if any(b.touches(start, end) and b is not target for b in blocks):
            return
    if len(blocks) < cap:
        blocks.append(_Block(start, end, line, primary=primary))


def _clip(log: NormalizedLog, start: int, end: int) -> tuple[int, int]:
    """Shrink a window to kept, non-blank lines at both ends."""
    start, end = max(start, 1), min(end, log.total_lines)
    while start < end and not _visible(log, start):
        start += 1
    while end > start and not _visible(log, end):
        end -= 1
    return start, end


def _visible(log: NormalizedLog, number: int) -> bool:
    line = log.lines.get(number)
    return line is not None and bool(line.text.strip())


def _evidence(log: NormalizedLog, block: _Block) -> EvidenceBlock:
    lines = [
        LogLine(number=n, text=log.lines[n].text)
        for n in range(block.start, block.end + 1)
        if n in log.lines
    ]
    keys = sorted(block.keys, key=lambda k: -k.score)
    return EvidenceBlock(
        start_line=block.start,
        end_line=block.end,
        lines=lines,
        key_lines=sorted(k.number for k in keys),
        rule_ids=list(dict.fromkeys(hit.rule.id for k in keys for hit in k.hits)),
        score=round(block.score, 4),
        step=keys[0].step,
    )


def _category(keys: list[ScoredLine]) -> tuple[Category, float]:
    votes: dict[Category, float] = defaultdict(float)
    for key in keys:
        for hit in key.hits:
            if hit.rule.category is not Category.UNKNOWN:
                votes[hit.rule.category] += key.score * hit.rule.weight
    if not votes:
        return Category.UNKNOWN, 0.0
    best = max(votes, key=lambda c: votes[c])
    share = votes[best] / sum(votes.values())
    strength = max(
        (h.rule.weight for k in keys for h in k.hits if h.rule.category is best), default=0.0
    )
    return best, round(min(1.0, share * strength), 3)


def _signature_lines(keys: list[ScoredLine]) -> list[ScoredLine]:
    """Key lines by rule strength and text only (stable across runs); exit codes last."""
    useful = [
        k for k in keys if not any(h.rule.anchor or h.rule.id == "exit-code" for h in k.hits)
    ] or keys
    return sorted(useful, key=lambda k: (-round(k.rule_weight, 3), not k.specific, k.template))


_STEP_PREFIX = re.compile(r"^(?:Run |\$ |script: |sh: )")


def step_command(step: str | None, ci_provider: str | None = None) -> str | None:
    """The command a step runs, when its name is the command (GitHub's `Run pytest -q`;
    on Travis CI every step is the command it echoed); None for a named step."""
    if not step:
        return None
    command, prefixed = _STEP_PREFIX.subn("", step.strip(), count=1)
    if prefixed or ci_provider == "travis":
        return command.strip() or None
    return None


def _failing_step(log: NormalizedLog, keys: list[ScoredLine]) -> str | None:
    for key in keys:
        if key.step:
            return key.step
    return log.last_step


def _exit_code(scored: list[ScoredLine]) -> int | None:
    for line in reversed(scored):
        for name in _EXIT_GROUPS:
            value = line.groups.get(name)
            if value is not None and value.lstrip("-").isdigit():
                return int(value)
    return None
