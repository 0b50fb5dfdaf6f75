"""The operational policy every task shares: retry only transient errors, with backoff.

`retry_condition_fn` asks `workflowai.errors.is_transient` (the error or anything it was raised
from is a `TransientError`: store unreachable, 429/503, database locked, generation server
overloaded). Everything else (bad input, schema mismatch, a config error) fails at once:
retrying it would only hide the message for longer.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from workflowai.errors import is_transient

# 1 s, 2 s, 4 s (x jitter): long enough for a locked SQLite file or an ES node's 429 to clear
RETRIES = 3
BACKOFF = exponential_backoff(backoff_factor=1)
JITTER = 0.5


def retry_condition_fn(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry hook: True (retry) only when the failure is transient."""
    try:
        state.result()
    except BaseException as exc:  # the state re-raises the task's own exception
        return is_transient(exc)
    return False


def task_policy(*, timeout_seconds: float, retries: int = RETRIES, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for `@task`: shared retries and no input hashing.

    NO_CACHE because task inputs are settings (secrets), stores, models and batches of chunks:
    hashing them for cache keys would cost more than the work and could fail on unpicklables.
    """
    return {
        "retries": retries,
        "retry_delay_seconds": BACKOFF,
        "retry_jitter_factor": JITTER,
        "retry_condition_fn": retry_condition_fn,
        "timeout_seconds": timeout_seconds,
        "cache_policy": NO_CACHE,
        "persist_result": False,
        **extra,
    }
