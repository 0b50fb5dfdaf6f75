# ruff: noqa: E501 (log excerpts stay verbatim)
"""extract_signals on realistic log excerpts: category, key line, step, exit code, blocks."""

from __future__ import annotations

import pytest

from workflowai.analysis.baseline import build_baseline
from workflowai.analysis.normalize import read_log
from workflowai.analysis.report import Category
from workflowai.analysis.signals import MAX_EVIDENCE_LINES, Signals, extract_signals
from workflowai.settings import AnalysisSettings

SETTINGS = AnalysisSettings()

GHA_PYTEST = """\
2024-05-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4
2024-05-01T10:00:01.0000000Z Syncing repository: acme/shop
2024-05-01T10:00:02.0000000Z ##[endgroup]
2024-05-01T10:00:03.0000000Z ##[group]Run pytest -q
2024-05-01T10:00:04.0000000Z ============================= test session starts ==============================
2024-05-01T10:00:05.0000000Z collected 42 items
2024-05-01T10:00:06.0000000Z tests/test_cart.py ........F.
2024-05-01T10:00:07.0000000Z =================================== FAILURES ===================================
2024-05-01T10:00:07.1000000Z ______________________________ test_total_price ________________________________
2024-05-01T10:00:07.2000000Z     def test_total_price():
2024-05-01T10:00:07.3000000Z >       assert cart.total() == 30
2024-05-01T10:00:07.4000000Z E       assert 29.99 == 30
2024-05-01T10:00:07.5000000Z tests/test_cart.py:18: AssertionError
2024-05-01T10:00:08.0000000Z =========================== short test summary info ============================
2024-05-01T10:00:08.1000000Z FAILED tests/test_cart.py::test_total_price - assert 29.99 == 30
2024-05-01T10:00:08.2000000Z ========================= 1 failed, 41 passed in 2.31s =========================
2024-05-01T10:00:08.3000000Z ##[error]Process completed with exit code 1.
2024-05-01T10:00:08.4000000Z ##[endgroup]
"""

MAVEN_COMPILE = """\
[INFO] --- maven-compiler-plugin:3.11.0:compile (default-compile) @ shop ---
[INFO] Compiling 12 source files to /home/runner/work/shop/shop/target/classes
[ERROR] COMPILATION ERROR :
[ERROR] /home/runner/work/shop/shop/src/main/java/shop/Cart.java:[27,16] cannot find symbol
  symbol:   method totl()
  location: class shop.Cart
[INFO] 1 error
[INFO] BUILD FAILURE
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile
"""

NPM_RESOLVE = """\
> npm ci
npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR! While resolving: shop@1.0.0
npm ERR! Found: react@18.2.0
npm ERR! Could not resolve dependency:
npm ERR! peer react@"^17.0.0" from react-widgets@4.2.0
"""

K8S_ROLLOUT = """\
$ kubectl rollout status deployment/api --timeout=120s
Waiting for deployment "api" rollout to finish: 0 of 3 updated replicas are available...
api-7d9f5c-x2k   0/1   CrashLoopBackOff   5   3m
error: deployment "api" exceeded its progress deadline
ERROR: Job failed: exit code 1
"""

TERRAFORM_LOCK = """\
Initializing the backend...
Acquiring state lock. This may take a few moments...
╷
│ Error: Error acquiring the state lock
│
│ Error message: ConditionalCheckFailedException: The conditional request failed
│ Lock Info:
│   ID:        8f1c2a3b-1111-2222-3333-444455556666
│   Operation: OperationTypeApply
╵
"""

OOM = """\
Step 7/9 : RUN npm run build
> webpack --mode production
<--- Last few GCs --->
FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
Killed
ERROR: Job failed: exit code 137
"""

CASES = [
    ("gha-pytest", GHA_PYTEST, Category.TEST, "FAILED tests/test_cart.py::test_total_price"),
    ("maven-compile", MAVEN_COMPILE, Category.COMPILE, "Cart.java:[27,16] cannot find symbol"),
    ("npm-resolve", NPM_RESOLVE, Category.DEPENDENCY, "ERESOLVE unable to resolve"),
    ("k8s-rollout", K8S_ROLLOUT, None, "CrashLoopBackOff"),
    ("terraform-lock", TERRAFORM_LOCK, Category.INFRASTRUCTURE, "acquiring the state lock"),
    ("oom", OOM, Category.OUT_OF_MEMORY, "JavaScript heap out of memory"),
]


