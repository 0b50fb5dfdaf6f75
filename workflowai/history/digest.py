"""The most frequent failures of a period (`workflowai history top`, the `failure-digest` flow).

One row per fingerprint: count, jobs, branches, first/last seen, the verdict of its latest
occurrence and its known issue; plus the daily counts of each, drawn as a text bar chart (a
Markdown artifact renders it in the Prefect UI and in a terminal alike).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from workflowai.history.known import known_issue
from workflowai.history.models import Outcome, RunQuery, SignatureStats, Verdict
from workflowai.history.protocol import HistoryStore
from workflowai.history.recording import history_of
from workflowai.settings import HistorySettings

MAX_RUNS_PER_SIGNATURE = 10_000
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
_BARS = " ▁▂▃▄▅▆▇█"


def parse_span(text: str) -> timedelta:
    """`7d`, `24h`, `2w` -> a timedelta. Raises ValueError naming the accepted forms."""
    match = _SPAN.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"a period is a number and h, d or w (24h, 7d, 2w); got {text!r}")
    return timedelta(hours=float(match.group(1)) * _HOURS[match.group(2).lower()])


class DigestRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signature: str = Field(description="the history fingerprint")
    count: int
    jobs: list[str]
    branches: list[str]
    first_seen: datetime
    last_seen: datetime
    verdict: Verdict
    known_issue: str | None = None
    summary: str = ""
    category: str = ""
    daily: list[int] = Field(default_factory=list, description="failures per day, oldest first")


class Digest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    since: datetime
    until: datetime
    days: list[date]
    rows: list[DigestRow]


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.date(), until.date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _row(
    store: HistoryStore,
    stats: SignatureStats,
    *,
    since: datetime,
    until: datetime,
    days: list[date],
    repository: str | None,
    settings: HistorySettings,
) -> DigestRow:
    runs = store.find_runs(
        RunQuery(
            fingerprint=stats.fingerprint,
            repository=repository,
            outcome=Outcome.FAILURE,
            since=since,
            until=until,
            limit=MAX_RUNS_PER_SIGNATURE,
        )
    )
    per_day = {day: 0 for day in days}
    for run in runs:
        day = run.recorded_at.date()
        if day in per_day:
            per_day[day] += 1
    # the latest occurrence judged against all of its history, as an analysis would now
    verdict = history_of(store, runs[0], settings)
    confirmed = known_issue(store.decisions(stats.fingerprint))
    return DigestRow(
        signature=stats.fingerprint,
        count=stats.count,
        jobs=stats.jobs,
        branches=stats.branches,
        first_seen=stats.first_seen,
        last_seen=stats.last_seen,
        verdict=verdict.verdict,
        known_issue=(
            f"{confirmed.title} (confirmed {confirmed.decided_at:%Y-%m-%d})" if confirmed else None
        ),
        summary=stats.summary,
        category=stats.category,
        daily=[per_day[d] for d in days],
    )


def build_digest(
    store: HistoryStore,
    *,
    since: datetime,
    until: datetime,
    top: int,
    settings: HistorySettings,
    repository: str | None = None,
) -> Digest:
    """The `top` most frequent fingerprints failing in [since, until)."""
    query = RunQuery(
        repository=repository, outcome=Outcome.FAILURE, since=since, until=until, limit=top
    )
    days = _days(since, until)
    rows = [
        _row(
            store,
            stats,
            since=since,
            until=until,
            days=days,
            repository=repository,
            settings=settings,
        )
        for stats in store.stats(query)
    ]
    return Digest(since=since, until=until, days=days, rows=rows)


def table(digest: Digest) -> list[dict[str, str | int]]:
    """Rows for a table artifact or a terminal table."""
    return [
        {
            "signature": row.signature,
            "count": row.count,
            "verdict": row.verdict.value,
            "jobs": ", ".join(row.jobs),
            "branches": ", ".join(row.branches),
            "first seen": f"{row.first_seen:%Y-%m-%d %H:%M}",
            "last seen": f"{row.last_seen:%Y-%m-%d %H:%M}",
            "known issue": row.known_issue or "",
            "summary": row.summary[:160],
        }
        for row in digest.rows
    ]


def sparkline(counts: list[int]) -> str:
    """One character per day, its height the day's count relative to the row's maximum."""
    peak = max(counts, default=0)
    if peak == 0:
        return " " * len(counts)
    return "".join(_BARS[0 if c == 0 else max(1, round(c / peak * 8))] for c in counts)


def chart_markdown(digest: Digest) -> str:
    """Daily failure counts of the top signatures as a Markdown text chart."""
    if not digest.rows:
        return f"No failures recorded since {digest.since:%Y-%m-%d %H:%M} UTC."
    first, last = digest.days[0], digest.days[-1]
    lines = [
        f"{row.signature}  {sparkline(row.daily)}  {row.count:>5}  {row.verdict.value}"
        for row in digest.rows
    ]
    head = f"{'signature':<16}  {first:%m-%d} .. {last:%m-%d}".ljust(18 + len(digest.days))
    body = "\n".join([head + "  count  verdict", *lines])
    return (
        f"### Daily failures of the top {len(digest.rows)} signatures, "
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)\n\n"
        "One column per day; the tallest bar is that signature's busiest day.\n\n"
        f"```text\n{body}\n```\n"
    )
