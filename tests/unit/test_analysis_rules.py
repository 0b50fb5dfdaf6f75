"""The rule pack: loads from YAML, ids unique, and each family recognizes its tools' messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.analysis.normalize import looks_like_candidate
from workflowai.analysis.report import Category
from workflowai.analysis.rules import RulePack, default_pack, load_rules
from workflowai.errors import ConfigError

# (log line, rule id that must match, category of that rule)
FAMILIES = [
    ("src/main.c:12:5: error: expected ';' before 'return'", "gcc-clang-error", "compile"),
    ("/usr/bin/ld: main.o: undefined reference to `foo'", "linker-error", "compile"),
    ("[ERROR] /w/src/main/java/a/App.java:[12,5] cannot find symbol", "javac-error", "compile"),
    ("error[E0308]: mismatched types", "rustc-error", "compile"),
    ("./main.go:14:2: undefined: fmt.Printn", "go-compile-error", "compile"),
    ("src/app.ts(3,7): error TS2322: Type 'string' is not assignable", "tsc-error", "compile"),
    ("Program.cs(10,5): error CS1002: ; expected [/w/app.csproj]", "dotnet-error", "compile"),
    (
        "FAILED tests/test_api.py::test_login - AssertionError: assert 401 == 200",
        "pytest-failed-test",
        "test",
    ),
    ("  ● LoginForm › submits the form", "jest-failed-test", "test"),
    (
        "Tests run: 5, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.5 s <<< FAILURE! - in a.AppTest",
        "surefire-failure",
        "test",
    ),
    ("--- FAIL: TestParse (0.00s)", "go-test-fail", "test"),
    ("rspec ./spec/models/user_spec.rb:12 # User validates email", "rspec-failure", "test"),
    ("test tests::it_parses ... FAILED", "cargo-test-failed", "test"),
    (
        "ERROR: No matching distribution found for numpy==9.9",
        "pip-no-matching-distribution",
        "dependency",
    ),
    ("npm ERR! ERESOLVE unable to resolve dependency tree", "npm-resolve", "dependency"),
    (
        "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project a:b:jar:1.0",
        "maven-dependency-resolution",
        "dependency",
    ),
    (
        "> Could not resolve all files for configuration ':app:compileClasspath'.",
        "gradle-resolution",
        "dependency",
    ),
    (
        'error: failed to select a version for the requirement `serde = "^9"`',
        "cargo-resolution",
        "dependency",
    ),
    ("verifying github.com/a/b@v1.2.3: checksum mismatch", "go-mod", "dependency"),
    (
        "go: github.com/a/b@v1.2.3: reading https://proxy.golang.org/a/b/@v/v1.2.3.mod: 410 Gone",
        "go-mod",
        "dependency",
    ),
    ('Bundler could not find compatible versions for gem "rails":', "bundler", "dependency"),
    ("E: Unable to locate package libfoo-dev", "apt-failure", "dependency"),
    (
        'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        "docker-build-step-failed",
        "infrastructure",
    ),
    ("api-7d9f-x2   0/1   CrashLoopBackOff   5   3m", "k8s-crashloop", "infrastructure"),
    ("Warning  Failed  kubelet  Error: ImagePullBackOff", "k8s-image-pull", "configuration"),
    ("      Reason:       OOMKilled", "k8s-oomkilled", "out-of-memory"),
    ('error: deployment "api" exceeded its progress deadline', "k8s-progress-deadline", "timeout"),
    ("│ Error: Error acquiring the state lock", "terraform-state-lock", "infrastructure"),
    ("│ Error: Unsupported argument", "terraform-error-block", "configuration"),
    (
        'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
        "java-heap",
        "out-of-memory",
    ),
    ("ERROR: Job failed: exit code 137", "exit-137", "out-of-memory"),
    ("ERROR: Job failed: execution took longer than 1h0m0s seconds", "job-timeout", "timeout"),
    ("curl: (6) Could not resolve host: example.invalid", "dns-failure", "network"),
    ("dial tcp 127.0.0.1:5432: connect: connection refused", "connection-refused", "network"),
    ("read: Connection reset by peer", "connection-reset", "network"),
    ("x509: certificate signed by unknown authority", "tls-error", "network"),
    (
        "mkdir: cannot create directory '/opt/app': Permission denied",
        "permission-denied",
        "permission",
    ),
    ("src/Fixer.hs:38:10: error:", "compiler-diagnostic", "compile"),
    (
        "[error] /build/core/src/main/scala/acme/Cart.scala:31:20: not found: type Money",
        "sbt-compile-error",
        "compile",
    ),
    ("Failure:", "minitest-failure", "test"),
    ("    [-] returns the parsed config 31ms", "pester-failed", "test"),
    ("    [-] Get-Config returns defaults", "pester-failed", "test"),
    ("t/02-parse.t ... Dubious, test returned 1 (wstat 256, 0x100)", "perl-harness-failed", "test"),
    ("Failed 2/14 subtests", "perl-harness-failed", "test"),
    ("Result: FAIL", "perl-harness-failed", "test"),
    ("rebar_deps_SUITE:update_deps failed on line 87", "erlang-ct-failed", "test"),
    ("Running the tests in 'tests/testthat.R' failed.", "r-check-failed", "test"),
    ("* checking tests ... ERROR", "r-check-failed", "test"),
    ("1. Failure: parse handles NA (@test-parse.R#12) ", "r-check-failed", "test"),
    ("FAIL: test-suite-utf8", "autotools-test-failed", "test"),
    ("** TEST FAILED **", "xcodebuild-test-failed", "test"),
    ("test_roundtrip ......................... FAILED", "status-column-failed", "test"),
    (
        "lib/app.rb:12:5: C: Style/StringLiterals: Prefer single-quoted strings.",
        "rubocop-offense",
        "lint",
    ),
    ("TSError: ⨯ Unable to compile TypeScript:", "ts-node-compile", "compile"),
    (
        '│   on main.tf line 12, in resource "aws_s3_bucket" "logs":',
        "terraform-location",
        "configuration",
    ),
    ("##[error]Process completed with exit code 2.", "ci-step-failed", "unknown"),
    ('The command "npm test" exited with 1.', "ci-step-failed", "unknown"),
    ("ERROR: script returned exit code 2", "ci-step-failed", "unknown"),
    (">> Error: Process exited with code 1.", "exit-code", "unknown"),
    ("subprocess.CalledProcessError: returned non-zero exit status 2", "exit-code", "unknown"),
    ("Traceback (most recent call last):", "python-traceback", "unknown"),
    ("panic: runtime error: index out of range [3] with length 3", "go-panic", "unknown"),
    ("Caused by: java.io.IOException: Broken pipe", "java-exception", "unknown"),
]


@pytest.mark.parametrize(("line", "rule_id", "category"), FAMILIES, ids=[f[1] for f in FAMILIES])
def test_rules_each_family_matches_its_tool_output(line: str, rule_id: str, category: str) -> None:
    hits = {hit.rule.id: hit.rule for hit in default_pack().match(line)}
    assert rule_id in hits, f"{rule_id} missed; matched {sorted(hits)}"
    assert hits[rule_id].category is Category(category)


@pytest.mark.parametrize(
    "line",
    [
        "Collecting requests==2.31.0",
        "  Downloading requests-2.31.0-py3-none-any.whl (62 kB)",
        "[INFO] BUILD SUCCESS",
        "ok  \tgithub.com/a/b\t0.012s",
        # a pseudo-version's timestamp holds "410" and "404" but no HTTP status
        "go: downloading golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1",
        "go: downloading gopkg.in/tomb.v1 v1.0.0-20141024135613-dd632973f1e7",
        "Step 3/7 : RUN make",
        "Collecting flake8==3.7.9 (from -r requirements.txt (line 4))",
        'The command "npm run build" exited with 0.',
        "Process completed with exit code 0.",
        "t/02-parse.t ...... ok",
        "All tests successful.",
        "Result: PASS",
        "PASS: test-suite-utf8",
        "test_roundtrip ......................... ok",
        "* checking tests ... OK",
        "Running the tests in 'tests/testthat.R' passed.",
    ],
)
def test_rules_routine_lines_match_nothing(line: str) -> None:
    assert default_pack().match(line) == []


@pytest.mark.parametrize("line", [f[0] for f in FAMILIES], ids=[f[1] for f in FAMILIES])
def test_rules_family_lines_pass_the_reader_prefilter(line: str) -> None:
    # the reader keeps only prefiltered lines (and the log's tail) for the rules to see
    assert looks_like_candidate(line), f"the prefilter would drop {line!r}"


def test_rules_pack_has_unique_ids_and_every_family() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert {r.category for r in rules} >= set(Category) - {Category.UNKNOWN} | {Category.UNKNOWN}


def test_rules_named_groups_are_returned() -> None:
    hit = next(
        h
        for h in default_pack().match("ERROR: Job failed: exit code 2")
        if h.rule.id == "ci-step-failed"
    )
    assert hit.groups == {"code2": "2"}


@pytest.mark.parametrize(
    "content",
    [
        "rules:\n  - id: x\n    category: nonsense\n    weight: 0.5\n    pattern: 'a'\n",
        "rules:\n  - id: x\n    category: test\n    weight: 0.5\n    pattern: '(unclosed'\n",
        "rules: [\n",
    ],
)
def test_rules_invalid_pack_raises_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "bad.yaml").write_text(content)
    with pytest.raises(ConfigError):
        RulePack(load_rules(tmp_path))


def test_rules_duplicate_ids_rejected(tmp_path: Path) -> None:
    rule = "  - id: same\n    category: test\n    weight: 0.5\n    pattern: 'a'\n"
    (tmp_path / "a.yaml").write_text("rules:\n" + rule + rule)
    with pytest.raises(ConfigError):
        RulePack(load_rules(tmp_path))
