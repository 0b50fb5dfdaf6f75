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


# A Travis job: the script phase's commands are echoed as `$ cmd`, the runner reports each
# command's exit, and after_failure hooks run after the failing one.
TRAVIS_LINT_THEN_HOOKS = (
    """\
travis_fold:start:install\r\x1b[0K$ pip install -r requirements.txt
Collecting flake8==3.7.9
Successfully installed flake8-3.7.9
travis_fold:end:install\r\x1b[0K$ ./ci/check-headers.sh
Checking 214 files for license headers
src/net/socket.c is missing the license header
src/net/tls.c is missing the license header
2 files without a header; add one with ./ci/add-header.sh
\x1b[31;1mThe command "./ci/check-headers.sh" exited with 1.\x1b[0m
travis_fold:start:cache.2\r\x1b[0Kstore build cache
"""
    + "".join(f"uploading cache part {i}/20\n" for i in range(1, 21))
    + """\
travis_fold:end:cache.2\r\x1b[0K
travis_fold:start:after_failure\r\x1b[0K$ cat build/*.log
cat: 'build/*.log': No such file or directory
ERROR: failed to upload artifacts: no files matched
travis_fold:end:after_failure\r\x1b[0K
Done. Your build exited with 1.
"""
)

# sbt prints the first compile error, then the errors it caused, then a summary.
SBT_CASCADE = """\
[info] Compiling 12 Scala sources to /build/core/target/scala-2.13/classes ...
[error] /build/core/src/main/scala/acme/Cart.scala:10:8: object Money is not a member of package acme.model
[error] import acme.model.Money
[error]        ^
[error] /build/core/src/main/scala/acme/Cart.scala:31:20: not found: type Money
[error]   def total: Money = items.map(_.price).sum
[error]                    ^
[error] /build/core/src/main/scala/acme/Cart.scala:44:20: not found: type Money
[error]   def tax: Money = total * rate
[error]                  ^
[error] three errors found
[error] (core / Compile / compileIncremental) Compilation failed
[error] Total time: 41 s, completed Aug 3, 2019 2:13:39 PM
The command "sbt ++2.13.0 test" exited with 1.
"""


def _key_numbers(signals: Signals) -> set[int]:
    return {n for block in signals.blocks for n in block.key_lines}


def _shown(signals: Signals) -> dict[int, str]:
    return {line.number: line.text for block in signals.blocks for line in block.lines}


def test_signals_failing_command_output_beats_after_failure_hooks() -> None:
    signals = _signals(TRAVIS_LINT_THEN_HOOKS)
    shown = _shown(signals)
    # no rule knows the header checker: its last lines before the runner's exit line are shown
    assert "2 files without a header; add one with ./ci/add-header.sh" in shown.values()
    assert "src/net/tls.c is missing the license header" in shown.values()
    assert signals.blocks[0].rule_ids[0] == "ci-step-failed"
    # the after_failure hook's errors rank below the failing command
    hook = next(n for n, t in shown.items() if t.startswith("ERROR: failed to upload"))
    assert hook not in signals.blocks[0].key_lines
    assert signals.failing_step == "./ci/check-headers.sh"
    assert signals.exit_code == 1


def test_signals_runner_exit_zero_is_no_evidence() -> None:
    log = 'Running lint\nall files clean\nThe command "make lint" exited with 0.\n'
    assert _signals(log).blocks == []


def test_signals_first_error_of_a_cascade_ranks_first() -> None:
    signals = _signals(SBT_CASCADE)
    first = signals.blocks[0]
    assert 2 in first.key_lines, first
    assert any("object Money is not a member" in line.text for line in first.lines)


def test_signals_same_error_repeated_is_shown_once() -> None:
    error = "SyntaxError: Octal escape sequences are not allowed in strict mode."
    runs = [f"running suite {i}\n" + "\n".join(f"ok {j}" for j in range(12)) for i in range(3)]
    log = "\n".join(f"{run}\n{error}" for run in runs) + "\n"
    signals = _signals(log)
    shown = [line.text for block in signals.blocks for line in block.lines]
    assert shown.count(error) == 1


