"""The shipped starter knowledge base and example logs are well formed.

Checks the real files under knowledge_base/: every YAML runbook parses, carries exactly the
runbook keys, is named for its id, uses a known category, and every past-incident note has a
title heading. A malformed entry added later fails here instead of being skipped at index time.
The example logs under examples/ (the README's demo) are checked to be readable text of demo
size, listed in examples/README.md, and free of credentials in real key formats.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from workflowai.analysis.report import Category

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
    "symptoms",
    "signatures",
    "cause",
    "fix",
    "tags",
}
LIST_KEYS = ("symptoms", "signatures", "fix", "tags")
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RUNBOOK_FILES = sorted(RUNBOOK_DIR.rglob("*.yaml")) + sorted(RUNBOOK_DIR.rglob("*.yml"))
INCIDENT_FILES = sorted(INCIDENT_DIR.glob("*.md"))
EXAMPLE_LOGS = sorted(EXAMPLES_DIR.glob("*.log"))
# the formats git secret scanners flag; the examples use obviously fake values instead
REAL_KEY_FORMATS = re.compile(
    r"AKIA[0-9A-Z]{16}|\bgh[pousr]_[A-Za-z0-9]{30,}|github_pat_|xox[abpr]-[0-9A-Za-z-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
)


def _load(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: the top level must be a mapping"
    return data


def _rel(path: Path) -> str:
    return path.relative_to(KB_DIR).as_posix()


def test_knowledge_base_has_runbooks_and_incidents() -> None:
    assert len(RUNBOOK_FILES) >= 45
    assert len(INCIDENT_FILES) >= 4


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=_rel)
def test_runbook_entry_is_well_formed(path: Path) -> None:
    entry = _load(path)
    extra, missing = set(entry) - REQUIRED_KEYS, REQUIRED_KEYS - set(entry)
    assert not extra and not missing, f"extra keys {extra}, missing keys {missing}"
    assert entry["id"] == path.stem
    assert KEBAB.match(str(entry["id"]))
    assert entry["category"] in {c.value for c in Category}
    assert entry["ecosystem"] == path.parent.name
    for key in ("title", "cause"):
        assert isinstance(entry[key], str) and entry[key].strip(), key
    for key in LIST_KEYS:
        values = entry[key]
        assert isinstance(values, list) and values, f"{key} must be a non-empty list"
        assert all(isinstance(v, str) and v.strip() for v in values), f"{key}: strings only"


def test_runbook_ids_are_unique() -> None:
    ids = [_load(path)["id"] for path in RUNBOOK_FILES]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates


def test_runbooks_cover_every_real_category() -> None:
    used = {_load(path)["category"] for path in RUNBOOK_FILES}
    assert used >= {c.value for c in Category} - {Category.UNKNOWN.value}


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=_rel)
def test_past_incident_has_title_and_sections(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "the first line must be a '# ' title"
    for heading in ("## What happened", "## Signature", "## Resolution"):
        assert heading in text, heading


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
