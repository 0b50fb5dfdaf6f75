"""Findings: the distinct failures a log reports, typed, with the subjects the log names.

`extract_findings` reads the lines the rules scored (`scoring.py`: position, failing step and
baseline already weigh them) with the grammar pack (`grammars.py`), and with the named groups
of tool-specific rules the grammars do not cover. Details (a location, expected and actual
values) found near a finding are attached to it. Then:
- findings from lines far weaker than the strongest (passing steps, after-failure cleanup,
  lines the passing run prints too) are dropped;
- the same failure reported twice (a test in the failure list and in the summary, the same
  compiler error in two passes) is merged and counted, and a file- or class-level test line is
  folded into the tests it holds;
- the root cause is chosen (`_root`): a job-level cause (out of memory, time limit, runner
  lost, a missing command) wins; then a cause that most failing tests share (their message
  names it) or that stands where no test failed; else the strongest finding;
- the category is the root cause's (for a command's exit: what the command runs).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis import kinds
from workflowai.analysis.grammars import (
    Classify,
    GrammarPack,
    Role,
    default_grammars,
    header_above,
    location_near,
    section_above,
)
from workflowai.analysis.normalize import NormalizedLog
from workflowai.analysis.paths import workspace_relative
from workflowai.analysis.report import Category, Finding, FindingKind
from workflowai.analysis.scoring import ScoredLine

MAX_FINDINGS = 10
# findings from lines below this share of the strongest finding's line are dropped
FINDING_FLOOR = 0.3
MAX_MESSAGE_CHARS = 300
CAUSE_BOOST = 1.1
# an evidence line no rule matched counts this share of its block's strongest line
EVIDENCE_FACTOR = 0.9
# details are looked for around this many of the strongest findings
DETAIL_TARGETS = 40
_INT_FIELDS = ("line", "column")
_SUBJECTS = ("test", "file", "package", "command", "host")
_TEXT_FIELDS = (
    "message",
    "test_id",
    "file",
    "code",
    "package",
    "version",
    "requirement",
    "command",
    "host",
    "expected",
    "actual",
)
_DETAIL_KINDS = {
    FindingKind.TEST_FAILURE,
    FindingKind.COMPILE_ERROR,
    FindingKind.LINT_VIOLATION,
    FindingKind.TYPE_ERROR,
}
# a tool-specific rule's category -> the kind of finding its line reports
_RULE_KINDS: dict[Category, FindingKind] = {
    Category.TEST: FindingKind.TEST_FAILURE,
    Category.COMPILE: FindingKind.COMPILE_ERROR,
    Category.LINT: FindingKind.LINT_VIOLATION,
    Category.DEPENDENCY: FindingKind.MISSING_DEPENDENCY,
    Category.NETWORK: FindingKind.NETWORK_ERROR,
    Category.TIMEOUT: FindingKind.TIMEOUT,
    Category.OUT_OF_MEMORY: FindingKind.OUT_OF_MEMORY,
    Category.PERMISSION: FindingKind.PERMISSION_DENIED,
    Category.CONFIGURATION: FindingKind.CONFIG_ERROR,
    Category.INFRASTRUCTURE: FindingKind.INFRASTRUCTURE_ERROR,
}
# rule ecosystems -> the knowledge base's ecosystem names
ECOSYSTEM_ALIASES = {
    "javascript": "node",
    "typescript": "node",
    "maven": "java",
    "gradle": "java",
    "kotlin": "java",
    "c": "c-cpp",
    "cpp": "c-cpp",
    "apt": "linux",
}


class FindingSet(BaseModel):
    """The findings of one log, root cause first, and what they say about the job."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    findings: list[Finding] = Field(default_factory=list)
    total: int = 0
    tests_failed: int = 0
    category: Category = Category.UNKNOWN
    ecosystems: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)


@dataclass
class _Draft:
    kind: FindingKind
    fields: dict[str, str]
    number: int
    score: float
    source: str
    tool: str | None
    ecosystem: str | None
    step: str | None
    fallback: bool = False
    from_rule: bool = False  # from a rule's groups, not a grammar
    lines: set[int] = field(default_factory=set)
    count: int = 1


