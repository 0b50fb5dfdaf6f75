"""How flow runs keep their return value: persisted as JSON, so `workflowai trigger --format
json` can read it (tasks opt out in `tasks/policy.py`).

Set on each flow rather than as `env` job variables of the work pool: the pools' templates give
run callers no env to set (`workflowai/pool_templates.py`), and a template env would be merged
with a caller's by the worker.
"""

from __future__ import annotations

from typing import Any

PERSIST_JSON: dict[str, Any] = {"persist_result": True, "result_serializer": "json"}
