"""The shipped starter knowledge base and example logs are well formed.

Checks the real files under knowledge_base/: every YAML runbook parses, carries exactly the
runbook keys, is named for its id, uses a known category and known tool names, and every
past-incident note reads as an incident. A malformed entry added later fails here instead of
being skipped at index time.

Fix steps are templates (knowledge_base/README.md): `{test_id}`, `{file}`, `{package}`... are
filled from the report's findings, so a step must never carry another project's example values
(a test id, a file, a package pin, a host, an image). `example_values` finds those by their
shape; the tools' own conventional file names and a short list of generic paths are allowed.

The example logs under examples/ (the README's demo) are checked to be readable text of demo
size, listed in examples/README.md, and free of credentials in real key formats.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from workflowai.analysis.report import Category, Finding

REPO_ROOT = Path(__file__).resolve().parents[2]
KB_DIR = REPO_ROOT / "knowledge_base"
EXAMPLES_DIR = REPO_ROOT / "examples"
RUNBOOK_DIR = KB_DIR / "runbooks"
INCIDENT_DIR = KB_DIR / "past-incidents"
REQUIRED_KEYS = {
    "id",
    "title",
    "category",
    "ecosystem",
    "tools",
    "symptoms",
    "signatures",
    "cause",
    "fix",
    "tags",
}
LIST_KEYS = ("tools", "symptoms", "signatures", "fix", "tags")
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RUNBOOK_FILES = sorted(RUNBOOK_DIR.rglob("*.yaml")) + sorted(RUNBOOK_DIR.rglob("*.yml"))
INCIDENT_FILES = sorted(INCIDENT_DIR.glob("*.md"))
EXAMPLE_LOGS = sorted(EXAMPLES_DIR.glob("*.log"))
MAX_WORDS = 200
# the formats git secret scanners flag; the examples use obviously fake values instead
REAL_KEY_FORMATS = re.compile(
    r"AKIA[0-9A-Z]{16}|\bgh[pousr]_[A-Za-z0-9]{30,}|github_pat_|xox[abpr]-[0-9A-Za-z-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
)

# The placeholder contract (knowledge_base/README.md): each names a Finding field.
PLACEHOLDERS = frozenset(
    {
        "test_id",
        "file",
        "line",
        "column",
        "code",
        "package",
        "version",
        "requirement",
        "command",
        "host",
        "message",
        "step",
        "tool",
    }
)
# The `tools` vocabulary: lowercase program names as a finding's `tool` gives them. `any` marks
# an entry about the runner, the network or the kernel rather than one program.
KNOWN_TOOLS = frozenset(
    """
    any apt apt-get black buildkit buildx bundler cabal cargo checkstyle clang clippy cmake
    composer ctest dotnet elixir eslint flake8 gcc ghc github-actions gitlab-runner go git
    golangci-lint gradle hadolint helm isort java javac jenkins jest junit kotlinc mocha cpanm
    kubectl ld make mix msbuild mvn mypy node npm nuget perl phpstan phpunit pip pnpm poetry
    pre-commit prettier prove psalm pylint pyright pytest python r rscript rspec rubocop ruff
    rustc rustfmt sbt scalac shellcheck spotless stack swift swiftc terraform testthat tsc
    vitest webpack xcodebuild yarn docker
    """.split()  # noqa: SIM905 (a word list reads better than one quoted name a line)
)

# Conventional file names the tools themselves define: naming one is not an example value.
CONVENTIONAL_FILES = frozenset(
    """
    package.json package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml .npmrc
    .yarnrc.yml tsconfig.json eslint.config.js .prettierrc .prettierignore .nvmrc pyproject.toml
    requirements.txt poetry.lock setup.cfg setup.py conftest.py pytest.ini tox.ini pip.conf
    mypy.ini __init__.py .python-version .pre-commit-config.yaml go.mod go.sum .golangci.yml
    Cargo.toml Cargo.lock clippy.toml rustfmt.toml rust-toolchain.toml Python.h Gemfile
    Gemfile.lock .rubocop.yml .ruby-version pom.xml settings.xml build.gradle build.gradle.kts
    settings.gradle settings.gradle.kts gradle.properties checkstyle.xml nuget.config
    global.json composer.json composer.lock phpunit.xml phpunit.xml.dist phpstan.neon psalm.xml
    mix.exs mix.lock build.sbt Package.swift Package.resolved CMakeLists.txt CMakePresets.json
    CMakeCache.txt cabal.project stack.yaml renv.lock cpanfile .dockerignore .gitlab-ci.yml
    .terraform.lock.hcl .shellcheckrc .hadolint.yaml .tool-versions .editorconfig
    """.split()  # noqa: SIM905 (a word list reads better than one quoted name a line)
)
# Generic paths and words of the tools that have the shape of an example value.
GENERIC_TOKENS = (
    "0.0.0.0",
    "/etc/resolv.conf",
    "/var/lib/apt/lists/*",
    "/var/run/docker.sock",
    "/bin/sh",
    ".github/workflows",
    "target/surefire-reports",
    "vendor/bin/",
    "Acquire::Retries",
    "Node.js",
    "ScalaTest",
    "GoogleTest",
    "testthat::test_file",
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_MARKER = re.compile(r"<[^<>\n]+>")
_TOKEN = re.compile(r"[^\s'\"`(),;]+")
_FILE_EXT = (
    r"py|pyi|rb|js|mjs|cjs|jsx|ts|tsx|go|rs|java|kt|kts|scala|cs|c|cc|cpp|cxx|h|hh|hpp|swift"
    r"|php|ex|exs|erl|hs|pl|pm|r|R|sh|ps1|tf|tfvars|hcl|yml|yaml|json|toml|xml|ini|cfg|conf"
    r"|lock|gradle|properties|txt|mod|sum|csproj|sln|cabal|sbt|gemspec|neon"
)
_FILE_NAME = re.compile(rf"[\w.-]*\w\.(?:{_FILE_EXT})")
# (what, shape, also checked outside fix steps): signatures and causes quote the tools' own
# words (Rust paths, Java class names, `error[E0308]`), so only the plainly foreign shapes apply
_SHAPES = (
    ("file::test id", re.compile(r"[\w/.-]+\.\w+::\w"), True),
    ("a::b id", re.compile(r"\w::\w"), False),
    ("pinned version", re.compile(r"\w(?:==|>=|<=|~=|!=)\s*v?\d|\w@[\^~]?v?\d"), True),
    ("version", re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?![\w.]*\w)"), True),
    (
        "host",
        re.compile(
            r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
            r"(?:com|org|net|io|dev|app|co|cloud|internal|local|example|ai|gov|edu)\b(?!\.\w)"
        ),
        True,
    ),
    ("image:tag or host:port", re.compile(r"[A-Za-z]\w*:\d"), True),
    (
        "test name",
        re.compile(r"\btest_\w+|\bTest[A-Z][a-z]\w*|\b[A-Z][a-z][A-Za-z0-9]*(?:Tests?|Spec|IT)\b"),
        True,
    ),
    ("system dev package", re.compile(r"\blib[a-z0-9+.-]*-(?:dev|devel)\b"), True),
    ("java class", re.compile(r"\b(?:com|org|net|io)\.[a-z]\w*\.[\w.]*[A-Z]"), False),
    ("parametrized test", re.compile(r"\w\[[^\]\s]*[^\]\s\d][^\]\s]*\]"), False),
)


def example_values(text: str, *, fix_step: bool = True) -> list[str]:
    """Tokens of `text` shaped like another project's specifics, as `what: token`.

    Placeholders and `<markers>` are neutral; outside fix steps (signatures, causes) only a
    path that is clearly a path (three parts, absolute, or naming a file) counts, so the tools'
    own `and/or`-style words pass.
    """
    for generic in GENERIC_TOKENS:
        text = text.replace(generic, " ")
    text = _MARKER.sub("\u00a7", _PLACEHOLDER.sub("\u00a7", text))
    found: list[str] = []
    for raw in _TOKEN.findall(text):
        token = raw.rstrip(".:!?")
        if token in CONVENTIONAL_FILES:
            continue
        if _path_like(token, strict=fix_step):
            found.append(f"path: {token}")
        elif _FILE_NAME.fullmatch(token):
            found.append(f"file name: {token}")
    for what, shape, everywhere in _SHAPES:
        if everywhere or fix_step:
            found.extend(f"{what}: {m.group(0)}" for m in shape.finditer(text))
    return found


def _path_like(token: str, *, strict: bool) -> bool:
    if "/" not in token:
        return False
    parts = [p for p in token.split("/") if re.search(r"[A-Za-z]", p)]
    if strict:
        return len(parts) >= 2
    names_a_file = any(_FILE_NAME.fullmatch(p) for p in parts) and len(parts) >= 2
    return len(parts) >= 3 or names_a_file or (bool(parts) and token.startswith(("/", "~/")))


def _load(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: the top level must be a mapping"
    return data


def _rel(path: Path) -> str:
    return path.relative_to(KB_DIR).as_posix()


def _strings(entry: dict[str, object], key: str) -> list[str]:
    value = entry[key]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_knowledge_base_has_runbooks_and_incidents() -> None:
    assert len(RUNBOOK_FILES) >= 100
    assert len(INCIDENT_FILES) >= 4


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=_rel)
def test_runbook_entry_is_well_formed(path: Path) -> None:
    entry = _load(path)
    extra, missing = set(entry) - REQUIRED_KEYS, REQUIRED_KEYS - set(entry)
    assert not extra and not missing, f"extra keys {extra}, missing keys {missing}"
    assert entry["id"] == path.stem
    assert KEBAB.match(str(entry["id"]))
    assert entry["category"] in {c.value for c in Category} - {Category.UNKNOWN.value}
    assert entry["ecosystem"] == path.parent.name
    for key in ("title", "cause"):
        assert isinstance(entry[key], str) and entry[key].strip(), key
    for key in LIST_KEYS:
        values = entry[key]
        assert isinstance(values, list) and values, f"{key} must be a non-empty list"
        assert all(isinstance(v, str) and v.strip() for v in values), f"{key}: strings only"
    unknown = set(_strings(entry, "tools")) - KNOWN_TOOLS
    assert not unknown, f"unknown tools {unknown}: use the README's names or add one there"


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=_rel)
def test_runbook_fix_is_three_to_six_template_steps(path: Path) -> None:
    steps = _strings(_load(path), "fix")
    assert 3 <= len(steps) <= 6, f"{len(steps)} steps"
    for step in steps:
        names = _PLACEHOLDER.findall(step)
        assert set(names) <= PLACEHOLDERS, f"unknown placeholders {set(names) - PLACEHOLDERS}"
        # braces are reserved for placeholders: the filler must not meet any other
        rest = _PLACEHOLDER.sub("", step)
        assert "{" not in rest and "}" not in rest, f"stray brace in {step!r}"


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=_rel)
def test_runbook_carries_no_example_values(path: Path) -> None:
    entry = _load(path)
    found = {step: example_values(step) for step in _strings(entry, "fix")}
    for key in ("title", "symptoms", "signatures", "cause"):
        found |= {text: example_values(text, fix_step=False) for text in _strings(entry, key)}
    assert not {text: hits for text, hits in found.items() if hits}


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=_rel)
def test_runbook_stays_under_the_word_budget(path: Path) -> None:
    entry = _load(path)
    keys = ("title", "symptoms", "signatures", "cause", "fix")
    words = sum(len(text.split()) for key in keys for text in _strings(entry, key))
    assert words <= MAX_WORDS, f"{words} words; longer entries are split and match worse"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('Reproduce: pytest -x -vv "tests/test_parser.py::test_parse_duration[1h30m]"', "path"),
        ("Run one file locally: npx jest src/components/Cart.test.tsx", "path"),
        ("Rerun bundle exec rspec ./spec/models/invoice_spec.rb:24", "path"),
        ("Open main.tf and fix the reference", "file name"),
        ("Or pin the direct dependency: npm install react@17", "pinned version"),
        ("Pin it: pipx install poetry==1.8.2", "pinned version"),
        ("Pin the base image tag (ubuntu:22.04, not latest)", "version"),
        ("Set GOPRIVATE=github.com/yourorg/* for private modules", "path"),
        ("Check DNS: nslookup registry.npmjs.org", "host"),
        ("Wait for the database on localhost:5432", "image:tag or host:port"),
        ("Rerun it: go test -run TestParseConfig -v", "test name"),
        ("./gradlew test --tests com.example.UserRepositoryTest", "test name"),
        ("Install the headers: apt-get install -y libssl-dev", "system dev package"),
        ("Run cargo test parser::tests::parses_empty_input", "a::b id"),
    ],
)
def test_example_value_detector_flags_foreign_specifics(text: str, what: str) -> None:
    assert any(hit.startswith(f"{what}:") for hit in example_values(text)), example_values(text)


@pytest.mark.parametrize(
    "text",
    [
        'Rerun only the failing test with full output: pytest -x -vv "{test_id}"',
        "Open {file} at line {line} and fix rule {code}: {message}",
        "Install the project in CI: pip install -e . then npm ci, go mod tidy, cargo build",
        "Commit package-lock.json and go.sum after regenerating them.",
        "Make the app listen on 0.0.0.0, then rm -rf /var/lib/apt/lists/* and retry.",
        "npm i -D @types/{package} or pin {package}=={version}",
        "kubectl rollout undo deployment/<name> -n <namespace>",
        "Use ./gradlew --refresh-dependencies and go test ./...",
        "Set NODE_OPTIONS=--max-old-space-size=<MiB> and -Duser.timezone=UTC",
    ],
)
def test_example_value_detector_passes_templates_and_generic_commands(text: str) -> None:
    assert example_values(text) == []


@pytest.mark.parametrize(
    "signature",
    [
        "Failure/Error: <code>",
        "error[E0502]: cannot borrow `<name>` as mutable",
        "org.opentest4j.AssertionFailedError at <file>:<line>",
        "<n> node(s) didn't match Pod's node affinity/selector.",
    ],
)
def test_example_value_detector_lets_signatures_quote_the_tools_own_words(signature: str) -> None:
    assert example_values(signature, fix_step=False) == []


def test_placeholders_are_finding_fields() -> None:
    assert set(Finding.model_fields) >= PLACEHOLDERS


def test_readme_documents_the_placeholders_and_the_tools_vocabulary() -> None:
    readme = (KB_DIR / "README.md").read_text(encoding="utf-8")
    assert {f"{{{name}}}" for name in PLACEHOLDERS} <= set(re.findall(r"\{[a-z_]+\}", readme))
    tools_section = readme.split("### Tools", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`([a-z0-9+.-]+)`", tools_section)) - {"tools"} == KNOWN_TOOLS


def test_runbook_ids_are_unique() -> None:
    ids = [_load(path)["id"] for path in RUNBOOK_FILES]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates


def test_runbooks_cover_every_real_category() -> None:
    used = {_load(path)["category"] for path in RUNBOOK_FILES}
    assert used >= {c.value for c in Category} - {Category.UNKNOWN.value}


@pytest.mark.parametrize("category", sorted({c.value for c in Category} - {"unknown"}))
def test_every_category_has_several_entries(category: str) -> None:
    entries = [path for path in RUNBOOK_FILES if _load(path)["category"] == category]
    assert len(entries) >= 3, entries


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=_rel)
def test_past_incident_reads_as_an_incident(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Past incident: "), "the first line must be a '# Past incident:' title"
    header = re.search(
        r"^\*\*Category:\*\* ([a-z-]+) · \*\*Ecosystem:\*\* ([a-z-]+) · \*\*Tools:\*\* ([^·\n]+)",
        text,
        re.M,
    )
    assert header, "a '**Category:** ... · **Ecosystem:** ... · **Tools:** ...' line"
    assert header.group(1) in {c.value for c in Category}
    assert (RUNBOOK_DIR / header.group(2)).is_dir()
    tools = {name.strip() for name in header.group(3).split(",")}
    assert tools <= KNOWN_TOOLS, tools - KNOWN_TOOLS
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["What happened", "Signature", "Resolution"]


def test_examples_include_the_demo_logs() -> None:
    names = {path.name for path in EXAMPLE_LOGS}
    # scripts/demo.sh defaults to the first; the README's --baseline demo uses both
    assert {"github-actions-pytest.log", "github-actions-pytest.pass.log"} <= names
    assert len(EXAMPLE_LOGS) >= 5


@pytest.mark.parametrize("path", EXAMPLE_LOGS, ids=lambda p: p.name)
def test_example_log_is_demo_sized_text(path: Path) -> None:
    raw = path.read_bytes()
    assert b"\x00" not in raw, "binary content"
    lines = raw.decode("utf-8").splitlines()
    assert 80 <= len(lines) <= 300, f"{len(lines)} lines"
    assert not REAL_KEY_FORMATS.search(raw.decode("utf-8")), "use an obviously fake credential"
    assert path.name in (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")


def test_failing_pytest_example_carries_fake_credentials_to_redact() -> None:
    text = (EXAMPLES_DIR / "github-actions-pytest.log").read_text(encoding="utf-8")
    assert "hunter2-not-real" in text
    assert "s3cr3t-fake@" in text
    assert text.rstrip().endswith("##[error]Process completed with exit code 1.")