def extract_findings(
    log: NormalizedLog,
    scored: Sequence[ScoredLine],
    *,
    evidence: Sequence[tuple[int, int, float]] = (),
    pack: GrammarPack | None = None,
    failing_command: str | None = None,
) -> FindingSet:
    """The distinct failures in `scored` and in the evidence blocks' other lines (see the
    module docstring), root cause first.

    `evidence`: (first line, last line, score of the strongest line) of each evidence block:
    a tool no rule knows still prints its diagnostics there, next to the lines that did match.
    `failing_command`: the failing step's command, for a runner exit line that names none.
    """
    pack = pack or default_grammars()
    texts = {number: line.text for number, line in log.lines.items()}
    drafts: list[_Draft] = []
    totals: Counter[str] = Counter()
    for line in [*scored, *_evidence_lines(log, scored, evidence)]:
        drafts.extend(_drafts_of(line, pack, texts, totals, failing_command))
    if not drafts:
        return FindingSet(ecosystems=_rule_ecosystems(scored))
    best = max(d.score for d in drafts)
    drafts = [d for d in drafts if d.score >= best * FINDING_FLOOR]
    _attach_details(drafts, pack, texts)
    for draft in drafts:
        # an exit, or a cause that names nothing, is about the failing step's command
        bare = draft.kind in kinds.CAUSES and not any(k in draft.fields for k in _SUBJECTS)
        if (draft.kind is FindingKind.PROCESS_EXIT or bare) and failing_command:
            draft.fields.setdefault("command", failing_command)
    merged = _merge(drafts)
    merged = _fold(merged)
    tests = sum(1 for d in merged if d.kind is FindingKind.TEST_FAILURE)
    tests_failed = max(tests, max(totals.values(), default=0)) if tests else 0
    ordered = _order(merged)
    findings = [_finding(d) for d in ordered]
    extra = max(0, tests_failed - tests)
    return FindingSet(
        findings=findings[:MAX_FINDINGS],
        total=len(findings) + extra,
        tests_failed=tests_failed,
        category=_category(ordered[0]) if ordered else Category.UNKNOWN,
        ecosystems=_ecosystems(ordered, scored),
        tools=list(dict.fromkeys(d.tool for d in ordered if d.tool)),
    )


def _evidence_lines(
    log: NormalizedLog, scored: Sequence[ScoredLine], evidence: Sequence[tuple[int, int, float]]
) -> list[ScoredLine]:
    """The evidence blocks' lines no rule matched, scored below their block's best line."""
    known = {line.number for line in scored}
    out: list[ScoredLine] = []
    for start, end, score in evidence:
        for number in range(start, end + 1):
            line = log.lines.get(number)
            if line is None or number in known or not line.text.strip():
                continue
            known.add(number)
            out.append(
                ScoredLine(
                    number=number,
                    text=line.text,
                    step=line.step,
                    hits=[],
                    rule_weight=0.0,
                    score=score * EVIDENCE_FACTOR,
                    template="",
                )
            )
    return out


def _drafts_of(
    line: ScoredLine,
    pack: GrammarPack,
    texts: dict[int, str],
    totals: Counter[str],
    failing_command: str | None,
) -> list[_Draft]:
    out: list[_Draft] = []
    for hit in pack.match(line.text):
        grammar = hit.grammar
        if grammar.role is Role.SUMMARY:
            count = sum(int(hit.fields.get(k, "0")) for k in ("failed", "errors"))
            totals[grammar.tool or grammar.id] = max(totals[grammar.tool or grammar.id], count)
            continue
        if grammar.role is not Role.FINDING or grammar.kind is None:
            continue
        fields = dict(hit.fields)
        if grammar.location:
            where = location_near(texts, line.number, grammar.location)
            if grammar.needs_location and not where:
                continue
            for key, value in where.items():
                fields.setdefault(key, value)
        if grammar.header == "above" and "file" not in fields:
            header = header_above(texts, line.number)
            if header:
                fields["file"] = header
        if grammar.header == "section":
            test = section_above(texts, line.number)
            if test is None:
                continue
            fields.setdefault("test", test)
        if grammar.command and "command" not in fields:
            with contextlib.suppress(KeyError):  # a group the template needs is absent
                fields["command"] = grammar.command.format(**fields)
        if "message" not in fields and not any(k in fields for k in _SUBJECTS):
            fields["message"] = line.text.strip()
        kind = _classified(grammar.kind, grammar.classify, fields, failing_command)
        out.append(
            _Draft(
                kind=kind,
                fields=fields,
                number=line.number,
                score=line.score,
                source=grammar.id,
                tool=grammar.tool,
                ecosystem=grammar.ecosystem,
                step=line.step,
                fallback=grammar.fallback,
                lines={line.number},
            )
        )
    if out:
        return out
    rule_draft = _from_rules(line)
    return [rule_draft] if rule_draft is not None else []


