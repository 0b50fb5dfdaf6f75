"""What a finding's kind means for the report: its category, and the kinds messages and
commands imply.

Pure tables and functions, written from the documented wording of runtimes and tools:
- `KIND_CATEGORY`: the report category of a finding kind (a type checker is `lint`; tsc is the
  TypeScript compiler, so its type errors are `compile`);
- `classify_message`: the kind a message names (an unreachable host is a network error
  whatever tool printed it), for grammars marked `classify` and for the causes of tests;
- `NPM_CODES`: npm's `code E...` values;
- `command_category`: the category of a failing command by what it runs (`pytest` tests,
  `eslint` lints, `npm ci` installs), for a job whose only finding is the command's exit.
"""

from __future__ import annotations

import re

from workflowai.analysis.report import Category, FindingKind

KIND_CATEGORY: dict[FindingKind, Category] = {
    FindingKind.TEST_FAILURE: Category.TEST,
    FindingKind.COMPILE_ERROR: Category.COMPILE,
    FindingKind.LINT_VIOLATION: Category.LINT,
    FindingKind.TYPE_ERROR: Category.LINT,
    FindingKind.DEPENDENCY_CONFLICT: Category.DEPENDENCY,
    FindingKind.MISSING_DEPENDENCY: Category.DEPENDENCY,
    FindingKind.COMMAND_NOT_FOUND: Category.CONFIGURATION,
    FindingKind.NETWORK_ERROR: Category.NETWORK,
    FindingKind.TIMEOUT: Category.TIMEOUT,
    FindingKind.OUT_OF_MEMORY: Category.OUT_OF_MEMORY,
    FindingKind.PERMISSION_DENIED: Category.PERMISSION,
    FindingKind.CONFIG_ERROR: Category.CONFIGURATION,
    FindingKind.INFRASTRUCTURE_ERROR: Category.INFRASTRUCTURE,
    FindingKind.PROCESS_EXIT: Category.UNKNOWN,
}
# tools whose type errors are compile errors (they are the compiler)
COMPILER_TYPE_CHECKERS = frozenset({"tsc"})

# kinds that end the job whatever else it printed: they are the cause when they occur
JOB_LEVEL = frozenset(
    {
        FindingKind.OUT_OF_MEMORY,
        FindingKind.TIMEOUT,
        FindingKind.INFRASTRUCTURE_ERROR,
        FindingKind.COMMAND_NOT_FOUND,
    }
)
# kinds that explain failures of other kinds (tests failing because a host is unreachable)
CAUSES = JOB_LEVEL | {
    FindingKind.NETWORK_ERROR,
    FindingKind.PERMISSION_DENIED,
    FindingKind.MISSING_DEPENDENCY,
    FindingKind.DEPENDENCY_CONFLICT,
    FindingKind.CONFIG_ERROR,
}


def category_of(kind: FindingKind, tool: str | None = None) -> Category:
    if kind is FindingKind.TYPE_ERROR and tool in COMPILER_TYPE_CHECKERS:
        return Category.COMPILE
    return KIND_CATEGORY[kind]


