"""Verdicts: is this failure new, recurring, flaky, or broken on the base branch?

Pure functions of a run and the earlier runs the store returned, so both backends judge alike
and the rules are unit-tested without a store. Precedence, strongest evidence first:

1. flaky: the same fingerprint failed and passed on the same commit and job (a later attempt or
   a recorded success);
2. broken-base: the same fingerprint failed on the default branch within `broken_base_window_h`
   (for a run on another branch; on the default branch itself a repeat is recurring);
3. flaky: the same fingerprint hit `flaky_min_branches` branches other than the default one
   within `flaky_window_h` (a failure that many unrelated changes share is not theirs);
4. recurring: seen before;
5. new.

A run without a fingerprint (only generic exit lines) is never matched: verdict new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from workflowai.history.models import (
    EarlierRun,
    RunHistory,
    RunRecord,
    SignatureStats,
    Verdict,
)
from workflowai.settings import HistorySettings


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def _short(commit: str | None) -> str:
    return (commit or "?")[:12]


def passed_on_same_commit(
    failures: Sequence[RunRecord], successes: Sequence[RunRecord]
) -> tuple[RunRecord, RunRecord] | None:
    """A (failure, success) pair of the same repository, commit and job, or None."""
    passed = {
        (s.context.repository, s.context.commit, s.context.job): s
        for s in successes
        if s.context.commit
    }
    for failure in failures:
        key = (failure.context.repository, failure.context.commit, failure.context.job)
        if failure.context.commit and key in passed:
            return failure, passed[key]
    return None


def _earlier_run(run: RunRecord) -> EarlierRun:
    c = run.context
    return EarlierRun(
        seen_at=run.recorded_at,
        run_url=c.run_url,
        repository=c.repository,
        branch=c.branch,
        commit=c.commit,
        job=c.job,
        attempt=c.attempt,
    )


def judge(
    run: RunRecord,
    *,
    earlier: Sequence[RunRecord],
    stats: SignatureStats | None,
    successes: Sequence[RunRecord],
    settings: HistorySettings,
) -> RunHistory:
    """The verdict on `run`.

    `earlier`: earlier failures with the same fingerprint (newest first, `run` excluded);
    `stats`: their aggregate (count, first and last seen, branches), None when there are none;
    `successes`: recorded successes on the commits of `run` and of `earlier`.
    """
    if run.fingerprint is None:
        return RunHistory(
            verdict=Verdict.NEW,
            reason="no specific failure line to match against history (only generic exit "
            "lines): not compared with earlier runs",
        )
    earlier = [r for r in earlier if r.id != run.id]
    before = stats.count if stats is not None else len(earlier)
    branches = sorted({*(stats.branches if stats else ()), *filter(None, [run.context.branch])})
    base = RunHistory(
        verdict=Verdict.NEW,
        fingerprint=run.fingerprint,
        occurrences=before + 1,
        first_seen=stats.first_seen if stats else None,
        last_seen=stats.last_seen if stats else None,
        branches=branches,
        earlier_runs=[_earlier_run(r) for r in earlier[: settings.max_earlier_runs]],
    )
    now = run.recorded_at

    pair = passed_on_same_commit([run, *earlier], successes)
    if pair is not None:
        failure, _ = pair
        job = f" ({failure.context.job})" if failure.context.job else ""
        return base.model_copy(
            update={
                "verdict": Verdict.FLAKY,
                "reason": f"the same failure also passed on commit "
                f"{_short(failure.context.commit)}{job}: it does not depend on the change",
            }
        )

    base_window = timedelta(hours=settings.broken_base_window_h)
    on_base = [r for r in earlier if r.on_default_branch and now - r.recorded_at <= base_window]
    # on the default branch itself a repeat is that branch's own recurring failure
    if on_base and not run.on_default_branch:
        latest = on_base[0]
        name = f" {latest.context.branch}" if latest.context.branch else ""
        return base.model_copy(
            update={
                "verdict": Verdict.BROKEN_BASE,
                "reason": f"the same failure happened on the default branch{name} "
                f"{_ago(now - latest.recorded_at)} ago (commit "
                f"{_short(latest.context.commit)}): not caused by this change",
            }
        )

    flaky_window = timedelta(hours=settings.flaky_window_h)
    recent = [run, *(r for r in earlier if now - r.recorded_at <= flaky_window)]
    spread = {r.context.branch for r in recent if r.context.branch and not r.on_default_branch}
    if len(spread) >= settings.flaky_min_branches:
        return base.model_copy(
            update={
                "verdict": Verdict.FLAKY,
                "reason": f"the same failure hit {len(spread)} different branches within "
                f"{_ago(flaky_window)}: unrelated changes share it",
            }
        )

    if before > 0 and base.first_seen is not None:
        where = f" on {', '.join(branches)}" if branches else ""
        return base.model_copy(
            update={
                "verdict": Verdict.RECURRING,
                "reason": f"seen {before} time{'s' if before > 1 else ''} before, first "
                f"{base.first_seen:%Y-%m-%d}{where}",
            }
        )
    return base.model_copy(update={"reason": "first time this failure is seen"})