def _classified(
    kind: FindingKind, how: Classify, fields: dict[str, str], command: str | None
) -> FindingKind:
    if how is Classify.COMMAND:
        category = kinds.command_category(command)
        return kinds.CATEGORY_KINDS.get(category, kind) if category else kind
    if how is Classify.CODE:
        return kinds.NPM_CODES.get(fields.get("code", ""), kind)
    if how is Classify.MESSAGE:
        named = kinds.classify_message(fields.get("message", ""))
        return named or kind
    return kind


def _from_rules(line: ScoredLine) -> _Draft | None:
    """A finding from the strongest tool-specific rule the line matched (no grammar did)."""
    specific = [h for h in line.hits if not h.rule.generic and h.rule.category in _RULE_KINDS]
    if not specific:
        return None
    hit = max(specific, key=lambda h: h.rule.weight)
    groups = {k: v for k, v in hit.groups.items() if not k.startswith(("code", "exit"))}
    fields = {"test" if k == "case" else k: v for k, v in groups.items()}
    for alias, name in (("module", "package"), ("crate", "package"), ("goal", "command")):
        if alias in fields:
            fields.setdefault(name, fields.pop(alias))
    named = kinds.classify_message(line.text)
    subjectless = not any(k in fields for k in _SUBJECTS)
    if subjectless and named is None:
        return None  # a line that names neither a subject nor a kind of failure
    kind = _RULE_KINDS[hit.rule.category]
    if kind is FindingKind.MISSING_DEPENDENCY:
        kind = named if named in kinds.CAUSES else kind
    if subjectless:
        fields.setdefault("message", line.text.strip())
    ecosystem = ECOSYSTEM_ALIASES.get(hit.rule.ecosystem, hit.rule.ecosystem)
    return _Draft(
        kind=kind,
        fields=fields,
        number=line.number,
        score=line.score,
        source=hit.rule.id,
        tool=None,
        ecosystem=ecosystem if ecosystem not in {"system", "network", "shell", "lint"} else None,
        step=line.step,
        fallback=subjectless,
        from_rule=True,
        lines={line.number},
    )


def _attach_details(drafts: list[_Draft], pack: GrammarPack, texts: dict[int, str]) -> None:
    """Fill missing fields of findings from detail lines near them (nearest finding wins)."""
    targets = sorted(
        (d for d in drafts if d.kind is not FindingKind.PROCESS_EXIT), key=lambda d: -d.score
    )[:DETAIL_TARGETS]
    detail_pack = pack.details
    if not targets or not detail_pack.grammars:
        return
    window = max(g.within for g in detail_pack.grammars)
    numbers = sorted({n for d in targets for n in range(d.number - window, d.number + window + 1)})
    for number in numbers:
        text = texts.get(number)
        if text is None:
            continue
        for hit in detail_pack.match(text):
            near = [d for d in targets if abs(d.number - number) <= hit.grammar.within]
            if not near:
                continue
            # nearest; on a tie, the finding above (most runners print details after it)
            owner = min(near, key=lambda d: (abs(d.number - number), d.number > number))
            for key, value in hit.fields.items():
                if key in {"test", "name", "case"}:
                    continue
                owner.fields.setdefault(key, value)
            owner.lines.add(number)


def _test_key(test_id: str) -> str:
    base = test_id.strip()
    for sep in ("::", " \u203a ", " > ", "#"):
        if sep in base:
            base = base.rsplit(sep, 1)[1]
    if not any(c in base for c in "[( ") and "." in base:
        base = base.rsplit(".", 1)[1]
    return base.strip().lower()


_NUMBERS = re.compile(r"\d+")


