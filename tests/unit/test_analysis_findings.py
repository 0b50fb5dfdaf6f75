"""Findings: grammars per tool format, merging, the root cause and its category.

Lines are written in each tool's documented output format (not copied from the eval sets).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workflowai.analysis.findings import FindingSet, extract_findings
from workflowai.analysis.grammars import default_grammars
from workflowai.analysis.kinds import classify_message, command_category
from workflowai.analysis.normalize import read_log
from workflowai.analysis.paths import workspace_relative
from workflowai.analysis.report import Category, FindingKind
from workflowai.analysis.rules import default_pack
from workflowai.analysis.scoring import score_lines
from workflowai.analysis.signals import extract_signals
from workflowai.settings import AnalysisSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# (line, kind, fields the finding must carry)
GRAMMAR_CASES: list[tuple[str, FindingKind, dict[str, str]]] = [
    (
        "FAILED tests/test_api.py::test_login[admin] - AssertionError: assert 401 == 200",
        FindingKind.TEST_FAILURE,
        {
            "test": "tests/test_api.py::test_login[admin]",
            "message": "AssertionError: assert 401 == 200",
        },
    ),
    (
        "FAIL: test_parse (tests.test_cli.ParserTest)",
        FindingKind.TEST_FAILURE,
        {"test": "tests.test_cli.ParserTest.test_parse"},
    ),
    (
        "--- FAIL: TestHandler/empty_body (0.00s)",
        FindingKind.TEST_FAILURE,
        {"test": "TestHandler/empty_body"},
    ),
    (
        "FAIL src/components/Button.test.tsx",
        FindingKind.TEST_FAILURE,
        {"file": "src/components/Button.test.tsx"},
    ),
    (
        "  ● Button › renders the label",
        FindingKind.TEST_FAILURE,
        {"test": "Button › renders the label"},
    ),
    (
        "not ok 3 - parses an empty config",
        FindingKind.TEST_FAILURE,
        {"test": "parses an empty config"},
    ),
    (
        "[ERROR]   CalculatorTest.testDivide:42 expected:<2> but was:<3>",
        FindingKind.TEST_FAILURE,
        {"test": "CalculatorTest.testDivide", "line": "42"},
    ),
    (
        "com.acme.OrderServiceTest > refundsTwice FAILED",
        FindingKind.TEST_FAILURE,
        {"test": "com.acme.OrderServiceTest.refundsTwice"},
    ),
    (
        "rspec ./spec/models/user_spec.rb:27 # User validates the email",
        FindingKind.TEST_FAILURE,
        {"file": "./spec/models/user_spec.rb", "line": "27", "test": "User validates the email"},
    ),
    (
        "test parser::tests::rejects_tabs ... FAILED",
        FindingKind.TEST_FAILURE,
        {"test": "parser::tests::rejects_tabs"},
    ),
    (
        "[  FAILED  ] MathTest.Overflow (3 ms)",
        FindingKind.TEST_FAILURE,
        {"test": "MathTest.Overflow"},
    ),
    (
        "  Failed Acme.Tests.InvoiceTests.Total_IsRounded [12 ms]",
        FindingKind.TEST_FAILURE,
        {"test": "Acme.Tests.InvoiceTests.Total_IsRounded"},
    ),
    (
        "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
        FindingKind.TYPE_ERROR,
        {"file": "src/app.ts", "line": "12", "code": "TS2322"},
    ),
    (
        'src/billing.py:40: error: Incompatible return value type (got "str", expected "int")  [return-value]',
        FindingKind.TYPE_ERROR,
        {"file": "src/billing.py", "line": "40", "code": "return-value"},
    ),
    (
        "src/app/main.py:3:1: F401 'os' imported but unused",
        FindingKind.LINT_VIOLATION,
        {"file": "src/app/main.py", "code": "F401"},
    ),
    (
        "lib/tasks.rb:8:3: C: Style/StringLiterals: Prefer single-quoted strings.",
        FindingKind.LINT_VIOLATION,
        {"file": "lib/tasks.rb", "code": "Style/StringLiterals"},
    ),
    ("would reformat src/app/models.py", FindingKind.LINT_VIOLATION, {"file": "src/app/models.py"}),
    (
        "src/main.c:14:5: error: implicit declaration of function 'frob' [-Werror=implicit-function-declaration]",
        FindingKind.COMPILE_ERROR,
        {"file": "src/main.c", "line": "14", "column": "5"},
    ),
    (
        "[ERROR] /build/src/main/java/com/acme/App.java:[21,9] cannot find symbol",
        FindingKind.COMPILE_ERROR,
        {
            "file": "/build/src/main/java/com/acme/App.java",
            "line": "21",
            "message": "cannot find symbol",
        },
    ),
    (
        "Program.cs(7,13): error CS0103: The name 'Foo' does not exist in the current context [/src/App.csproj]",
        FindingKind.COMPILE_ERROR,
        {"file": "Program.cs", "code": "CS0103"},
    ),
    (
        "ERROR: Could not find a version that satisfies the requirement requestz==2.0 (from versions: none)",
        FindingKind.MISSING_DEPENDENCY,
        {"package": "requestz", "requirement": "requestz==2.0"},
    ),
    (
        "ModuleNotFoundError: No module named 'yaml'",
        FindingKind.MISSING_DEPENDENCY,
        {"package": "yaml"},
    ),
    (
        "npm ERR! 404  'left-padz@1.0.0' is not in this registry.",
        FindingKind.MISSING_DEPENDENCY,
        {"package": "left-padz", "version": "1.0.0"},
    ),
    (
        "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project com.acme:api:jar:1.0: Could not find artifact com.acme:core:jar:2.3 in central (https://repo.maven.apache.org/maven2)",
        FindingKind.MISSING_DEPENDENCY,
        {"package": "com.acme:core", "version": "2.3"},
    ),
    ("bash: line 1: yarnx: command not found", FindingKind.COMMAND_NOT_FOUND, {"command": "yarnx"}),
    (
        "Unable to create file for report: /ws/app/target/surefire-reports/A.txt (No space left on device)",
        FindingKind.INFRASTRUCTURE_ERROR,
        {"file": "/ws/app/target/surefire-reports/A.txt", "message": "No space left on device"},
    ),
    (
        "fatal: detected dubious ownership in repository at '/github/workspace'",
        FindingKind.CONFIG_ERROR,
        {"file": "/github/workspace"},
    ),
    ("NameError: name 'Github' is not defined", FindingKind.COMPILE_ERROR, {"code": "NameError"}),
    (
        "curl: (6) Could not resolve host: artifacts.internal.example",
        FindingKind.NETWORK_ERROR,
        {"host": "artifacts.internal.example"},
    ),
    (
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        FindingKind.OUT_OF_MEMORY,
        {},
    ),
    (
        "Error: EACCES: permission denied, open '/usr/lib/node_modules/.staging/x.json'",
        FindingKind.PERMISSION_DENIED,
        {"file": "/usr/lib/node_modules/.staging/x.json"},
    ),
    (
        "  - The requested package acme/widgets 4.4@dev exists as acme/widgets[2.7.x-dev, 3.0.x-dev]",
        FindingKind.MISSING_DEPENDENCY,
        {"package": "acme/widgets", "requirement": "4.4@dev"},
    ),
    (
        'signal(error ("Package `emacs-25.1\' is unavailable"))',
        FindingKind.MISSING_DEPENDENCY,
        {"package": "emacs", "version": "25.1"},
    ),
    (
        'signal(error ("No version of command-log-mode >= nil is available"))',
        FindingKind.MISSING_DEPENDENCY,
        {"package": "command-log-mode"},
    ),
    (
        "Failed to open TCP connection to api.example.org:443 (getaddrinfo: Name or service not known)",
        FindingKind.NETWORK_ERROR,
        {"host": "api.example.org", "port": "443"},
    ),
    (
        "    at Context.<anonymous> (test/parser.spec.ts:42:13)",
        FindingKind.TEST_FAILURE,
        {"file": "test/parser.spec.ts", "line": "42"},
    ),
    (
        "\tFound errors in Test_popup_beval():",
        FindingKind.TEST_FAILURE,
        {"test": "Test_popup_beval"},
    ),
    (
        "[404] http://localhost:5422/docs/dist/app.js",
        FindingKind.CONFIG_ERROR,
        {"code": "404", "host": "http://localhost:5422/docs/dist/app.js"},
    ),
    (
        'ERROR 2019/08/01 15:12:46 [en] REF_NOT_FOUND: Ref "/docs/theming": '
        '"/src/site/content/docs/webpack.md:38:94": page not found',
        FindingKind.CONFIG_ERROR,
        {"file": "/src/site/content/docs/webpack.md", "line": "38"},
    ),
    (
        "make: *** [Makefile:12: check] Error 2",
        FindingKind.PROCESS_EXIT,
        {"target": "check", "file": "Makefile"},
    ),
    (
        'The command "bundle exec rake spec" exited with 1.',
        FindingKind.PROCESS_EXIT,
        {"command": "bundle exec rake spec"},
    ),
]


@pytest.mark.parametrize(
    ("line", "kind", "fields"), GRAMMAR_CASES, ids=[c[0][:40] for c in GRAMMAR_CASES]
)
def test_grammars_each_format_gives_its_finding(
    line: str, kind: FindingKind, fields: dict[str, str]
) -> None:
    hits = [h for h in default_grammars().match(line) if h.grammar.role.value == "finding"]
    assert hits, f"no grammar matched {line!r}"
    assert hits[0].grammar.kind is kind, hits[0].grammar.id
    for name, value in fields.items():
        assert hits[0].fields.get(name) == value, (name, hits[0].fields)


@pytest.mark.parametrize(
    "line",
    [
        "collected 212 items",
        "Compiling serde v1.0.188",
        "error: could not compile `app` due to 2 previous errors",  # a fallback, not a finding of its own
        "  warning: unused variable `x`",
        "[INFO] BUILD SUCCESS",
    ],
)
def test_grammars_routine_lines_give_no_real_finding(line: str) -> None:
    hits = [h for h in default_grammars().match(line) if h.grammar.role.value == "finding"]
    assert all(h.grammar.fallback for h in hits), [h.grammar.id for h in hits]


MAX_BYTES = 1 << 20


def _findings(text: str) -> FindingSet:
    log = read_log(text.encode(), max_bytes=MAX_BYTES)
    return extract_signals(log, settings=AnalysisSettings()).findings


def test_findings_pytest_example_names_tests_and_the_missing_fixture() -> None:
    log = read_log(EXAMPLES / "github-actions-pytest.log", max_bytes=MAX_BYTES)
    found = extract_signals(log, settings=AnalysisSettings()).findings
    assert found.category is Category.TEST
    tests = [f.test_id for f in found.findings if f.kind is FindingKind.TEST_FAILURE]
    assert set(tests) == {
        "tests/test_invoices.py::test_apply_discount_to_line_items",
        "tests/test_invoices.py::test_invoice_rounding_jpy",
        "tests/test_tax.py::test_vat_rate_for_region[de-DE]",
    }
    tax = next(f for f in found.findings if f.test_id and "test_tax" in f.test_id)
    # the runner's workspace prefix is gone: the path reads as in the repository
    assert "'tests/fixtures/tax/de-DE.json'" in tax.message
    # the missing file is told by the test's own finding, not a configuration error of its own
    assert not [f for f in found.findings if f.kind is FindingKind.CONFIG_ERROR]
    assert found.tests_failed == 3
    assert found.findings[0].kind is FindingKind.TEST_FAILURE


def test_findings_same_test_in_details_and_summary_is_one_counted_finding() -> None:
    text = "\n".join(
        [
            "=== RUN   TestSum",
            "    sum_test.go:12: expected 4, got 5",
            "--- FAIL: TestSum (0.00s)",
            "=== RUN   TestSum",
            "--- FAIL: TestSum (0.00s)",
            "FAIL",
            "FAIL\tgithub.com/acme/calc\t0.012s",
        ]
    )
    found = _findings(text)
    tests = [f for f in found.findings if f.kind is FindingKind.TEST_FAILURE]
    assert len(tests) == 1, tests
    assert tests[0].test_id == "TestSum"
    assert tests[0].count == 2
    assert tests[0].file == "sum_test.go" and tests[0].line == 12


def test_findings_out_of_memory_is_the_root_cause_over_the_tests_it_killed() -> None:
    text = "\n".join(
        [
            "FAIL src/a.test.js",
            "  ● Parser › reads a big file",
            "<--- Last few GCs --->",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            "##[error]Process completed with exit code 134.",
        ]
    )
    found = _findings(text)
    assert found.findings[0].kind is FindingKind.OUT_OF_MEMORY
    assert found.category is Category.OUT_OF_MEMORY


def test_findings_tests_failing_on_an_unreachable_host_are_a_network_failure() -> None:
    lines = [
        f"FAILED tests/test_db.py::test_q{i} - psycopg.OperationalError: connection to "
        'server at "db" (10.0.0.5), port 5432 failed: Connection refused'
        for i in range(3)
    ]
    text = "\n".join(
        [
            'psycopg.OperationalError: connection to server at "db" port 5432 failed: '
            "Connection refused (db:5432)",
            *lines,
            "3 failed in 2.1s",
            "##[error]Process completed with exit code 1.",
        ]
    )
    found = _findings(text)
    assert found.category is Category.NETWORK, found.findings


def test_findings_a_command_exit_alone_takes_the_command_category() -> None:
    text = "\n".join(
        [
            "$ npm run lint",
            "> app@1.0.0 lint",
            "> eslint src",
            "something went wrong",
            'The command "npm run lint" exited with 1.',
        ]
    )
    found = _findings(text)
    assert found.findings[0].kind is FindingKind.PROCESS_EXIT
    assert found.findings[0].command == "npm run lint"
    assert found.category is Category.LINT


def test_findings_eslint_stylish_takes_the_file_from_its_header() -> None:
    text = "\n".join(
        [
            "/home/runner/work/web/web/src/api/client.ts",
            "  12:7  error  'token' is assigned a value but never used  @typescript-eslint/no-unused-vars",
            "",
            "✖ 1 problem (1 error, 0 warnings)",
        ]
    )
    found = _findings(text)
    lint = found.findings[0]
    assert lint.kind is FindingKind.LINT_VIOLATION
    assert lint.file == "src/api/client.ts" and lint.line == 12
    assert lint.code == "@typescript-eslint/no-unused-vars"


def test_findings_rustc_error_takes_its_location_from_the_arrow_line() -> None:
    text = "\n".join(
        [
            "error[E0308]: mismatched types",
            "  --> src/main.rs:4:18",
            "   |",
            '4  |     let n: u32 = "four";',
            'error: could not compile `calc` (bin "calc") due to 1 previous error',
        ]
    )
    found = _findings(text)
    assert found.findings[0].code == "E0308"
    assert (found.findings[0].file, found.findings[0].line) == ("src/main.rs", 4)
    # cargo's summary line is a fallback: it adds no second compile error
    assert sum(f.kind is FindingKind.COMPILE_ERROR for f in found.findings) == 1


def test_findings_rustc_location_on_a_windows_runner() -> None:
    text = "\n".join(
        [
            "error[E0658]: `cfg(target_vendor)` is experimental and subject to change",
            "   --> C:\\Users\\ci\\project\\src\\lib.rs:147:45",
            "    |",
        ]
    )
    (found,) = [f for f in _findings(text).findings if f.kind is FindingKind.COMPILE_ERROR]
    assert (found.code, found.line, found.column) == ("E0658", 147, 45)
    assert found.file is not None and found.file.endswith("lib.rs")


def test_findings_a_passing_step_does_not_give_the_root_cause() -> None:
    rows = [
        (1, "##[group]Run pip install -r requirements.txt", None),
        (2, "WARNING: Retrying after connection broken by 'Connection reset by peer'", "install"),
        (3, "Successfully installed requests-2.32.3", "install"),
        (4, "src/app.c:3:10: fatal error: zlib.h: No such file or directory", "build"),
        (5, "##[error]Process completed with exit code 1.", "build"),
    ]
    log = read_log("\n".join(r[1] for r in rows).encode(), max_bytes=MAX_BYTES)
    scored = score_lines(
        [(n, t, s) for n, t, s in rows],
        total_lines=5,
        pack=default_pack(),
        baseline=None,
        step_starts=[1, 4],
    )
    found = extract_findings(log, scored)
    assert found.findings[0].kind is FindingKind.MISSING_DEPENDENCY
    assert found.findings[0].package == "zlib.h"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/home/runner/work/app/app/src/x.py", "src/x.py"),
        ("/home/travis/build/acme/tool/lib/a.rb:3", "lib/a.rb:3"),
        ("/builds/group/project/cmd/main.go", "cmd/main.go"),
        ("/var/lib/jenkins/workspace/api-build/pom.xml", "pom.xml"),
        ("D:\\a\\app\\app\\src\\Program.cs", "src\\Program.cs"),
        ("/usr/lib/python3/site.py", "/usr/lib/python3/site.py"),
    ],
)
def test_paths_workspace_prefixes_are_removed(text: str, expected: str) -> None:
    assert workspace_relative(text) == expected


@pytest.mark.parametrize(
    ("command", "category"),
    [
        ("pytest -q", Category.TEST),
        ("npm run lint", Category.LINT),
        ("bundle exec rubocop", Category.LINT),
        ("npm ci", Category.DEPENDENCY),
        ("pip install -r requirements.txt", Category.DEPENDENCY),
        ("mvn -B package", Category.COMPILE),
        ("go test ./...", Category.TEST),
        ("kubectl rollout status deploy/api", Category.CONFIGURATION),
        ("./run.sh", None),
    ],
)
def test_kinds_command_category(command: str, category: Category | None) -> None:
    assert command_category(command) is category


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("getaddrinfo ENOTFOUND registry.npmjs.org", FindingKind.NETWORK_ERROR),
        ("remote: HTTP Basic: Access denied", FindingKind.PERMISSION_DENIED),
        ("java.lang.OutOfMemoryError: Java heap space", FindingKind.OUT_OF_MEMORY),
        ("AssertionError: assert 3 == 4", None),
        # errno names are whole words: the exception's name holds "eNotFound"
        ("E   ModuleNotFoundError: No module named 'requests'", FindingKind.MISSING_DEPENDENCY),
        ("connect ECONNREFUSED 127.0.0.1:5432", FindingKind.NETWORK_ERROR),
        ("npm ERR! syscall open ENOENT", FindingKind.CONFIG_ERROR),
    ],
)
def test_kinds_classify_message(message: str, kind: FindingKind | None) -> None:
    assert classify_message(message) is kind