def test_signals_warning_level_lines_rank_below_errors() -> None:
    log = (
        "[warning] retrying request: connection failed (attempt 1)\n"
        + "\n".join(f"step {i}" for i in range(20))
        + "\nERROR: database migration 0042 failed: column 'sku' already exists\n"
        + "\n".join(f"cleanup {i}" for i in range(5))
        + "\n[warning] retrying request: connection failed (attempt 2)\n"
    )
    signals = _signals(log)
    assert signals.blocks[0].key_lines == [22]


def test_signals_reprinted_failure_is_shown_where_it_first_happened() -> None:
    check = [
        "* checking tests ...",
        "  Running 'testthat.R'",
        " ERROR",
        "Running the tests in 'tests/testthat.R' failed.",
        "  1. Failure: parse keeps NA (@test-parse.R#12)",
        "  Error: testthat unit tests failed",
        "  Execution halted",
    ]
    log = (
        "\n".join(f"* checking part {i} ... OK" for i in range(30))
        + "\n"
        + "\n".join(check)
        + "\n"
        + "\n".join(f"installing file {i}" for i in range(60))
        + "\n$ cat pkg.Rcheck/00check.log\n"
        + "\n".join(check)
        + "\nStatus: 1 ERROR\n"
    )
    signals = _signals(log)
    first = signals.blocks[0]
    # the original output (lines 31-37) wins over the later copy (lines 99-105)
    assert first.start_line <= 34 <= first.end_line, first
    assert all(102 not in block.key_lines for block in signals.blocks), signals.blocks


def test_signals_long_failure_list_is_shown_through_to_its_end() -> None:
    # A go test failure list longer than one block: the key lines past the first block's cap
    # open a second window that overlaps it. That window keeps the part beside the chosen
    # block instead of being dropped, so the list is shown to its end rather than spending
    # the budget on the routine lines around the runner's final exit code.
    cases = ["with_hostname", "no_hostname", "org_and_env", "invalid_workspace", "env_tag"]
    cases += ["workspace_env", "no_tag", "all_env", "no_org", "token_only", "bad_host"]
    failures = ["--- FAIL: TestCloud_configWithEnvVars (0.00s)"]
    for case in cases:
        failures.append(f"    --- FAIL: TestCloud_configWithEnvVars/{case} (0.00s)")
        failures.append("        testing.go:192: missing API token")
    failures.append("FAIL\tgithub.com/hashicorp/terraform/internal/cloud\t0.412s")
    log = (
        "\n".join(
            f"ok  \tgithub.com/hashicorp/terraform/internal/pkg{i}\t0.0{i % 9}s" for i in range(40)
        )
        + "\n"
        + "\n".join(failures)
        + "\n"
        + "\n".join(
            f"?   \tgithub.com/hashicorp/terraform/tools/tool{i}\t[no test files]"
            for i in range(40)
        )
        + "\nFAIL\n##[error]Process completed with exit code 1.\n"
    )
    first, last = 41, 41 + len(failures) - 1
    signals = _signals(log)
    shown = {line.number for block in signals.blocks for line in block.lines}
    fail_lines = {n for n in range(first, last + 1) if "--- FAIL" in log.splitlines()[n - 1]}
    assert len(fail_lines) == 12
    assert fail_lines <= shown, sorted(fail_lines - shown)
    assert sum(len(block.lines) for block in signals.blocks) <= MAX_EVIDENCE_LINES