def _key(draft: _Draft) -> tuple[str, ...]:
    f = draft.fields
    kind = draft.kind.value
    if draft.fallback:
        return (kind, "fallback")
    if draft.kind is FindingKind.TEST_FAILURE:
        if "test" in f:
            return (kind, "test", _test_key(f["test"]))
        return (kind, "file", _basename(f.get("file", "")), f.get("package", ""))
    if draft.kind in _DETAIL_KINDS:
        if "file" in f and "line" in f:  # one place in the code is one finding
            return (kind, _basename(f["file"]), f["line"])
        message = _NUMBERS.sub("#", f.get("message", ""))[:80]
        return (kind, _basename(f.get("file", "")), f.get("code", ""), message)
    for subject in ("package", "host", "command", "file", "code"):
        if subject in f:
            return (kind, subject, f[subject].lower())
    return (kind, "message", _NUMBERS.sub("#", f.get("message", ""))[:80])


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1].lower()


def _merge(drafts: list[_Draft]) -> list[_Draft]:
    merged: dict[tuple[str, ...], _Draft] = {}
    for draft in sorted(drafts, key=lambda d: d.number):
        key = _key(draft)
        into = merged.get(key)
        if into is None:
            merged[key] = draft
            continue
        into.count += 1
        into.lines |= draft.lines
        into.score = max(into.score, draft.score)
        for name, value in draft.fields.items():
            current = into.fields.get(name)
            # keep the most specific test id (the one with its file)
            if current is None or (name == "test" and len(value) > len(current)):
                into.fields[name] = value
        into.tool = into.tool or draft.tool
        into.ecosystem = into.ecosystem or draft.ecosystem
        into.fallback = into.fallback and draft.fallback
    return list(merged.values())


def _fold(drafts: list[_Draft]) -> list[_Draft]:
    """Drop fallbacks where a real finding exists (of their kind, for grammars; of any kind,
    for rule lines that name nothing), causes a failing test's own message names (the test's
    finding says it), and test lines that only name a file, package or class whose tests are
    listed."""
    kinds_with_real = {d.kind for d in drafts if not d.fallback}
    any_real = any(not d.fallback and d.kind is not FindingKind.PROCESS_EXIT for d in drafts)
    kept = [
        d
        for d in drafts
        if not (d.fallback and (d.kind in kinds_with_real or (d.from_rule and any_real)))
    ]
    messages = [d.fields.get("message", "") for d in kept if d.kind is FindingKind.TEST_FAILURE]
    kept = [d for d in kept if not _told_by_tests(d, messages)]
    tests = [d for d in kept if d.kind is FindingKind.TEST_FAILURE and "test" in d.fields]
    if not tests:
        return kept
    ids = [d.fields["test"] for d in tests]

    files = {_basename(d.fields["file"]) for d in tests if "file" in d.fields} | {
        _basename(d.fields["test"].split("::")[0]) for d in tests if "::" in d.fields["test"]
    }
    anonymous = any("file" not in d.fields for d in tests)

    def covered(draft: _Draft) -> bool:
        if draft.kind is not FindingKind.TEST_FAILURE:
            return False
        test = draft.fields.get("test")
        if test is None:  # a file or package line: dropped when its tests are listed
            return "file" not in draft.fields or (
                _basename(draft.fields["file"]) in files or (anonymous and not files)
            )
        return any(other != test and other.startswith(test + ".") for other in ids)

    return [d for d in kept if not covered(d)]


def _told_by_tests(draft: _Draft, messages: list[str]) -> bool:
    if draft.kind not in kinds.CAUSES or draft.kind in kinds.JOB_LEVEL or not messages:
        return False
    subjects = [draft.fields.get(k) for k in ("file", "host", "package")]
    named = [workspace_relative(s) for s in subjects if s]
    return any(s in workspace_relative(m) for s in named for m in messages)