_MESSAGE_KINDS: list[tuple[re.Pattern[str], FindingKind]] = [
    (
        re.compile(
            r"heap out of memory|OutOfMemoryError|out of memory|MemoryError|Cannot allocate "
            r"memory|OOMKilled|std::bad_alloc",
            re.I,
        ),
        FindingKind.OUT_OF_MEMORY,
    ),
    (
        re.compile(
            r"No space left on device|\bENOSPC\b|disk quota exceeded|Segmentation fault", re.I
        ),
        FindingKind.INFRASTRUCTURE_ERROR,
    ),
    (
        re.compile(
            # errno names (ENOTFOUND...) as whole words: "ModuleNotFoundError" holds "eNotFound"
            r"Could not resolve host|Name or service not known|Temporary failure in name "
            r"resolution|getaddrinfo|\bENOTFOUND\b|\bEAI_AGAIN\b|no such host|UnknownHost|"
            r"Connection refused|\bECONNREFUSED\b|ConnectionRefused|connection reset|"
            r"\bECONNRESET\b|socket hang up|Network is unreachable|\bENETUNREACH\b|"
            r"Failed to establish a new connection|Max retries exceeded|Read timed out|"
            r"Connect(?:ion)? timed out|\bETIMEDOUT\b|i/o timeout|TLS handshake|\bSSL|"
            r"certificate verify failed|x509|PKIX|\b50[234]\b|\b429\b|Too Many Requests|"
            r"rate limit|toomanyrequests|Service Unavailable|Bad Gateway",
            re.I,
        ),
        FindingKind.NETWORK_ERROR,
    ),
    (
        re.compile(
            r"Permission denied|\bEACCES\b|\bEPERM\b|not permitted|\b401\b|\b403\b|Unauthorized|"
            r"Forbidden|Authentication failed|authentication required|Bad credentials|access "
            r"denied|AccessDenied|not authorized|denied: requested access|invalid credentials|"
            r"could not read Username",
            re.I,
        ),
        FindingKind.PERMISSION_DENIED,
    ),
    (
        re.compile(
            r"No module named|Cannot find module|cannot load such file|\b404\b|\b410\b|Not "
            r"Found|not found in registry|unknown revision|no matching version|invalid version|"
            r"manifest unknown|repository does not exist|pull access denied",
            re.I,
        ),
        FindingKind.MISSING_DEPENDENCY,
    ),
    (re.compile(r"checksum mismatch|conflict", re.I), FindingKind.DEPENDENCY_CONFLICT),
    (
        re.compile(r"timed out|timeout|deadline exceeded|took longer than", re.I),
        FindingKind.TIMEOUT,
    ),
    (
        re.compile(r"command not found|executable file not found", re.I),
        FindingKind.COMMAND_NOT_FOUND,
    ),
    (
        re.compile(
            r"No such file or directory|\bENOENT\b|FileNotFoundError|does not exist|Invalid|"
            r"Unsupported|not supported|Missing required|is required|undeclared|Reference to "
            r"undeclared|syntax error|Unknown (?:option|argument|key)",
            re.I,
        ),
        FindingKind.CONFIG_ERROR,
    ),
]


def classify_message(text: str) -> FindingKind | None:
    """The kind of failure a message names, or None when it names none we know."""
    for pattern, kind in _MESSAGE_KINDS:
        if pattern.search(text):
            return kind
    return None


# npm's documented error codes (`npm ERR! code E...`)
NPM_CODES: dict[str, FindingKind] = {
    "ERESOLVE": FindingKind.DEPENDENCY_CONFLICT,
    "E404": FindingKind.MISSING_DEPENDENCY,
    "ETARGET": FindingKind.MISSING_DEPENDENCY,
    "ENOVERSIONS": FindingKind.MISSING_DEPENDENCY,
    "EINTEGRITY": FindingKind.DEPENDENCY_CONFLICT,
    "ENOTFOUND": FindingKind.NETWORK_ERROR,
    "ECONNRESET": FindingKind.NETWORK_ERROR,
    "ECONNREFUSED": FindingKind.NETWORK_ERROR,
    "ETIMEDOUT": FindingKind.NETWORK_ERROR,
    "EAI_AGAIN": FindingKind.NETWORK_ERROR,
    "E401": FindingKind.PERMISSION_DENIED,
    "E403": FindingKind.PERMISSION_DENIED,
    "EACCES": FindingKind.PERMISSION_DENIED,
    "EPERM": FindingKind.PERMISSION_DENIED,
    "ENOENT": FindingKind.CONFIG_ERROR,
    "EJSONPARSE": FindingKind.CONFIG_ERROR,
    "EBADENGINE": FindingKind.CONFIG_ERROR,
    "ENOSPC": FindingKind.INFRASTRUCTURE_ERROR,
    "ELIFECYCLE": FindingKind.PROCESS_EXIT,
}