def test_signals_nearby_blocks_are_joined_into_one_excerpt() -> None:
    # BuildKit prints the failing step's error, the other steps' cancellation and the
    # Dockerfile excerpt, then the final error: two key lines 16 lines apart whose context
    # windows leave a few lines between them. Those lines are shown: one excerpt, no hole.
    log = "\n".join(
        [f"#{i} [internal] load metadata for docker.io/library/alpine:3.{i}" for i in range(20)]
        + [
            "#6 [2/3] RUN apk add --no-cache git openssh",
            "#6 ERROR: failed to copy: httpReadSeeker: failed open: could not fetch content descriptor sha256:df9b (application/vnd.docker.image.rootfs.diff.tar.gzip) from remote: not found",
            "",
            "#7 [internal] load build context",
            "#7 transferring context: 4.33MB 0.2s done",
            "#7 CANCELED",
            "------",
            " > [2/3] RUN apk add --no-cache git openssh:",
            "------",
            "build-Dockerfile:32",
            "--------------------",
            "  31 |     ",
            "  32 | >>> RUN apk add --no-cache git openssh",
            "  33 |     ",
            "--------------------",
            "error: failed to solve: failed to compute cache key: failed to copy: httpReadSeeker: failed open: not found",
            "##[error]Process completed with exit code 1.",
        ]
    )
    signals = _signals(log)
    lines = log.splitlines()
    first = 1 + lines.index(next(line for line in lines if line.startswith("#6 ERROR")))
    last = 1 + lines.index(
        next(line for line in lines if line.startswith("error: failed to solve"))
    )
    spanning = [b for b in signals.blocks if b.start_line <= first and last <= b.end_line]
    assert spanning, [(b.start_line, b.end_line) for b in signals.blocks]


def test_signals_stack_trace_is_shown_on_to_the_project_frames() -> None:
    # `go test` panics: the runtime's frames come first, the project's own code (where the bug
    # is) below them, past one block's length. Spare budget follows the trace down.
    log = "\n".join(
        [f"ok  \tgithub.com/acme/app/internal/pkg{i}\t0.0{i}s" for i in range(10)]
        + [
            "--- FAIL: TestCloud_applyBasic (0.00s)",
            "panic: value has no attribute of that name [recovered]",
            "\tpanic: value has no attribute of that name",
            "",
            "goroutine 21 [running]:",
            "testing.tRunner.func1.2({0x10cb460, 0x15cde10})",
            "\t/opt/hostedtoolcache/go/1.18.1/x64/src/testing/testing.go:1389 +0x24e",
            "testing.tRunner.func1()",
            "\t/opt/hostedtoolcache/go/1.18.1/x64/src/testing/testing.go:1392 +0x39f",
            "panic({0x10cb460, 0x15cde10})",
            "\t/opt/hostedtoolcache/go/1.18.1/x64/src/runtime/panic.go:838 +0x207",
            "github.com/zclconf/go-cty/cty.Value.GetAttr({{{0x15dbdf8?, 0xc00011b590?}}, {0x1128440?, 0xc0001217d0?}}, {0x12875fb, 0x6})",
            "\t/home/runner/go/pkg/mod/github.com/zclconf/go-cty@v1.10.0/cty/value_ops.go:749 +0x305",
            "github.com/acme/app/internal/cloud.(*Cloud).setConfigurationFields(0xc0001a6780, {{{0x15dbdf8?, 0xc00011b590?}}, {0x1128440?, 0xc0001217d0?}})",
            "\t/home/runner/work/app/app/internal/cloud/backend.go:380 +0x205",
            "github.com/acme/app/internal/cloud.TestCloud_applyBasic(0xc00020aea0)",
            "\t/home/runner/work/app/app/internal/cloud/backend_apply_test.go:67 +0x4a",
            "testing.tRunner(0xc00020aea0, 0x131edc0)",
            "\t/opt/hostedtoolcache/go/1.18.1/x64/src/testing/testing.go:1439 +0x102",
            "created by testing.(*T).Run",
            "\t/opt/hostedtoolcache/go/1.18.1/x64/src/testing/testing.go:1486 +0x35f",
            "FAIL\tgithub.com/acme/app/internal/cloud\t0.029s",
        ]
        + [f"ok  \tgithub.com/acme/app/internal/tool{i}\t0.0{i}s" for i in range(10)]
        + ["FAIL", "##[error]Process completed with exit code 1."]
    )
    signals = _signals(log)
    shown = [line.text for block in signals.blocks for line in block.lines]
    assert any("backend_apply_test.go:67" in text for text in shown), shown
    assert sum(len(block.lines) for block in signals.blocks) <= MAX_EVIDENCE_LINES
