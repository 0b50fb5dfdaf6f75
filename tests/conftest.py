"""Test-wide isolation: every run gets its own PREFECT_HOME and WORKFLOWAI_HOME.

The variables are set before anything imports prefect, so no test touches ~/.prefect or the
user's knowledge base, and nothing phones home.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_RUN_DIR = Path(tempfile.mkdtemp(prefix="workflowai-tests-"))
os.environ["PREFECT_HOME"] = str(_RUN_DIR / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["WORKFLOWAI_HOME"] = str(_RUN_DIR / "home")
# tests choose their backends explicitly; a developer's .env or shell must not leak in
# (WORKFLOWAI_TEST_* say where the test servers are, e.g. WORKFLOWAI_TEST_ES_URL: kept; so is
# WORKFLOWAI_MODELS_DIR, where scripts/setup.sh installed the packaged embedding model)
_KEPT = {"WORKFLOWAI_HOME", "WORKFLOWAI_MODELS_DIR"}
for _name in list(os.environ):
    test_server = _name.startswith("WORKFLOWAI_TEST_")
    if _name.startswith("WORKFLOWAI_") and _name not in _KEPT and not test_server:
        del os.environ[_name]
os.environ.pop("PREFECT_API_URL", None)

REPO_ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO_ROOT.parent / "shared" / "eval"
