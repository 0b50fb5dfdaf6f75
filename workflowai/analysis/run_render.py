"""Render a `RunReport` as ONE Markdown comment: an overview, then a section per cause.

Each cause group shows its first job's report as `render.render_markdown` writes it (headings
moved one level down), so the single-log rendering is reused, not copied. The whole comment
stays under `limit` characters (GitHub's comment limit is 65,536): a group whose full report
does not fit is shown in a short form (facts and its first evidence block), and when even
that does not fit, as one line of the overview; the reader is told what was shortened.
Job names are CI data: escaped like any other log text.
"""

from __future__ import annotations

import re

from workflowai.analysis.render import (
    MAX_COMMENT_CHARS,
    escape_inline,
    render_block,
    render_markdown,
)
from workflowai.analysis.run_report import CauseGroup, RunReport

MAX_NAMES = 20
OVERVIEW_NAMES = 5
MAX_OVERVIEW_ROWS = 30
MAX_SHORT_EVIDENCE = 6_000
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,5}) ")


def demote_headings(markdown: str) -> str:
    """Every heading outside fenced blocks one level down; the level-2 title line removed."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            closing = opened is not None and not line[opened.end() :].strip()
            if closing and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif opened:
            fence = opened.group(1)
        elif heading := _HEADING.match(line):
            if heading.group(1) == "##" and not out:
                continue  # the single report's title: the section heading replaces it
            line = "#" + line
        out.append(line)
    return "\n".join(out).strip("\n")


def job_list(names: list[str], *, limit: int = MAX_NAMES) -> str:
    """Job names, escaped, the first `limit` of them."""
    shown = ", ".join(_name(n) for n in names[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _name(name: str) -> str:
    # escaped prose rather than inline code: a `|` would split a table cell even in code
    return f"**{escape_inline(name, limit=120)}**"


def _heading(index: int, group: CauseGroup) -> str:
    if len(group.jobs) == 1:
        return f"### {index}. Job {job_list(group.jobs)}"
    return f"### {index}. {len(group.jobs)} jobs failed with the same cause"


def _jobs_line(group: CauseGroup) -> str:
    if len(group.jobs) == 1:
        return ""
    return f"Jobs: {job_list(group.jobs)}. The report below is the first job's.\n\n"


def _full(index: int, group: CauseGroup, run: RunReport) -> str:
    body = demote_headings(render_markdown(run.report_of(group.jobs[0])))
    return f"{_heading(index, group)}\n\n{_jobs_line(group)}{body}\n"


def _short(index: int, group: CauseGroup, run: RunReport) -> str:
    report = run.report_of(group.jobs[0])
    facts = [f"category {report.category.value}", f"signature `{report.failure_signature}`"]
    if report.failing_step:
        facts.append(f"step {escape_inline(report.failing_step, limit=200)}")
    if report.exit_code is not None:
        facts.append(f"exit code {report.exit_code}")
    parts = [
        _heading(index, group),
        "",
        _jobs_line(group).rstrip("\n"),
        f"**Summary:** {escape_inline(report.summary)}",
        "",
        "; ".join(facts),
        "",
    ]
    block = render_block(report.evidence[0]) if report.evidence else ""
    if block and len(block) <= MAX_SHORT_EVIDENCE:
        parts += [block, ""]
    parts.append("_Shortened to fit one comment: the full report is in the run's JSON result._")
    return "\n".join(parts) + "\n"


def _overview(run: RunReport) -> str:
    jobs, causes = len(run.jobs), len(run.groups)
    title = (
        f"## WorkflowAI failure analysis: {jobs} failed {'job' if jobs == 1 else 'jobs'}, "
        f"{causes} {'cause' if causes == 1 else 'causes'}"
    )
    rows = ["| # | Jobs | Category | Summary |", "|---|---|---|---|"]
    for index, group in enumerate(run.groups[:MAX_OVERVIEW_ROWS], start=1):
        names = job_list(group.jobs, limit=OVERVIEW_NAMES)
        rows.append(
            f"| {index} | {len(group.jobs)}: {names} | {group.category.value} "
            f"| {escape_inline(group.summary, limit=200)} |"
        )
    if causes > MAX_OVERVIEW_ROWS:
        rows.append(f"\n_{causes - MAX_OVERVIEW_ROWS} more causes are not listed._")
    return "\n".join([title, "", *rows, ""]) + "\n"


def render_run_markdown(run: RunReport, *, limit: int = MAX_COMMENT_CHARS) -> str:
    """The run report as one Markdown comment of at most `limit` characters.

    Every group gets its short form while they fit (in group order), then groups are upgraded
    to their full report in order while the total still fits.
    """
    head = _overview(run)
    budget = limit - len(head) - 200  # the note about shortened sections
    short = [_short(i, g, run) for i, g in enumerate(run.groups, start=1)]
    chosen: list[str] = []
    for section in short:
        if len(section) + 1 > budget:
            break
        chosen.append(section)
        budget -= len(section) + 1
    upgraded = 0
    for position, section in enumerate(chosen):
        full = _full(position + 1, run.groups[position], run)
        if len(full) - len(section) <= budget:
            budget -= len(full) - len(section)
            chosen[position] = full
            upgraded += 1
    notes = []
    if upgraded < len(chosen):
        notes.append(f"{len(chosen) - upgraded} section(s) shortened to fit one comment")
    if len(chosen) < len(run.groups):
        notes.append(f"{len(run.groups) - len(chosen)} cause group(s) only in the overview")
    note = f"\n_{'; '.join(notes)}._\n" if notes else ""
    return head + "\n" + "\n".join(chosen) + note