def _root(drafts: list[_Draft]) -> _Draft:
    real = [d for d in drafts if d.kind is not FindingKind.PROCESS_EXIT]
    if not real:  # only exits: the one that names its command (a build tool's task) first
        return max(
            drafts, key=lambda d: ("command" in d.fields, d.source != "runner-exit", d.score)
        )
    best = max(d.score for d in real)
    strong = [d for d in real if d.score >= best * 0.5]
    job_level = [d for d in strong if d.kind in kinds.JOB_LEVEL]
    if job_level:
        return max(job_level, key=lambda d: d.score)
    tests = [d for d in real if d.kind is FindingKind.TEST_FAILURE]
    causes = [d for d in strong if d.kind in kinds.CAUSES]
    if causes and tests:
        shared = Counter(kinds.classify_message(d.fields.get("message", "")) for d in tests)
        shared.pop(None, None)
        for kind, count in shared.most_common(1):
            if kind in kinds.CAUSES and count * 2 > len(tests):
                own = [c for c in causes if c.kind is kind]
                if own:
                    return max(own, key=lambda d: d.score)
    # a cause a little weaker than a symptom still explains it
    # near-equal strengths (one runner's list) go to the first printed
    return max(
        real,
        key=lambda d: (
            round(d.score * (CAUSE_BOOST if d.kind in kinds.CAUSES else 1.0), 2),
            -min(d.lines),
        ),
    )


def _order(drafts: list[_Draft]) -> list[_Draft]:
    if not drafts:
        return []
    root = _root(drafts)
    # the root's kind first, in log order (runners print the first failure first), then the
    # other kinds by strength
    rest = sorted(
        (d for d in drafts if d is not root),
        key=lambda d: (
            d.kind is FindingKind.PROCESS_EXIT,
            d.kind is not root.kind,
            min(d.lines) if d.kind is root.kind else -d.score,
        ),
    )
    return [root, *rest]


def _category(root: _Draft) -> Category:
    category = kinds.category_of(root.kind, root.tool)
    if category is Category.UNKNOWN:
        return kinds.command_category(root.fields.get("command")) or Category.UNKNOWN
    return category


def _rule_ecosystems(scored: Sequence[ScoredLine]) -> list[str]:
    found: list[str] = []
    for line in scored:
        for hit in line.hits:
            if not hit.rule.generic:
                eco = ECOSYSTEM_ALIASES.get(hit.rule.ecosystem, hit.rule.ecosystem)
                if eco not in {"system", "network", "shell", "lint", "ci", "git", "compiler"}:
                    found.append(eco)
    return list(dict.fromkeys(found))


def _ecosystems(drafts: list[_Draft], scored: Sequence[ScoredLine]) -> list[str]:
    """The findings' ecosystems; the strong rule lines' where no finding names one."""
    from_findings = list(dict.fromkeys(d.ecosystem for d in drafts if d.ecosystem))
    if from_findings:
        return from_findings
    best = max((s.score for s in scored), default=0.0)
    return _rule_ecosystems([s for s in scored if s.score >= best * 0.5])


def _test_file(test_id: str | None) -> str | None:
    """The file a `path::name` test id names (pytest, and runners that copy its ids)."""
    if test_id and "::" in test_id:
        path = test_id.split("::", 1)[0]
        if "." in path.rsplit("/", 1)[-1]:
            return workspace_relative(path)
    return None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _finding(draft: _Draft) -> Finding:
    f = draft.fields
    message = f.get("message") or ""
    if not message and draft.kind not in _DETAIL_KINDS:
        message = f.get("code", "")
    values: dict[str, str | None] = {
        "message": workspace_relative(message)[:MAX_MESSAGE_CHARS],
        "test_id": f.get("test"),
        "file": workspace_relative(f["file"]) if "file" in f else _test_file(f.get("test")),
        "code": f.get("code"),
        "package": f.get("package"),
        "version": f.get("version"),
        "requirement": f.get("requirement"),
        "command": f.get("command"),
        "host": f.get("host"),
        "expected": f.get("expected"),
        "actual": f.get("actual"),
    }
    return Finding(
        kind=draft.kind,
        tool=draft.tool,
        ecosystem=draft.ecosystem,
        step=draft.step,
        line=_int(f.get("line")),
        column=_int(f.get("column")),
        evidence_lines=sorted(draft.lines),
        count=draft.count,
        rule_id=draft.source,
        **{k: (v[:MAX_MESSAGE_CHARS] if v else None) for k, v in values.items() if k != "message"},
        message=values["message"] or "",
    )