def _signals(text: str, **kwargs: object) -> Signals:
    return extract_signals(read_log(text, max_bytes=1 << 20), settings=SETTINGS, **kwargs)


@pytest.mark.parametrize(("name", "log", "category", "key"), CASES, ids=[c[0] for c in CASES])
def test_signals_category_and_key_evidence(
    name: str, log: str, category: Category | None, key: str
) -> None:
    signals = _signals(log)
    assert signals.blocks, name
    if category is not None:
        assert signals.category is category
    else:
        assert signals.category in {Category.INFRASTRUCTURE, Category.TIMEOUT}
    shown = [line.text for block in signals.blocks for line in block.lines]
    assert any(key in text for text in shown)
    assert 0.0 < signals.category_confidence <= 1.0


def test_signals_keep_original_line_numbers_step_and_exit_code() -> None:
    signals = _signals(GHA_PYTEST)
    raw = GHA_PYTEST.splitlines()
    for block in signals.blocks:
        for line in block.lines:
            assert raw[line.number - 1].endswith(line.text)
    failed_line = next(i for i, t in enumerate(raw, 1) if "FAILED tests/" in t)
    assert failed_line in {n for b in signals.blocks for n in b.key_lines}
    assert signals.failing_step == "Run pytest -q"
    assert signals.blocks[0].step == "Run pytest -q"
    assert signals.exit_code == 1
    assert not any("##[group]" in line.text for b in signals.blocks for line in b.lines)


def test_signals_exit_code_from_gitlab_job_line() -> None:
    assert _signals(OOM).exit_code == 137


def test_signals_nearby_errors_merge_into_one_block() -> None:
    signals = _signals(NPM_RESOLVE)
    assert len(signals.blocks) == 1
    assert len(signals.blocks[0].key_lines) >= 2
    numbers = [line.number for line in signals.blocks[0].lines]
    assert numbers == sorted(set(numbers))


def test_signals_blocks_capped_and_compact() -> None:
    filler = "\n".join(f"compiling module {i}" for i in range(30))
    errors = [f"src/mod{i}.c:{i + 1}:3: error: unknown type name 'foo{i}'" for i in range(20)]
    log = "\n".join(f"{filler}\n{error}" for error in errors)
    settings = AnalysisSettings(max_evidence_blocks=3)
    signals = extract_signals(read_log(log, max_bytes=1 << 20), settings=settings)
    assert 1 <= len(signals.blocks) <= 3
    assert sum(len(b.lines) for b in signals.blocks) <= MAX_EVIDENCE_LINES
    scores = [b.score for b in signals.blocks]
    assert scores == sorted(scores, reverse=True)


def test_signals_baseline_pushes_down_lines_the_passing_run_also_has() -> None:
    noise = "ERROR: deprecated option --legacy-peer-deps ignored"
    passing = f"setup\n{noise}\nall good\n"
    failing = (
        f"setup\n{noise}\n" + "\n".join(f"step {i}" for i in range(20)) + "\n"
        "connect ECONNREFUSED 127.0.0.1:5432\nmore output\n"
    )
    without = _signals(failing)
    baseline = build_baseline(passing, max_bytes=1 << 20)
    with_baseline = _signals(failing, baseline=baseline)
    first_without = {n for b in without.blocks for n in b.key_lines}
    assert 2 in first_without
    assert 2 not in {n for b in with_baseline.blocks for n in b.key_lines}
    assert with_baseline.category is Category.NETWORK


def test_signals_clean_log_has_no_evidence() -> None:
    signals = _signals("Collecting requests\nInstalling collected packages\nDone in 3s\n")
    assert signals.blocks == []
    assert signals.category is Category.UNKNOWN
    assert signals.category_confidence == 0.0
    assert signals.signature_text == "<no evidence>"