# what a command runs -> the category of its failure; first match wins, so the more specific
# words (lint, test) come before the tools that run them (npm run lint is lint, not install)
_COMMAND_CATEGORIES: list[tuple[re.Pattern[str], Category]] = [
    (
        re.compile(
            r"\b(?:lint\w*|eslint|tslint|stylelint|flake8|ruff|pylint|mypy|pyright|black|isort|"
            r"prettier|rubocop|golangci-lint|golint|go vet|staticcheck|clippy|rustfmt|cargo fmt|"
            r"gofmt|checkstyle|spotless\w*|pmd|spotbugs|detekt|ktlint|shellcheck|hadolint|"
            r"yamllint|markdownlint|phpcs|phpstan|psalm|swiftlint|credo|hlint|codespell|"
            r"perlcritic|jshint|jscs|csslint|scss-lint|sass-lint|htmlhint|cppcheck|clang-tidy|"
            r"cpplint|pycodestyle|pep8|pydocstyle|bandit|coffeelint|standard|xo|vint|luacheck|"
            r"scalastyle|scalafmt|php-cs-fixer|ktlint|swiftformat|elvis|check-formatted|"
            r"pre-commit|format(?:ting)?[-:]check|fmt --check|typecheck|type-check|check-types|"
            r"style)\b",
            re.I,
        ),
        Category.LINT,
    ),
    (
        re.compile(
            r"\b(?:tests?|pytest|py\.test|tox|nox|unittest|nosetests|jest|vitest|mocha|karma|"
            r"jasmine|ava|tap|rspec|minitest|cucumber|phpunit|pest|ctest|gtest|prove|spec|"
            r"specs|e2e|integration|cypress|playwright|surefire|failsafe|verify|check|"
            r"testthat|ExUnit|xcodebuild test|coverage)\b",
            re.I,
        ),
        Category.TEST,
    ),
    (
        re.compile(
            r"\b(?:install|ci|restore|bundle|bundler|composer|pip3?|poetry|pipenv|conda|"
            r"dependencies|deps|go mod|go get|npm i|yarn(?: install)?$|pnpm i|apt(?:-get)?|"
            r"brew|gem|cpanm|dependency:\w+|update)\b",
            re.I,
        ),
        Category.DEPENDENCY,
    ),
    (
        re.compile(
            r"\b(?:build|compile\w*|assemble|package|make|cmake|ninja|msbuild|javac|gcc|g\+\+|"
            r"clang|rustc|cargo|tsc|webpack|vite|rollup|esbuild|babel|sbt|mvn|maven|gradlew?|"
            r"mix compile|stack|cabal|ghc|dotnet|xcodebuild|swift build|go build|docker build|"
            r"bazel|scons|meson|autoreconf|configure)\b",
            re.I,
        ),
        Category.COMPILE,
    ),
    (
        re.compile(
            r"\b(?:deploy\w*|kubectl|helm|terraform|tofu|ansible|pulumi|serverless|sam|"
            r"cdk|gcloud|aws|az|rollout|release|publish|upload|push)\b",
            re.I,
        ),
        Category.CONFIGURATION,
    ),
]


# the kind of a diagnostic printed by a command of each category
CATEGORY_KINDS: dict[Category, FindingKind] = {
    Category.LINT: FindingKind.LINT_VIOLATION,
    Category.TEST: FindingKind.TEST_FAILURE,
    Category.COMPILE: FindingKind.COMPILE_ERROR,
    Category.DEPENDENCY: FindingKind.MISSING_DEPENDENCY,
    Category.CONFIGURATION: FindingKind.CONFIG_ERROR,
}


def command_category(command: str | None) -> Category | None:
    """The category of a failing command by what it runs; None when it tells nothing."""
    if not command:
        return None
    for pattern, category in _COMMAND_CATEGORIES:
        if pattern.search(command):
            return category
    return None
