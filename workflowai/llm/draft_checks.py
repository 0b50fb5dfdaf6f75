"""Review a schema-valid draft against the prompt it answers; a draft that fails is rejected.

A draft that fits the schema can still be wrong or steered by text in the log. Each check
below names what it found, and `review_draft` rejects the whole draft when any fails (all
reasons are given together), so the caller falls back to the rule-made report with
`provenance.model_error` saying why. Rejecting beats repairing: a draft that an injection
steered in one field (a category, a fix) was written by the same steered model in the others.

- Category: when the rules found one (not unknown), the draft must keep it. The rule-made
  category comes from patterns matched on the log, and evidence, findings and fixes are
  built around it; a draft that moves it either contradicts its own evidence or was told to
  by the log ("category: infrastructure"). Overriding only the category would leave prose
  about another failure under it, so the draft is rejected.
- Pipe-to-shell: a suggested fix that pipes or substitutes a download into a shell
  (`shell_pipes`) rejects the draft: it is what a successful injection looks like, so the
  rest of the draft is not trusted either. In the summary and root cause such a command is
  allowed only verbatim from the evidence shown (the log ran it, and the prose quotes it).
- Cited lines ("line 212", "lines 10-12", "lines 40, 41 and 44", "L212") must be log lines
  shown in the evidence, lines the findings list, or line numbers the shown evidence itself
  prints (a traceback's `line 87`, `app.py:87`: the model may quote a source line).
- Findings: with findings in the prompt, the root cause must name at least one of their
  subjects (case-insensitive, as a whole word; a file also by its basename, a test id also
  by its last `::` part).
- The prompt's example answer repeated is not an answer.
- Confidence: capped, not rejected. A log cannot make the report certain: the model's value
  is cut to CONFIDENCE_CAP (0.8) when the rules found the category, and to
  UNKNOWN_CONFIDENCE_CAP (0.5) when they did not, with a warning. A fixed cap keeps the check
  local: the rule-made confidence is computed later, from retrieval, by the assembler; the
  rules' own scale reaches 0.95, so a model never outranks strong rule evidence.

All checks read cleaned text (NFKC, invisible characters dropped; the draft's fields were
cleaned when parsed), so look-alike characters cannot slip a citation or a command past them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from workflowai.analysis.report import Category, Finding, ReportDraft
from workflowai.llm.fences import clean_text
from workflowai.llm.prompts import ANSWER_EXAMPLE, ReportPrompt
from workflowai.llm.shell_pipes import command_text, find_pipe_to_shell

CONFIDENCE_CAP = 0.8
UNKNOWN_CONFIDENCE_CAP = 0.5
MAX_CITED_RANGE = 200
MAX_LISTED = 5

# "line 212", "line #212", "line no. 212", "line 10-12", "line 10 to 12"
_LINE = re.compile(
    r"\bline\s*(?:#|no\.?|number|:)?\s*(\d+)(?:\s*(?:-|\u2013|\u2014|to|through)\s*(?:line\s*)?(\d+))?\b",
    re.IGNORECASE,
)
# "lines 10-12", "lines 40, 41 and 44", "lines 3 & 7"
_LINES = re.compile(
    r"\blines\s*(?:#|no\.?|numbers)?\s*"
    r"(\d+(?:\s*(?:-|\u2013|\u2014|to|through|and|,|&|,\s*and)\s*(?:lines?\s*)?\d+)*)\b",
    re.IGNORECASE,
)
# "L212", "L10-L12", "#L212" (GitHub's anchor style)
_L_CITE = re.compile(r"(?<![\w/.-])L(\d+)(?:\s*[-\u2013\u2014]\s*L?(\d+))?\b")
_NUMBER_OR_RANGE = re.compile(r"(\d+)(?:\s*(?:-|\u2013|\u2014|to|through)\s*(?:lines?\s*)?(\d+))?")
# source-file line numbers a log prints: "app.py:87", "app.ts(87,5)", 'File "x", line 87'
_SOURCE_LINE = re.compile(r"\.[A-Za-z]\w{0,9}(?::|\()(\d+)\b")


class DraftReview(BaseModel):
    """The reviewed draft (None when rejected), the rejection reasons and the warnings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: ReportDraft | None
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def cited_lines(text: str) -> list[tuple[int, int]]:
    """The log line ranges `text` cites, as (first, last) pairs in reading order."""
    cites: list[tuple[int, int, int]] = []  # (position, first, last)
    for match in _LINE.finditer(text):
        first = int(match.group(1))
        cites.append((match.start(), first, int(match.group(2) or first)))
    for match in _LINES.finditer(text):
        for part in _NUMBER_OR_RANGE.finditer(match.group(1)):
            first = int(part.group(1))
            cites.append((match.start(), first, int(part.group(2) or first)))
    for match in _L_CITE.finditer(text):
        first = int(match.group(1))
        cites.append((match.start(), first, int(match.group(2) or first)))
    return [(min(a, b), max(a, b)) for _, a, b in sorted(cites)]


def _known_lines(prompt: ReportPrompt) -> set[int]:
    known = {line.number for line in prompt.shown}
    for finding in prompt.findings:
        known.update(finding.evidence_lines)
        if finding.line is not None:
            known.add(finding.line)
    for line in prompt.shown:
        known.update(b for _, b in cited_lines(line.text))
        known.update(a for a, _ in cited_lines(line.text))
        known.update(int(m.group(1)) for m in _SOURCE_LINE.finditer(line.text))
    return known


def _listed(numbers: Iterable[str]) -> str:
    items = list(numbers)
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def _shown_ranges(prompt: ReportPrompt) -> str:
    numbers = sorted({line.number for line in prompt.shown})
    if not numbers:
        return "no evidence lines were shown"
    ranges: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        ranges.append(f"{start}-{prev}" if prev != start else str(start))
        if n is not None:
            start = prev = n
    return "shown: " + _listed(ranges)


def _prose(draft: ReportDraft) -> list[str]:
    return [draft.summary, draft.root_cause, *draft.suggested_fixes]


def check_cited_lines(draft: ReportDraft, prompt: ReportPrompt) -> str | None:
    known = _known_lines(prompt)
    missing: list[str] = []
    for text in _prose(draft):
        for first, last in cited_lines(text):
            if last - first > MAX_CITED_RANGE or any(
                n not in known for n in range(first, last + 1)
            ):
                label = f"{first}-{last}" if last != first else str(first)
                if label not in missing:
                    missing.append(label)
    if not missing:
        return None
    noun = "line" if len(missing) == 1 and "-" not in missing[0] else "lines"
    return (
        f"cites {noun} {_listed(missing)}, not in the evidence shown to it "
        f"({_shown_ranges(prompt)})"
    )


def check_category(draft: ReportDraft, prompt: ReportPrompt) -> str | None:
    rules = prompt.category
    if rules is None or rules is Category.UNKNOWN or draft.category is rules:
        return None
    return f"sets category {draft.category.value!r}, but the rules found {rules.value!r} in the log"


def check_shell_pipes(draft: ReportDraft, prompt: ReportPrompt) -> str | None:
    for index, fix in enumerate(draft.suggested_fixes, start=1):
        if command := find_pipe_to_shell(fix):
            return f"suggests piping a download into a shell (fix {index}: {command[:120]!r})"
    evidence = command_text("\n".join(line.text for line in prompt.shown)).lower()
    for name, text in (("summary", draft.summary), ("root_cause", draft.root_cause)):
        command = find_pipe_to_shell(text)
        if command and command.lower() not in evidence:
            return f"suggests piping a download into a shell ({name}: {command[:120]!r})"
    return None


def _subject_forms(finding: Finding) -> list[str]:
    """A finding's subjects, plus a file's basename, and a test id's file basename and name
    (`tests/test_tax.py::test_vat[de]` is also `test_tax.py` and `test_vat[de]`)."""
    forms = [clean_text(s).strip() for s in finding.subjects()]
    if finding.file:
        forms.append(_basename(clean_text(finding.file)))
    if finding.test_id and "::" in finding.test_id:
        path, _, name = clean_text(finding.test_id).partition("::")
        forms.extend([_basename(path), name.rsplit("::", 1)[-1]])
    return [f for f in dict.fromkeys(forms) if f]


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.strip())[-1]


def names_a_subject(text: str, findings: Sequence[Finding]) -> bool:
    """Whether `text` names a subject of `findings` (case-insensitive, not inside a word)."""
    for finding in findings:
        for form in _subject_forms(finding):
            if re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text, re.IGNORECASE):
                return True
    return False


def check_subjects(draft: ReportDraft, prompt: ReportPrompt) -> str | None:
    subjects = [s for f in prompt.findings for s in f.subjects()]
    if not subjects or names_a_subject(draft.root_cause, prompt.findings):
        return None
    named = _listed(repr(clean_text(s)[:80]) for s in dict.fromkeys(subjects))
    return f"root cause names none of the findings' subjects ({named})"


def check_example(draft: ReportDraft, prompt: ReportPrompt) -> str | None:
    if (
        draft.summary == ANSWER_EXAMPLE["summary"]
        or draft.root_cause == ANSWER_EXAMPLE["root_cause"]
    ):
        return "repeats the prompt's example instead of describing this log"
    return None


CHECKS = (check_example, check_category, check_shell_pipes, check_cited_lines, check_subjects)


def cap_confidence(draft: ReportDraft, prompt: ReportPrompt) -> tuple[ReportDraft, str | None]:
    """The draft with its confidence capped (see the module docstring), and a warning if cut."""
    found = prompt.category is not None and prompt.category is not Category.UNKNOWN
    cap = CONFIDENCE_CAP if found else UNKNOWN_CONFIDENCE_CAP
    if draft.confidence <= cap:
        return draft, None
    why = "rules found the category" if found else "no rule found a category"
    warning = f"model confidence {draft.confidence:g} capped at {cap:g} ({why})"
    return draft.model_copy(update={"confidence": cap}), warning


def review_draft(draft: ReportDraft, prompt: ReportPrompt) -> DraftReview:
    """Run every check; reject with all problems found, else return the capped draft."""
    problems = [p for check in CHECKS if (p := check(draft, prompt)) is not None]
    if problems:
        return DraftReview(draft=None, problems=problems)
    capped, warning = cap_confidence(draft, prompt)
    return DraftReview(draft=capped, warnings=[warning] if warning else [])
